// A mixed cluster on one private Redis: two confab nodes (the testbed with
// CONFAB_ADAPTER__URL) and one Node socket.io server with
// @socket.io/redis-adapter, two clients on each (one in room1), and Node's
// @socket.io/redis-emitter. Every delivery is checked "exactly once": each
// client logs what it gets, and a fence broadcast to everyone, sent by the
// same sender after the checked one (so on the same Redis connection, in
// order), ends what is counted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { Emitter } from "@socket.io/redis-emitter";
import { startServer, once } from "../harness.js";
import { postJson } from "../client/helpers.js";
import { startRedis, redisClient, untilSubscribed } from "./redis.js";
import { startNodeServer } from "./node-server.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab testbed";

let redis, confabA, confabB, nodeN, emitterClient, emitter;
const clients = {}; // name -> { socket, log: [[event, ...args]] }

async function client(name, url, room) {
  const socket = connect(url, { transports: ["websocket"], forceNew: true });
  socket.on("q", (x, ack) => ack({ n: name, x }));
  const log = [];
  socket.onAny((event, ...args) => log.push([event, ...args]));
  await once(socket, "connect");
  if (room) await socket.emitWithAck("join-room", room);
  clients[name] = { socket, log };
}

/** Waits until every named client's log holds `event` (safety net: 5 s). */
async function untilAll(names, event) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const missing = names.filter((n) => !clients[n].log.some(([e]) => e === event));
    if (!missing.length) return;
    if (Date.now() > deadline) throw new Error(`${event} missing at ${missing}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Emits an event to everyone from one sender (its fence). */
const senders = {
  A: (event) => postEmit(confabA, { event }),
  B: (event) => postEmit(confabB, { event }),
  N: async (event) => nodeN.io.emit(event),
  E: async (event) => emitter.emit(event),
};

let fences = 0;
/**
 * Clears the logs, runs `act`, then has `from` (a key of `senders`) emit a
 * fence to everyone; returns each client's events before the fence.
 */
async function observe(from, act) {
  for (const c of Object.values(clients)) c.log.length = 0;
  await act();
  const name = `fence-${++fences}`;
  await senders[from](name);
  await untilAll(Object.keys(clients), name);
  const seen = {};
  for (const [n, c] of Object.entries(clients)) {
    seen[n] = c.log.slice(0, c.log.findIndex(([e]) => e === name));
  }
  return seen;
}

const members = ["a1", "b1", "n1"];
const others = ["a2", "b2", "n2"];

async function postEmit(server, body) {
  assert.equal((await postJson(`${server.url}/api/emit`, body)).status, 200);
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const settings = { CONFAB_ADAPTER__URL: redis.url };
  [confabA, confabB] = await Promise.all([startServer(settings), startServer(settings)]);
  nodeN = await startNodeServer(redis.url);
  await client("a1", confabA.url, "room1");
  await client("a2", confabA.url);
  await client("b1", confabB.url, "room1");
  await client("b2", confabB.url);
  await client("n1", nodeN.url, "room1");
  await client("n2", nodeN.url);
  emitterClient = await redisClient(redis.url);
  emitter = new Emitter(emitterClient);
  // Every node has joined once the request channel counts three.
  await untilSubscribed(redis.url, 3);
});

after(async () => {
  if (skip) return;
  for (const c of Object.values(clients)) c.socket.close();
  await emitterClient?.quit();
  await nodeN?.close();
  await Promise.all([confabA?.stop(), confabB?.stop()]);
  await redis?.stop();
});

test("each node holds exactly one subscription to the request channel", { skip }, async () => {
  const counts = await emitterClient.pubSubNumSub("socket.io-request#/#");
  assert.equal(counts["socket.io-request#/#"], 3);
});

for (const [from, sender, emit] of [
  ["confab A", "A", () => postEmit(confabA, { rooms: ["room1"], event: "r", data: { from: "A" } })],
  ["confab B", "B", () => postEmit(confabB, { rooms: ["room1"], event: "r", data: { from: "B" } })],
  ["Node", "N", async () => nodeN.io.to("room1").emit("r", { from: "N" })],
  ["the emitter", "E", async () => emitter.to("room1").emit("r", { from: "E" })],
]) {
  test(`a room broadcast from ${from} reaches room1's members on every node exactly once`, { skip }, async () => {
    const seen = await observe(sender, emit);
    for (const n of members) assert.equal(seen[n].length, 1, `${n}: ${JSON.stringify(seen[n])}`);
    for (const n of others) assert.deepEqual(seen[n], [], n);
  });
}

test("emit to all, from a confab node and from the emitter, reaches every client once", { skip }, async () => {
  let seen = await observe("B", () => postEmit(confabB, { event: "all", data: 1 }));
  for (const n of Object.keys(clients)) assert.deepEqual(seen[n], [["all", 1]], n);
  seen = await observe("E", async () => emitter.emit("all", 2));
  for (const n of Object.keys(clients)) assert.deepEqual(seen[n], [["all", 2]], n);
});

test("except leaves out room1 on every node (confab, Node, emitter)", { skip }, async () => {
  for (const [from, act] of [
    ["A", () => postEmit(confabA, { except: ["room1"], event: "x", data: "a" })],
    ["N", async () => nodeN.io.except("room1").emit("x", "n")],
    ["E", async () => emitter.except("room1").emit("x", "e")],
  ]) {
    const seen = await observe(from, act);
    for (const n of members) assert.deepEqual(seen[n], [], n);
    for (const n of others) assert.equal(seen[n].length, 1, n);
  }
});

