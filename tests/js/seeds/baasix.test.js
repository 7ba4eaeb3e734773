// BAASIX (seed 002) against `confab --profile baasix`, with the client code
// the seed prints: `io(url, { path: '/realtime', auth: { token } })`, the
// `join` of a custom room with its `{success, message}` ack, the automatic
// user room, `user.connected` / `user.disconnected`, and the seed's own
// environment names (SOCKET_PATH, SOCKET_CORS_ENABLED_ORIGINS).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, apiEmit, noApiEmit, preflight, pollingHandshake, isRecentIso } from "./lib.js";
import { connected, connectError, close, ask, once, collect, quiet } from "../client/helpers.js";

const ORIGINS = ["https://yourdomain.com", "https://app.yourdomain.com"];

/** The seed's client ("Connecting to Socket" plus "Authentication"), with test hygiene. */
function baasixSocket(url, token, extra = {}) {
  return io(url, {
    path: "/realtime",
    transports: ["websocket", "polling"],
    autoConnect: true,
    auth: { token },
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...extra,
  });
}

let server;
before(async () => {
  server = await startConfab("baasix", {
    SOCKET_ENABLED: "true",
    SOCKET_PATH: "/realtime",
    SOCKET_CORS_ENABLED_ORIGINS: ORIGINS.join(","),
  });
});
after(async () => {
  await server?.stop();
});

async function userSocket(id) {
  const socket = baasixSocket(server.url, await server.token(id));
  await connected(socket);
  return socket;
}

