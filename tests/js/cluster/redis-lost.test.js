// Two confab nodes lose their Redis mid-test: local delivery goes on,
// cluster-wide listing answers with what it has, and delivery across nodes
// resumes once Redis is back (started again on the same port). And a node
// whose Redis is not there at start starts anyway, says so, serves its
// clients, and joins when Redis comes; the appliance's readiness waits
// for that join, and holds through a later outage.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { startServer, once } from "../harness.js";
import { startConfab } from "../api/lib.js";
import { postJson } from "../client/helpers.js";
import { Emitter } from "@socket.io/redis-emitter";
import { startRedis, redisClient, freePort, untilSubscribed } from "./redis.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab testbed";

let redis, nodeA, nodeB, onA, onB;

async function postEmit(server, body) {
  assert.equal((await postJson(`${server.url}/api/emit`, body)).status, 200);
}

const bothSubscribed = () => untilSubscribed(redis.url, 2);

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const settings = { CONFAB_ADAPTER__URL: redis.url, CONFAB_ADAPTER__REQUEST_TIMEOUT_MS: "500" };
  [nodeA, nodeB] = await Promise.all([startServer(settings, { stderr: "pipe" }), startServer(settings, { stderr: "pipe" })]);
  nodeA.child.stderr.resume();
  nodeB.child.stderr.resume();
  onA = connect(nodeA.url, { transports: ["websocket"], forceNew: true });
  onB = connect(nodeB.url, { transports: ["websocket"], forceNew: true });
  await Promise.all([once(onA, "connect"), once(onB, "connect")]);
  await bothSubscribed();
});

after(async () => {
  if (skip) return;
  onA?.close();
  onB?.close();
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.stop();
});

test("with Redis killed, local delivery goes on and listing says only what is here; after it is back, across nodes resumes", { skip }, async () => {
  const across = once(onB, "before");
  await postEmit(nodeA, { event: "before", data: 1 });
  assert.deepEqual(await across, [1]);

  await redis.stop({ hard: true });
  const local = once(onA, "during");
  await postEmit(nodeA, { event: "during", data: 2 });
  assert.deepEqual(await local, [2]);
  const listed = await (await fetch(`${nodeA.url}/api/sockets?nsp=/`)).json();
  assert.deepEqual(listed.map((s) => s.id), [onA.id]);

  await redis.restart();
  await bothSubscribed();
  // The publisher reconnects on its next call: emit until one arrives.
  let got = false;
  onB.on("after", () => (got = true));
  const deadline = Date.now() + 20_000;
  while (!got) {
    if (Date.now() > deadline) throw new Error("delivery across nodes did not resume");
    await postEmit(nodeA, { event: "after", data: 3 });
    await new Promise((r) => setTimeout(r, 100));
  }
  const both = await (await fetch(`${nodeA.url}/api/sockets?nsp=/`)).json();
  assert.deepEqual(both.map((s) => s.id).sort(), [onA.id, onB.id].sort());
});

test("a node whose Redis is unreachable at start serves its clients, says so, and joins when Redis comes", { skip }, async () => {
  const port = await freePort();
  const node = await startServer(
    { CONFAB_ADAPTER__URL: `redis://127.0.0.1:${port}`, RUST_LOG: "warn" },
    { stderr: "pipe" },
  );
  let log = "";
  node.child.stderr.on("data", (chunk) => (log += chunk));
  const alone = connect(node.url, { transports: ["websocket"], forceNew: true });
  let redisLate;
  try {
    await once(alone, "connect");
    const local = once(alone, "alone");
    await postEmit(node, { event: "alone", data: 1 });
    assert.deepEqual(await local, [1]);
    assert.match(log, /redis unreachable/);

    redisLate = await startRedis(port);
    await untilSubscribed(redisLate.url, 1);
    const client = await redisClient(redisLate.url);
    try {
      // What the cluster sends now reaches its client.
      const message = once(alone, "from-redis");
      new Emitter(client).emit("from-redis", 7);
      assert.deepEqual(await message, [7]);
    } finally {
      await client.quit();
    }
  } finally {
    alone.close();
    await node.stop();
    await redisLate?.stop();
  }
});

test("the appliance is ready once it has joined its cluster, and stays ready while Redis is away", { skip }, async () => {
  const port = await freePort();
  const node = await startConfab(null, { env: { CONFAB_ADAPTER__URL: `redis://127.0.0.1:${port}` } });
  const ready = () => node.api("GET", "/api/ready");
  const untilReady = async (cluster) => {
    const deadline = Date.now() + 20_000;
    for (let res = await ready(); res.status !== 200 || res.body.cluster !== cluster; res = await ready()) {
      if (Date.now() > deadline) throw new Error(`not ready with cluster ${cluster}: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let redisLate;
  try {
    const joining = await ready();
    assert.equal(joining.status, 503);
    assert.equal(joining.body.ready, false);
    assert.equal(joining.body.cluster, "joining");
    assert.equal((await node.api("GET", "/api/health")).status, 200, "alive all the same");

    redisLate = await startRedis(port);
    await untilReady("joined");
    // Joined means counted: the request channel has this node.
    await untilSubscribed(redisLate.url, 1);

    await redisLate.stop({ hard: true });
    await untilReady("reconnecting");
  } finally {
    await node.stop();
    await redisLate?.stop();
  }
});