test("binary crosses: a Buffer from a confab client, from Node and from the emitter", { skip }, async () => {
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
  for (const [from, act] of [
    ["A", () => clients.a2.socket.emitWithAck("to-room", { room: "room1", event: "bin", data: bytes })],
    ["N", async () => nodeN.io.to("room1").emit("bin", bytes)],
    ["E", async () => emitter.to("room1").emit("bin", bytes)],
  ]) {
    const seen = await observe(from, act);
    for (const n of members) {
      assert.equal(seen[n].length, 1, n);
      assert.deepEqual(Buffer.from(seen[n][0][1]), bytes, n);
    }
  }
});

test("fetchSockets lists every node's sockets with their rooms, from confab and from Node", { skip }, async () => {
  const ids = Object.fromEntries(Object.entries(clients).map(([n, c]) => [n, c.socket.id]));
  const fromConfab = await (await fetch(`${confabA.url}/api/sockets?nsp=/`)).json();
  assert.deepEqual(fromConfab.map((s) => s.id).sort(), Object.values(ids).sort());
  for (const n of members) {
    const listed = fromConfab.find((s) => s.id === ids[n]);
    assert.ok(listed.rooms.includes("room1"), `${n}: ${JSON.stringify(listed)}`);
  }
  const fromNode = await nodeN.io.fetchSockets();
  assert.deepEqual(fromNode.map((s) => s.id).sort(), Object.values(ids).sort());
  const b1 = fromNode.find((s) => s.id === ids.b1);
  assert.ok(b1.rooms.has("room1"));
  const inRoom = await nodeN.io.in("room1").fetchSockets();
  assert.deepEqual(inRoom.map((s) => s.id).sort(), members.map((n) => ids[n]).sort());
});

test("socketsJoin and socketsLeave from Node and from the emitter move confab's sockets", { skip }, async () => {
  nodeN.io.in("room1").socketsJoin("joined");
  let inRoom = await waitRoom("joined", 3);
  assert.deepEqual(inRoom.sort(), members.map((n) => clients[n].socket.id).sort());
  emitter.in("room1").socketsLeave("joined");
  inRoom = await waitRoom("joined", 0);
  assert.deepEqual(inRoom, []);
  emitter.except("room1").socketsJoin(["by-emitter"]);
  inRoom = await waitRoom("by-emitter", 3);
  assert.deepEqual(inRoom.sort(), others.map((n) => clients[n].socket.id).sort());
  const seen = await observe("B", () => postEmit(confabB, { rooms: ["by-emitter"], event: "j", data: 1 }));
  for (const n of others) assert.deepEqual(seen[n], [["j", 1]], n);
  for (const n of members) assert.deepEqual(seen[n], [], n);
});

test("socketsJoin and socketsLeave from a confab node move Node's and the other confab node's sockets", { skip }, async () => {
  await postJson(`${confabA.url}/api/rooms`, { rooms: ["room1"], join: ["from-confab"] });
  let inRoom = await waitRoom("from-confab", 3);
  assert.deepEqual(inRoom.sort(), members.map((n) => clients[n].socket.id).sort());
  await postJson(`${confabB.url}/api/rooms`, { rooms: ["from-confab"], except: [clients.n1.socket.id], leave: ["from-confab"] });
  inRoom = await waitRoom("from-confab", 1);
  assert.deepEqual(inRoom, [clients.n1.socket.id]);
});

/** Polls Node's fetchSockets for `room` until it has `count` sockets (safety net: 5 s). */
async function waitRoom(room, count) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ids = (await nodeN.io.in(room).fetchSockets()).map((s) => s.id);
    if (ids.length === count || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a broadcast with acks from Node counts every client's reply on every node", { skip }, async () => {
  const replies = await nodeN.io.timeout(5000).emitWithAck("q", 7);
  assert.deepEqual(replies.map((r) => r.n).sort(), Object.keys(clients).sort());
  assert.ok(replies.every((r) => r.x === 7));
});

test("a broadcast with acks from confab counts every client's reply on every node", { skip }, async () => {
  const { body } = await postJson(`${confabA.url}/api/emit`, { event: "q", data: 8, ackTimeoutMs: 5000 });
  assert.equal(body.ok, true, JSON.stringify(body));
  assert.deepEqual(body.replies.map((r) => r.n).sort(), Object.keys(clients).sort());
  assert.ok(body.replies.every((r) => r.x === 8));
  // Past the timeout: nobody answers "silent".
  const late = await postJson(`${confabB.url}/api/emit`, { rooms: ["room1"], event: "silent", ackTimeoutMs: 300 });
  assert.deepEqual(late.body, { ok: false, error: "timeout" });
});

test("disconnectSockets from Node and the emitter reach confab's clients, and from confab Node's", { skip }, async () => {
  const a2 = clients.a2.socket;
  const gone = once(a2, "disconnect");
  nodeN.io.in(a2.id).disconnectSockets();
  assert.equal((await gone)[0], "io server disconnect");
  const b2 = clients.b2.socket;
  const closed = once(b2, "disconnect");
  emitter.in(b2.id).disconnectSockets(true);
  // As with Node (socket.io 4 with @socket.io/redis-adapter): disconnect(true)
  // sends each socket a DISCONNECT packet before closing the connection
  // (Client._disconnect), so the client says "io server disconnect", on
  // WebSocket and long-polling alike.
  assert.equal((await closed)[0], "io server disconnect");
  const n2 = clients.n2.socket;
  const cut = once(n2, "disconnect");
  await postJson(`${confabA.url}/api/disconnect`, { rooms: [n2.id] });
  assert.equal((await cut)[0], "io server disconnect");
  // The fence no longer expects them.
  for (const n of ["a2", "b2", "n2"]) {
    clients[n].socket.close();
    delete clients[n];
  }
});
