// The edges of cluster-wide calls with acks, on a mixed cluster (two confab
// testbeds, one Node socket.io server, one private Redis): a node that has
// no handler for a server-side event never answers it, and a node killed in
// the middle of a broadcast with acks never answers either. In both cases
// the caller gets what it has at its timeout, marked incomplete, and no
// call hangs or blocks the next one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { postJson } from "../client/helpers.js";
import { redisClient } from "./redis.js";
import { startMixedCluster } from "./mixed.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab testbed";
const REQUESTS = "socket.io-request#/#";

let cluster, redis, confabA, confabB, nodeN, a, b;

before(async () => {
  if (skip) return;
  // The Node server has no listener for any server-side event; its own
  // requests wait 1 s for the other nodes.
  cluster = await startMixedCluster({ requestsTimeout: 1000 });
  ({ redis, confabA, confabB, nodeN, a, b } = cluster);
});

after(async () => {
  await cluster?.stop();
});

test("a server-side emit with an ack to a node without a handler ends at the timeout, partial", { skip, timeout: 30_000 }, async () => {
  // The testbed asks `who` with a 3 s timeout: confab B answers, the Node
  // server (no `who` listener) never does.
  const res = await a.emitWithAck("ask-servers");
  assert.equal(res.complete, false, JSON.stringify(res));
  assert.deepEqual(res.answers.map((x) => x.from), ["confab"], "B's answer is kept");
  // The other way: confab nodes without a handler answer nothing either, as
  // a Node server would, so Node's own call times out instead of resolving.
  await assert.rejects(nodeN.io.serverSideEmitWithAck("nobody-handles-this"), /timeout/);
});

test("a broadcast with acks whose node dies mid-request ends at the timeout, and the next one completes", { skip, timeout: 30_000 }, async () => {
  a.on("slow-q", (x, ack) => ack({ from: "a", x }));
  // B's client never answers: its node is killed as the event arrives.
  const killed = new Promise((resolve) => {
    b.on("slow-q", () => {
      confabB.child.once("exit", resolve);
      confabB.child.kill("SIGKILL");
    });
  });
  const pending = postJson(`${confabA.url}/api/emit`, { event: "slow-q", data: 1, ackTimeoutMs: 2000 });
  await killed;
  const { body } = await pending;
  assert.deepEqual(body, { ok: false, error: "timeout" }, "B's client was counted and never answered");

  // Redis drops the dead node's subscriptions; A then counts only Node.
  await untilFewer(REQUESTS, 3);
  const next = await postJson(`${confabA.url}/api/emit`, { event: "slow-q", data: 2, ackTimeoutMs: 5000 });
  assert.deepEqual(next.body, { ok: true, replies: [{ from: "a", x: 2 }] });
});

/** Waits until fewer than `count` connections subscribe to `channel` (safety net: 10 s). */
async function untilFewer(channel, count) {
  const client = await redisClient(redis.url);
  try {
    const deadline = Date.now() + 10_000;
    while ((await client.pubSubNumSub(channel))[channel] >= count) {
      if (Date.now() > deadline) throw new Error(`still ${count} subscribers on ${channel}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.quit();
  }
}
