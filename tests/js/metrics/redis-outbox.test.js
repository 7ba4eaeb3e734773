// The Redis adapter's outbox on /metrics: with Redis stalled (SIGSTOP: the
// connection stays open, nothing is answered), the node's cluster messages
// queue up to the outbox's bound (65 536) and past it are dropped, each
// counted in confab_redis_outbox_dropped_total.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { startServer, serverKind, once } from "../harness.js";
import { startRedis, untilSubscribed } from "../cluster/redis.js";
import { scrape } from "./lib.js";

const skip = serverKind === "node" ? "confab's metrics (the Node reference has none)" : false;
/** actors/redis/src/outbox.rs: OUTBOX. */
const OUTBOX = 65_536;
const FAMILY = "confab_redis_outbox_dropped_total";

let redis, server, client;
before(async () => {
  if (skip) return;
  redis = await startRedis();
  // Publishes in flight wait for the stalled Redis rather than time out;
  // the client sends past the outbox's bound at once, with no rate limit.
  server = await startServer({
    CONFAB_ADAPTER__URL: redis.url,
    CONFAB_ADAPTER__REQUEST_TIMEOUT_MS: "600000",
    CONFAB_EVENT_RATE_PER_SEC: "0",
  });
  client = connect(server.url, { transports: ["websocket"], forceNew: true });
  await once(client, "connect");
  await untilSubscribed(redis.url, 1);
});
after(async () => {
  client?.close();
  await server?.stop();
  // SIGKILL, which a stopped process takes.
  await redis?.stop({ hard: true });
});

test("a node without Redis lists no outbox family", { skip }, async () => {
  const alone = await startServer();
  try {
    assert.equal((await scrape(alone.url)).series.has(FAMILY), false);
  } finally {
    await alone.stop();
  }
});

test("past the outbox's bound, cluster messages are dropped and counted", { skip }, async () => {
  const before = await scrape(server.url);
  assert.equal(before.series.get(FAMILY), 0);
  redis.signal("SIGSTOP");
  const extra = 1000;
  const sent = OUTBOX + extra;
  for (let i = 0; i < sent; i++) client.emit("to-room", { room: "far", event: "x", data: i });
  // Events are handled in order: once this one is answered, every emit above was published.
  assert.equal(await client.timeout(120_000).emitWithAck("echo", "done"), "done");
  const dropped = (await scrape(server.url)).series.get(FAMILY);
  // The publisher holds a few messages in flight outside the bound.
  assert.ok(dropped > 0 && dropped <= extra, `dropped ${dropped} of ${extra} past the bound`);
});
