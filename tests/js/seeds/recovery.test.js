// The appliance's services on a recovered socket (`confab --profile baasix`
// with [recovery] enabled): the socket keeps its identity and user room, a
// lost connection within the window is no `user.disconnected` /
// `user.connected` for the others, and what was sent to the user meanwhile
// arrives once. Past the window the user does go offline.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, apiEmit } from "./lib.js";
import { connected, close, collect, quiet, sleep } from "../client/helpers.js";

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(settings = {}) {
  const server = await startConfab("baasix", { CONFAB_RECOVERY__ENABLED: "true", ...settings });
  servers.push(server);
  return server;
}

async function user(server, id) {
  const token = await server.token(id);
  const socket = io(server.url, {
    path: "/realtime",
    transports: ["websocket"],
    auth: { token },
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
  await connected(socket);
  return socket;
}

/** Waits until `list` has `n` entries. */
async function received(list, n, ms = 5000) {
  const until = Date.now() + ms;
  while (list.length < n) {
    if (Date.now() > until) throw new Error(`${list.length} of ${n} within ${ms} ms`);
    await sleep(10);
  }
  return list;
}

async function whenParked(server, n) {
  for (let i = 0; i < 500; i++) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    if (new RegExp(`^confab_recovery_parked ${n}$`, "m").test(text)) return;
    await sleep(10);
  }
  throw new Error(`confab_recovery_parked never ${n}`);
}

async function lose(server, socket) {
  const down = new Promise((resolve) => socket.once("disconnect", resolve));
  socket.io.engine.close();
  await down;
  await whenParked(server, 1);
}

test("a recovered socket keeps its user and user room, and presence does not flap", async () => {
  const server = await start();
  const observer = await user(server, "watcher");
  const arrived = collect(observer, "user.connected");
  const ann = await user(server, "ann");
  const left = collect(observer, "user.disconnected");
  const levels = collect(ann, "level-up");
  // Ann's first arrival reaches the observer on its own time.
  const annArrived = () => arrived.filter(([b]) => b.userId === "ann").length;
  for (const until = Date.now() + 5000; annArrived() === 0; await sleep(10)) {
    if (Date.now() > until) throw new Error("no user.connected for ann");
  }
  try {
    await apiEmit(server, { users: ["ann"], event: "level-up", data: 1 });
    await received(levels, 1);
    const id = ann.id;
    await lose(server, ann);
    assert.equal((await apiEmit(server, { users: ["ann"], event: "level-up", data: 2 })).status, 200);
    ann.connect();
    await connected(ann);
    assert.equal(ann.recovered, true);
    assert.equal(ann.id, id);
    await apiEmit(server, { users: ["ann"], event: "level-up", data: 3 });
    await received(levels, 3);
    await quiet(levels);
    assert.deepEqual(levels.map((args) => args[0]), [1, 2, 3]);
    // Still Ann, in her user room, listed as connected.
    const clients = await (
      await fetch(`${server.url}/api/clients?user=ann`, {
        headers: { Authorization: `Bearer ${await server.token("api-admin", { roles: ["admin"] })}` },
      })
    ).json();
    assert.deepEqual(
      clients.clients.map((c) => [c.id, c.userId]),
      [[id, "ann"]],
    );
    await quiet(left);
    assert.deepEqual(left.filter(([b]) => b.userId === "ann"), [], "no user.disconnected for ann");
    assert.equal(annArrived(), 1, "no second user.connected for ann");
  } finally {
    close(observer, ann);
  }
});

test("past the window the user goes offline", async () => {
  const server = await start({ CONFAB_RECOVERY__MAX_DISCONNECTION_DURATION_MS: "200" });
  const observer = await user(server, "watcher");
  const bob = await user(server, "bob");
  try {
    const offline = new Promise((resolve) =>
      observer.on("user.disconnected", (b) => b.userId === "bob" && resolve(b)),
    );
    bob.io.engine.close();
    assert.equal((await offline).userId, "bob");
    await whenParked(server, 0);
  } finally {
    close(observer, bob);
  }
});
