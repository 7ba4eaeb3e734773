// The official admin UI (@socket.io/admin-ui 0.5) against the `confab`
// appliance with `[admin]` on: a client connects to `/admin` exactly as the
// UI's page does (socket.io-client, `auth: {username, password}`, later
// `{sessionId}`), and reads and acts through the events the UI uses.
// The shapes were checked against the Node server's `instrument()`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { startServer } from "../harness.js";
import { mintToken } from "../seeds/lib.js";
import { connect, connectError, close, once, collect, sleep, QUIET_MS } from "../client/helpers.js";
import { io } from "socket.io-client";
import { eioUrl, Polling, Ws } from "../raw/lib.js";

// bcrypt of "hunter2" at cost 4 (bcryptjs.hashSync("hunter2", 4)).
const HASH = "$2a$04$gIiPpkxO/D4d2d4tbZbu7evbdrZlvSi7VhMJkwPUiY2c8Chsw..IG";

let server;
let env;
let dataDir;
before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "confab-admin-"));
  env = {
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    CONFAB_DATA_DIR: dataDir,
    CONFAB_IDENTITY__SECRET: randomBytes(24).toString("hex"),
    CONFAB_ADMIN__ENABLED: "true",
    CONFAB_ADMIN__USERNAME: "ops",
    CONFAB_ADMIN__PASSWORD_HASH: HASH,
  };
  server = await startServer(env, { command: "confab" });
});
after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A chat user on `/`, authenticated by a token: in its room `user:<id>`. */
const user = async (id, opts = {}) =>
  connect(server.url, { auth: { token: await mintToken([], env, id) }, ...opts });

/** Connects to /admin as the UI does; resolves with the socket and its first `config`, `all_sockets`, `server_stats` and `session`. */
async function admin(auth = { username: "ops", password: "hunter2" }) {
  const socket = io(`${server.url}/admin`, { forceNew: true, reconnection: false, withCredentials: true, auth });
  const first = Promise.all(["config", "all_sockets", "server_stats"].map((e) => once(socket, e)));
  const session = "sessionId" in auth ? null : once(socket, "session");
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const [[config], [sockets], [stats]] = await first;
  return { socket, config, sockets, stats, session: session && (await session)[0] };
}

/** Waits for `event` whose arguments satisfy `pred`. */
function until(socket, event, pred, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, check);
      reject(new Error(`no matching "${event}" within ${ms} ms`));
    }, ms);
    const check = (...args) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      socket.off(event, check);
      resolve(args);
    };
    socket.on(event, check);
  });
}

test("the UI logs in and gets its config, the sockets with rooms and handshake, and server stats", async () => {
  // On long-polling only: listed as such (see the upgrade test below).
  const alice = await user("7", { query: { app: "web" }, transports: ["polling"] });
  const ui = await admin();
  try {
    assert.deepEqual(ui.config.supportedFeatures.sort(), [
      "ALL_EVENTS", "DISCONNECT", "EMIT", "JOIN", "LEAVE", "MDISCONNECT", "MJOIN", "MLEAVE",
    ]);
    assert.match(ui.session, /^[0-9a-f]{16}$/);
    const listed = ui.sockets.find((s) => s.id === alice.id);
    assert.ok(listed, JSON.stringify(ui.sockets));
    assert.equal(listed.nsp, "/");
    assert.deepEqual(listed.rooms, [alice.id, "user:7"]);
    assert.equal(listed.transport, "polling");
    assert.equal(listed.clientId, alice.io.engine.id.slice(0, 12));
    assert.equal(listed.handshake.address, "127.0.0.1");
    assert.equal(listed.handshake.query.app, "web");
    assert.equal(listed.handshake.headers.host, `127.0.0.1:${server.port}`);
    assert.equal(listed.handshake.secure, false);
    assert.equal(typeof listed.handshake.issued, "number");
    assert.match(listed.handshake.url, /^\/socket\.io\/\?/);
    // The UI's own socket is listed too, in its namespace.
    assert.ok(ui.sockets.some((s) => s.id === ui.socket.id && s.nsp === "/admin"));

    const stats = ui.stats;
    assert.equal(stats.pid, server.child.pid);
    assert.equal(stats.hostname, os.hostname());
    assert.equal(stats.serverId, os.hostname());
    assert.equal(typeof stats.uptime, "number");
    assert.equal(stats.clientsCount, 2);
    const counts = Object.fromEntries(stats.namespaces.map((n) => [n.name, n.socketsCount]));
    assert.deepEqual(counts, { "/": 1, "/admin": 1 });
    // ...and again every two seconds, now with a second user.
    const bob = await user("8");
    try {
      const [later] = await until(ui.socket, "server_stats", (s) => s.clientsCount === 3, 6000);
      assert.deepEqual(later.namespaces.find((n) => n.name === "/"), { name: "/", socketsCount: 2 });
    } finally {
      close(bob);
    }
  } finally {
    close(ui.socket);
    close(alice);
  }
});

