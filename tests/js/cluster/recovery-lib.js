// What the cluster recovery tests share: waiting on an async condition,
// reading a node's recovery gauge, and bringing a lost client back
// through another node (`socket.io.uri`: what its Manager dials on
// `connect()`, as a load balancer sending the reconnection elsewhere).
import { connected, sleep } from "../client/helpers.js";
import { parse } from "../metrics/prometheus.js";

/** Resolves with `check()`'s first truthy answer; rejects after `ms` (a safety net). */
export async function waitFor(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** Sockets `node` keeps parked for recovery. */
export async function parked(node) {
  const { series } = parse(await (await fetch(`${node.url}/metrics`)).text());
  return series.get("confab_recovery_parked") ?? 0;
}

/**
 * Waits until the session `pid` that a node parked is in Redis too (`redis`:
 * a node-redis client): the node parks it, then its Redis writer copies it
 * there, not at once; a client back through another node before the copy
 * lands is, rightly, a new socket.
 */
export async function keptInRedis(redis, pid) {
  await waitFor("the parked session in redis", async () => (await redis.exists(`socket.io-session#${pid}`)) === 1);
}

/** The entries held in Redis for session `pid` (`redis`: a node-redis client). */
export const heldInRedis = (redis, pid) => redis.xLen(`socket.io-missed#${pid}`);

/** Reconnects the lost client `s` through `node`; resolves once connected. */
export async function backThrough(node, s) {
  s.io.uri = node.url;
  s.connect();
  await connected(s);
}
