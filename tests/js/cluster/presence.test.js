// Presence across two confab nodes (the BAASIX profile: `user.connected`
// and `user.disconnected` to everyone) on one private Redis: a user with a
// socket on each node comes online once and goes offline once, when their
// last socket anywhere leaves; the users of a node killed with SIGKILL go
// offline once its heartbeat expires (node TTL 1.5 s here); with
// connection state recovery on, a user lost on one node and back through
// the other never goes offline.
//
// "Once" is checked with fences: a second user's event, settled by the same
// node's presence task after the checked change, must come next.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startConfab, until } from "../api/lib.js";
import { once } from "../client/helpers.js";
import { baasixClient } from "./seed-clients.js";
import { startRedis, redisClient, untilSubscribed } from "./redis.js";
import { waitFor, parked, keptInRedis, backThrough } from "./recovery-lib.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab binary";

let redis, nodeA, nodeB, watcher;
const events = [];

const client = baasixClient;

function closeAndWait(socket) {
  const gone = new Promise((resolve) => socket.once("disconnect", resolve));
  socket.disconnect();
  return gone;
}

/** The events seen since `from`, until the fence event for `fenceUser` (which must come). */
async function until_fence(from, kind, fenceUser) {
  await until(() => events.slice(from).some(([e, b]) => e === kind && b.userId === fenceUser), `${kind} ${fenceUser}`, 10_000);
  const seen = events.slice(from);
  return seen.slice(0, seen.findIndex(([e, b]) => e === kind && b.userId === fenceUser));
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const env = {
    CONFAB_ADAPTER__URL: redis.url,
    CONFAB_ADAPTER__NODE_TTL_MS: "1500",
    CONFAB_RECOVERY__ENABLED: "true",
  };
  [nodeA, nodeB] = await Promise.all([startConfab("baasix", { env }), startConfab("baasix", { env })]);
  await untilSubscribed(redis.url, 2);
  watcher = await client(nodeA, "watcher");
  for (const kind of ["user.connected", "user.disconnected"]) {
    watcher.on(kind, (body) => events.push([kind, body]));
  }
});

after(async () => {
  if (skip) return;
  watcher?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.stop();
});

test("one user on two nodes is online once and offline once, when the last socket anywhere leaves", { skip }, async () => {
  let mark = events.length;
  const onA = await client(nodeA, "u1");
  await until(() => events.slice(mark).some(([e, b]) => e === "user.connected" && b.userId === "u1"), "u1 online");

  mark = events.length;
  const onB = await client(nodeB, "u1");
  const fenceB = await client(nodeB, "fence-b1");
  assert.deepEqual(await until_fence(mark, "user.connected", "fence-b1"), [], "no second online for u1");

  mark = events.length;
  await closeAndWait(onA);
  const fenceA = await client(nodeA, "fence-a1");
  assert.deepEqual(await until_fence(mark, "user.connected", "fence-a1"), [], "u1 still online on B");

  mark = events.length;
  await closeAndWait(onB);
  // The client's "disconnect" fires before the server has seen the close:
  // the fence's own close may be handled first, so it waits for u1's.
  await until(() => events.slice(mark).some(([e, b]) => e === "user.disconnected" && b.userId === "u1"), "u1 offline");
  await closeAndWait(fenceB);
  const seen = await until_fence(mark, "user.disconnected", "fence-b1");
  assert.deepEqual(seen.map(([e, b]) => [e, b.userId]), [["user.disconnected", "u1"]]);
  fenceA.close();
});

test("the users of a node killed with SIGKILL go offline once its heartbeat expires", { skip }, async () => {
  const onB = await client(nodeB, "u2");
  await until(() => events.some(([e, b]) => e === "user.connected" && b.userId === "u2"), "u2 online");
  const mark = events.length;
  // SIGKILL, then a fresh process on the same data directory (a new node).
  await nodeB.restart({ kill: true });
  await until(() => events.slice(mark).some(([e, b]) => e === "user.disconnected" && b.userId === "u2"), "u2 offline", 15_000);
  const offline = events.slice(mark).filter(([e, b]) => e === "user.disconnected" && b.userId === "u2");
  assert.equal(offline.length, 1);
  onB.close();
});

test("a user lost on A and back through B never goes offline, and goes offline once when they leave B", { skip }, async () => {
  const u = await baasixClient(nodeA, "r1");
  await until(() => events.some(([e, b]) => e === "user.connected" && b.userId === "r1"), "r1 online");
  // One event to it, so that it has an offset to come back with.
  const got = once(u, "ping-r1");
  await nodeA.api("POST", "/api/emit", { key: true, body: { users: ["r1"], event: "ping-r1", data: 1 } });
  await got;
  const id = u.id;

  let mark = events.length;
  const down = once(u, "disconnect");
  u.io.engine.close();
  await down;
  await waitFor("A parked it", async () => (await parked(nodeA)) === 1);
  const conn = await redisClient(redis.url);
  try {
    await keptInRedis(conn, u._pid);
  } finally {
    await conn.quit();
  }
  await backThrough(nodeB, u);
  assert.equal(u.recovered, true);
  assert.equal(u.id, id);
  await waitFor("A let it go", async () => (await parked(nodeA)) === 0);
  // Fences: a user leaving A (A's presence task, after A let r1 go), and
  // one arriving on B (B's, after B took r1).
  const fenceA = await baasixClient(nodeA, "fence-a");
  const fenceB = await baasixClient(nodeB, "fence-b");
  await until_fence(mark, "user.connected", "fence-b");
  fenceA.close();
  const seen = await until_fence(mark, "user.disconnected", "fence-a");
  assert.deepEqual(
    seen.filter(([, b]) => b.userId === "r1"),
    [],
    "no offline or online for r1 across the recovery",
  );

  // The fence leaves only after r1 did (two connections race otherwise).
  mark = events.length;
  u.close();
  await until(() => events.slice(mark).some(([e, b]) => e === "user.disconnected" && b.userId === "r1"), "r1 offline");
  fenceB.close();
  const left = await until_fence(mark, "user.disconnected", "fence-b");
  assert.deepEqual(left.map(([e, b]) => [e, b.userId]), [["user.disconnected", "r1"]]);
});