test("a socket whose connection upgraded to WebSocket is listed on websocket", async () => {
  const dave = await user("10");
  const engine = dave.io.engine;
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
  const ui = await admin();
  try {
    const listed = ui.sockets.find((s) => s.id === dave.id);
    assert.ok(listed, JSON.stringify(ui.sockets));
    assert.equal(listed.transport, "websocket");
  } finally {
    close(ui.socket);
    close(dave);
  }
});

test("the UI hears of a socket whose connection upgrades from long-polling to WebSocket", async () => {
  const ui = await admin();
  const p = new Polling(server.url);
  let ws;
  try {
    // By hand, so that the socket is connected before the upgrade starts.
    const connected = until(ui.socket, "socket_connected", (s) => s.nsp === "/");
    const id = await p.connect({ token: await mintToken([], env, "11") });
    const [listed] = await connected;
    assert.equal(listed.id, id);
    assert.equal(listed.transport, "polling");
    const updated = until(ui.socket, "socket_updated", (u) => u.id === id);
    ws = new Ws(eioUrl(server.url, { transport: "websocket", sid: p.sid }));
    await ws.opened;
    ws.send("2probe");
    assert.equal(await ws.next(), "3probe");
    ws.send("5");
    // As the Node server's instrument(): one object, no timestamp.
    assert.deepEqual(await updated, [{ id, nsp: "/", transport: "websocket" }]);
    // And the list says so from then on.
    const again = await admin();
    try {
      assert.equal(again.sockets.find((s) => s.id === id)?.transport, "websocket");
    } finally {
      close(again.socket);
    }
  } finally {
    ws?.close();
    close(ui.socket);
  }
});

test("the UI hears of sockets connecting and leaving and of rooms joined and left", async () => {
  const ui = await admin();
  try {
    const connected = once(ui.socket, "socket_connected");
    const joined = until(ui.socket, "room_joined", (nsp, room) => room === "user:9");
    const carol = await user("9", { transports: ["websocket"] });
    const [socket, at] = await connected;
    assert.equal(socket.id, carol.id);
    assert.equal(socket.nsp, "/");
    assert.equal(socket.transport, "websocket");
    assert.ok(!Number.isNaN(Date.parse(at)), at);
    const [nsp, room, id] = await joined;
    assert.deepEqual([nsp, room, id], ["/", "user:9", carol.id]);

    const joinedLobby = until(ui.socket, "room_joined", (n, room, who) => room === "lobby" && who === carol.id);
    ui.socket.emit("join", "/", "lobby", carol.id);
    await joinedLobby;
    const leftLobby = until(ui.socket, "room_left", (n, room, who) => room === "lobby" && who === carol.id);
    ui.socket.emit("leave", "/", "lobby", carol.id);
    await leftLobby;

    const id9 = carol.id; // the client forgets its id on disconnecting
    const left = until(ui.socket, "room_left", (n, room, who) => room === "user:9" && who === id9);
    const gone = until(ui.socket, "socket_disconnected", (n, who) => who === id9);
    close(carol);
    await left;
    const [goneNsp, , reason] = await gone;
    assert.equal(goneNsp, "/");
    assert.equal(reason, "client namespace disconnect");
  } finally {
    close(ui.socket);
  }
});

