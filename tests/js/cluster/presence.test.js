// Presence across two confab nodes (the BAASIX profile: `user.connected`
// and `user.disconnected` to everyone) on one private Redis: a user with a
// socket on each node comes online once and goes offline once, when their
// last socket anywhere leaves; the users of a node killed with SIGKILL go
// offline once its heartbeat expires (node TTL 1.5 s here).
//
// "Once" is checked with fences: a second user's event, settled by the same
// node's presence task after the checked change, must come next.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startConfab, until } from "../api/lib.js";
import { baasixClient } from "./seed-clients.js";
import { startRedis } from "./redis.js";

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
  const env = { CONFAB_ADAPTER__URL: redis.url, CONFAB_ADAPTER__NODE_TTL_MS: "1500" };
  [nodeA, nodeB] = await Promise.all([startConfab("baasix", { env }), startConfab("baasix", { env })]);
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
