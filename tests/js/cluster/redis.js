// A private redis-server for one test file: Debian's `redis-server` (which
// tests/run.sh installs) on a free loopback port, without persistence, killed
// after. `startRedis()` resolves once it accepts connections.
import { spawn } from "node:child_process";
import net from "node:net";
import readline from "node:readline";
import { createClient } from "redis";

/** A loopback port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server (on `port`, or a free one). Resolves to
 * { url, port, stop, restart, signal }: `stop()` kills it (SIGKILL with
 * `{ hard: true }`), `restart()` starts it again on the same port (for
 * tests that lose Redis mid-way), `signal(name)` sends it a signal
 * (SIGSTOP: a Redis that stalls).
 */
export async function startRedis(port) {
  port ??= await freePort();
  let child = await launch(port);
  const stop = ({ hard = false } = {}) =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", resolve);
      child.kill(hard ? "SIGKILL" : "SIGTERM");
    });
  const restart = async () => {
    await stop();
    child = await launch(port);
  };
  const signal = (name) => child.kill(name);
  return { url: `redis://127.0.0.1:${port}`, port, stop, restart, signal };
}

async function launch(port) {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start in 15 s")), 15_000);
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      if (/Ready to accept connections/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("error", (err) => reject(new Error(`redis-server: ${err.message} (is it installed? tests/run.sh installs it)`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited early with ${code}`)));
  });
  child.stdout.resume();
  return child;
}

/** A connected node-redis client; `quit()` it after. */
export async function redisClient(url) {
  const client = createClient({ url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * Records every message published on the server (PSUBSCRIBE *): resolves to
 * { messages, until(predicate), close } where each message is
 * { channel, bytes: Buffer }.
 */
export async function recordAll(url) {
  const client = await redisClient(url);
  const messages = [];
  const waiters = [];
  await client.pSubscribe(
    "*",
    (bytes, channel) => {
      messages.push({ channel: channel.toString(), bytes });
      for (const w of [...waiters]) if (w.check()) waiters.splice(waiters.indexOf(w), 1);
    },
    true,
  );
  const until = (predicate, ms = 5000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = messages.find(predicate);
        if (found) {
          clearTimeout(timer);
          resolve(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(`no matching message within ${ms} ms`)), ms);
      if (!check()) waiters.push({ check });
    });
  return { messages, until, close: () => client.quit() };
}

/**
 * Resolves once `count` connections subscribe to `channel` (by default the
 * main namespace's request channel: one per node of a cluster); rejects
 * after 20 s.
 */
export async function untilSubscribed(url, count, channel = "socket.io-request#/#") {
  const client = await redisClient(url);
  try {
    const deadline = Date.now() + 20_000;
    while ((await client.pubSubNumSub(channel))[channel] < count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} subscribers on ${channel}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.quit();
  }
}