test("the UI's actions: join and leave a room, disconnect a socket, close its connection, emit to it", async () => {
  const dave = await user("10");
  const ui = await admin();
  try {
    // join (one socket, by its id as the filter), then a room-wide leave.
    const joined = until(ui.socket, "room_joined", (n, room, who) => room === "ops" && who === dave.id);
    ui.socket.emit("join", "/", "ops", dave.id);
    await joined;
    // A UI opened now (on the session of the first login) lists the room.
    const again = await admin({ sessionId: ui.session });
    close(again.socket);
    const all = again.sockets;
    assert.deepEqual(all.find((s) => s.id === dave.id).rooms, [dave.id, "ops", "user:10"]);
    const left = until(ui.socket, "room_left", (n, room, who) => room === "ops" && who === dave.id);
    ui.socket.emit("leave", "/", "ops", "ops");
    await left;

    // emit to a room: the socket in it gets the event with its arguments.
    const got = once(dave, "notice");
    ui.socket.emit("emit", "/", "user:10", "notice", { text: "maintenance" }, 2);
    assert.deepEqual(await got, [{ text: "maintenance" }, 2]);

    // _disconnect without close: the socket leaves its namespace.
    const reason = once(dave, "disconnect");
    ui.socket.emit("_disconnect", "/", false, dave.id);
    assert.equal((await reason)[0], "io server disconnect");
  } finally {
    close(dave);
    close(ui.socket);
  }

  // _disconnect with close: the whole connection goes.
  const erin = await user("11");
  const ui2 = await admin();
  try {
    const reason = once(erin, "disconnect");
    const id11 = erin.id;
    const gone = until(ui2.socket, "socket_disconnected", (n, who) => who === id11);
    ui2.socket.emit("_disconnect", "/", true, erin.id);
    // As Node's disconnectSockets(true): each socket is sent a DISCONNECT
    // (the client says "io server disconnect") and leaves for "server
    // namespace disconnect" (not recoverable), then the connection closes.
    assert.equal((await reason)[0], "io server disconnect");
    assert.equal((await gone)[2], "server namespace disconnect");
  } finally {
    close(erin);
    close(ui2.socket);
  }
});

test("bad credentials are refused as the UI expects; a session id from a login is accepted", async () => {
  for (const auth of [{ username: "ops", password: "wrong" }, { username: "root", password: "hunter2" }, {}, { sessionId: "0000000000000000" }]) {
    const socket = io(`${server.url}/admin`, { forceNew: true, reconnection: false, auth });
    try {
      assert.equal((await connectError(socket)).message, "invalid credentials", JSON.stringify(auth));
    } finally {
      close(socket);
    }
  }
  const first = await admin();
  close(first.socket);
  const again = await admin({ sessionId: first.session });
  assert.ok(again.sockets.some((s) => s.id === again.socket.id));
  close(again.socket);
});

test("the UI's page is served at /admin-ui/", async () => {
  const redirect = await fetch(`${server.url}/admin-ui`, { redirect: "manual" });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get("location"), "/admin-ui/");
  const page = await fetch(`${server.url}/admin-ui/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  const html = await page.text();
  assert.match(html, /<title>Socket.IO Admin UI<\/title>/);
  // Every script and stylesheet the page names is there.
  const assets = [...html.matchAll(/(?:href|src)="((?:js|css)\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 4, html);
  for (const asset of new Set(assets)) {
    const res = await fetch(`${server.url}/admin-ui/${asset}`);
    assert.equal(res.status, 200, asset);
    assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
  }
  assert.equal((await fetch(`${server.url}/admin-ui/js/nope.js`)).status, 404);
});

test("read-only without auth: anyone may watch, no action is carried out, no page is served", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confab-admin-ro-"));
  const roEnv = {
    ...env,
    CONFAB_DATA_DIR: dir,
    CONFAB_ADMIN__AUTH: "false",
    CONFAB_ADMIN__READ_ONLY: "true",
    CONFAB_ADMIN__UI_PATH: "",
    CONFAB_ADMIN__PASSWORD_HASH: "",
  };
  const ro = await startServer(roEnv, { command: "confab" });
  const frank = await connect(ro.url, { auth: { token: await mintToken([], roEnv, "12") } });
  const ui = io(`${ro.url}/admin`, { forceNew: true, reconnection: false });
  try {
    const [[config], [sockets]] = await Promise.all([once(ui, "config"), once(ui, "all_sockets")]);
    assert.deepEqual(config.supportedFeatures, ["ALL_EVENTS"]);
    assert.deepEqual(sockets.find((s) => s.id === frank.id).rooms, [frank.id, "user:12"]);
    const joins = collect(ui, "room_joined");
    const gone = collect(frank, "disconnect");
    ui.emit("join", "/", "ops", frank.id);
    ui.emit("_disconnect", "/", true, frank.id);
    await sleep(QUIET_MS);
    assert.deepEqual(joins, []);
    assert.deepEqual(gone, []);
    assert.equal(frank.connected, true);
    assert.equal((await fetch(`${ro.url}/admin-ui/`)).status, 404);
  } finally {
    close(ui, frank);
    await ro.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