/** The first `event` whose body names `userId` (others, such as one's own user.connected, pass by). */
function onceFor(socket, event, userId, ms = 5000) {
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} for ${userId} within ${ms} ms`));
    }, ms);
    const listener = (body, ...rest) => {
      if (body?.userId !== userId) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve([body, ...rest]);
    };
    socket.on(event, listener);
  });
  p.catch(() => {});
  return p;
}

/** The seed's join, with its callback: resolves with `response`. */
function seedJoin(socket, room) {
  return new Promise((resolve, reject) => {
    socket.timeout(3000).emit("join", room, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

describe("BAASIX connection", () => {
  test("io(url, { path: '/realtime', auth: { token } }) connects over websocket", async () => {
    const socket = baasixSocket(server.url, await server.token("u1"));
    try {
      await connected(socket);
      assert.equal(socket.io.engine.transport.name, "websocket");
    } finally {
      close(socket);
    }
  });

  test("polling first (transports: ['polling', 'websocket']) connects and upgrades", async () => {
    const socket = baasixSocket(server.url, await server.token("u1"), { transports: ["polling", "websocket"] });
    try {
      await connected(socket);
      if (socket.io.engine.transport.name !== "websocket") await once(socket.io.engine, "upgrade");
      assert.equal(socket.io.engine.transport.name, "websocket");
    } finally {
      close(socket);
    }
  });

  test("the default /socket.io/ path is not served when SOCKET_PATH=/realtime", async () => {
    const socket = io(server.url, { auth: { token: await server.token("u1") }, forceNew: true, reconnection: false, timeout: 3000 });
    try {
      await connectError(socket);
    } finally {
      close(socket);
    }
  });

  test("without a token the connection is refused with a message", async () => {
    const socket = baasixSocket(server.url, null);
    try {
      const err = await connectError(socket);
      assert.ok(err.message && err.message !== "xhr poll error" && err.message !== "websocket error", err.message);
    } finally {
      close(socket);
    }
  });
});

describe("BAASIX rooms", () => {
  test("join 'discussion:123' → response {success: true}", async () => {
    const socket = await userSocket("u1");
    try {
      const response = await seedJoin(socket, "discussion:123");
      assert.deepEqual(response, { success: true });
    } finally {
      close(socket);
    }
  });

  test("collection:{name} and item:{collection}:{id} rooms may be joined", async () => {
    const socket = await userSocket("u1");
    try {
      assert.deepEqual(await seedJoin(socket, "collection:posts"), { success: true });
      assert.deepEqual(await seedJoin(socket, "item:posts:9"), { success: true });
    } finally {
      close(socket);
    }
  });

  test("a room outside the policy → {success: false, message}", async () => {
    const socket = await userSocket("u1");
    try {
      for (const room of ["admin", "secrets:1", "collection"]) {
        const response = await seedJoin(socket, room);
        assert.equal(response.success, false, room);
        assert.equal(typeof response.message, "string", room);
        assert.ok(response.message.length > 0, room);
      }
    } finally {
      close(socket);
    }
  });

  test("user:{id} is one's own only: own admitted, another user's refused", async () => {
    const socket = await userSocket("u1");
    try {
      assert.deepEqual(await seedJoin(socket, "user:u1"), { success: true });
      const response = await seedJoin(socket, "user:u2");
      assert.equal(response.success, false);
      assert.ok(response.message);
    } finally {
      close(socket);
    }
  });

  test("emitToUser reaches the user's sockets without a join; item events reach the joined rooms", async (t) => {
    const [u1, u2] = await Promise.all([userSocket("u1"), userSocket("u2")]);
    try {
      await seedJoin(u2, "collection:posts");
      const notification = {
        notification: { id: "n1", type: "info", title: "Hi", message: "Hello", data: {}, seen: false, userId: "u1", createdAt: new Date().toISOString() },
      };
      const atU2 = collect(u2, "notification.new");
      const atU1 = once(u1, "notification.new");
      const res = await apiEmit(server, { rooms: ["user:u1"], event: "notification.new", data: notification });
      const skip = noApiEmit(res);
      if (skip) return t.skip(skip);
      assert.ok(res.status >= 200 && res.status < 300, `POST /api/emit: ${res.status} ${res.text}`);
      assert.deepEqual(await atU1, [notification]);

      const item = { collection: "posts", item: { id: "p1", title: "T" }, userId: "u1", timestamp: new Date().toISOString() };
      const atU1Items = collect(u1, "item.created");
      const atU2Item = once(u2, "item.created");
      const res2 = await apiEmit(server, { rooms: ["collection:posts"], event: "item.created", data: item });
      assert.ok(res2.status >= 200 && res2.status < 300, `POST /api/emit: ${res2.status} ${res2.text}`);
      assert.deepEqual(await atU2Item, [item]);
      await quiet();
      assert.deepEqual(atU2, [], "u2 is not in user:u1");
      assert.deepEqual(atU1Items, [], "u1 did not join collection:posts");
    } finally {
      close(u1, u2);
    }
  });
});

describe("BAASIX user.connected / user.disconnected", () => {
  test("another client sees user.connected and user.disconnected with the userId", async () => {
    const observer = await userSocket("watcher");
    try {
      const connectedEvt = onceFor(observer, "user.connected", "u1");
      const u1 = await userSocket("u1");
      const [body] = await connectedEvt;
      assert.deepEqual(Object.keys(body).sort(), ["timestamp", "userId"]);
      assert.equal(body.userId, "u1");
      assert.ok(isRecentIso(body.timestamp), `timestamp ${body.timestamp}`);

      const disconnectedEvt = onceFor(observer, "user.disconnected", "u1");
      u1.disconnect();
      const [gone] = await disconnectedEvt;
      assert.equal(gone.userId, "u1");
      assert.ok(isRecentIso(gone.timestamp), `timestamp ${gone.timestamp}`);
      close(u1);
    } finally {
      close(observer);
    }
  });

  test("per user, not per tab: a second tab neither connects nor disconnects the user", async () => {
    const observer = await userSocket("watcher");
    // Whether the watcher hears of its own arrival is not the point here.
    const seen = [];
    const record = (what) => (b) => b.userId !== "watcher" && seen.push([what, b.userId]);
    observer.on("user.connected", record("connected"));
    observer.on("user.disconnected", record("disconnected"));
    let tab1, tab2, control;
    try {
      const first = onceFor(observer, "user.connected", "u1");
      tab1 = await userSocket("u1");
      await first;
      tab2 = await userSocket("u1");
      // positive control: another user's connect arrives after tab 2's would have
      const ctl = onceFor(observer, "user.connected", "u9");
      control = await userSocket("u9");
      await ctl;
      tab1.disconnect();
      await quiet();
      assert.deepEqual(seen, [
        ["connected", "u1"],
        ["connected", "u9"],
      ]);
      const gone = onceFor(observer, "user.disconnected", "u1");
      tab2.disconnect();
      assert.equal((await gone)[0].userId, "u1");
    } finally {
      close(observer, tab1, tab2, control);
    }
  });
});

describe("BAASIX CORS: SOCKET_CORS_ENABLED_ORIGINS", () => {
  test("each listed origin is allowed on /realtime (preflight and handshake)", async () => {
    for (const origin of ORIGINS) {
      const pre = await preflight(server.url, "/realtime/", origin);
      assert.ok(pre.status >= 200 && pre.status < 300, `${origin}: preflight ${pre.status}`);
      assert.equal(pre.headers.get("access-control-allow-origin"), origin);
      const hs = await pollingHandshake(server.url, "/realtime/", origin);
      assert.equal(hs.status, 200);
      assert.match(hs.bodyText, /^0\{/);
      assert.equal(hs.headers.get("access-control-allow-origin"), origin);
    }
  });

  test("an origin not listed gets no Access-Control-Allow-Origin", async () => {
    const pre = await preflight(server.url, "/realtime/", "https://evil.example");
    assert.equal(pre.headers.get("access-control-allow-origin"), null);
    const hs = await pollingHandshake(server.url, "/realtime/", "https://evil.example");
    assert.equal(hs.headers.get("access-control-allow-origin"), null);
  });
});

describe("BAASIX SOCKET_PATH names the path", () => {
  let custom;
  before(async () => {
    custom = await startConfab("baasix", { SOCKET_PATH: "/baasix-rt" });
  });
  after(async () => {
    await custom?.stop();
  });

  test("SOCKET_PATH=/baasix-rt: served there, not at the profile's /realtime", async () => {
    const token = await custom.token("u1");
    const socket = baasixSocket(custom.url, token, { path: "/baasix-rt" });
    const wrong = baasixSocket(custom.url, token, { timeout: 3000 });
    const refused = connectError(wrong);
    refused.catch(() => {});
    try {
      await connected(socket);
      assert.deepEqual(await ask(socket, "join", "discussion:1"), { success: true });
      await refused;
    } finally {
      close(socket, wrong);
    }
  });
});

describe("BAASIX SOCKET_ENABLED=false: the server API without the realtime endpoint", () => {
  let off;
  before(async () => {
    off = await startConfab("baasix", { SOCKET_ENABLED: "false" });
  });
  after(async () => {
    await off?.stop();
  });

  test("the Engine.IO path is a 404; /api/health and /api/emit still answer", async () => {
    for (const enginePath of ["/realtime/", "/realtime", "/socket.io/"]) {
      const res = await fetch(`${off.url}${enginePath}?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      assert.equal(res.status, 404, `${enginePath}: ${res.status}`);
    }
    const health = await fetch(`${off.url}/api/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const emitted = await apiEmit(off, { event: "item.created", data: { id: 1 } });
    assert.equal(emitted.status, 200, emitted.text);
    assert.deepEqual(JSON.parse(emitted.text), { ok: true });
  });

  test("the seed's client cannot connect", async () => {
    const socket = baasixSocket(off.url, await off.token("u1"), { timeout: 3000 });
    try {
      await connectError(socket);
    } finally {
      close(socket);
    }
  });
});
