// A small mixed cluster on one private Redis: two confab testbeds (A, B),
// one Node socket.io server with @socket.io/redis-adapter (N), and one
// WebSocket client on each confab node. Resolves once all three nodes
// subscribe to the request channel (so each counts the others).
import { io as connect } from "socket.io-client";
import { startServer, once } from "../harness.js";
import { startRedis, untilSubscribed } from "./redis.js";
import { startNodeServer } from "./node-server.js";

/**
 * Starts it; `nodeOpts` go to the Node server's adapter. Resolves to
 * { redis, confabA, confabB, nodeN, a, b, stop }.
 */
export async function startMixedCluster(nodeOpts = {}) {
  const redis = await startRedis();
  const settings = { CONFAB_ADAPTER__URL: redis.url };
  const [confabA, confabB] = await Promise.all([startServer(settings), startServer(settings)]);
  const nodeN = await startNodeServer(redis.url, nodeOpts);
  const a = connect(confabA.url, { transports: ["websocket"], forceNew: true });
  const b = connect(confabB.url, { transports: ["websocket"], forceNew: true });
  await Promise.all([once(a, "connect"), once(b, "connect")]);
  await untilSubscribed(redis.url, 3);
  const stop = async () => {
    a.close();
    b.close();
    await nodeN.close();
    await Promise.all([confabA.stop(), confabB.stop()]);
    await redis.stop();
  };
  return { redis, confabA, confabB, nodeN, a, b, stop };
}
