// A quick durable-chat measurement, until loadgen has the scenario: SENDERS
// (20) users, each in an individual chat with its own recipient (connected,
// so every message is also fanned out), send the seed's `createMessage` with
// an ack, one in flight each, for SECS (10) seconds after WARMUP (2); prints
// acked messages/s and p50/p99 ack latency. BIN: the confab binary (default
// target/debug/confab; give a release build for figures that mean anything).
// The client is Node socket.io-client from tests/js (run `npm ci` there):
//   node bench/chat-quick.mjs
//   BIN=$PWD/target/release/confab SENDERS=20 SECS=10 node bench/chat-quick.mjs
import { createRequire } from "node:module";
import { startServer } from "../tests/js/harness.js";
import { mintToken } from "../tests/js/seeds/lib.js";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";

const { io } = createRequire(new URL("../tests/js/package.json", import.meta.url))("socket.io-client");

const N = Number(process.env.SENDERS || 20);
const SECS = Number(process.env.SECS || 10);
const WARMUP = Number(process.env.WARMUP || 2);
const bin = process.env.BIN || "confab";
const dataDir = mkdtempSync(path.join(os.tmpdir(), "confab-quick-"));
const env = { RUST_LOG: "warn", CONFAB_DATA_DIR: dataDir, CONFAB_IDENTITY__SECRET: randomBytes(24).toString("hex") };
const args = ["--profile", "seam"];
const server = await startServer(env, { command: bin, args });
try {
  const ask = (s, ev, data) => new Promise((res) => s.emit(ev, data, res));
  const senders = [];
  const connect = async (user) => {
    const token = await mintToken(args, env, user, { name: user });
    const socket = io(server.url, { auth: { token }, transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise((r, j) => { socket.once("connect", r); socket.once("connect_error", j); });
    return socket;
  };
  const recipients = [];
  for (let i = 0; i < N; i++) {
    recipients.push(await connect(`r${i}`)); // a user exists once connected; stays online (fan-out)
    const socket = await connect(`s${i}`);
    const joined = await ask(socket, "joinRoom", { otherUserId: `r${i}` });
    if (!joined.chatHeaderId) throw new Error(JSON.stringify(joined));
    senders.push({ socket, chatHeaderId: joined.chatHeaderId });
  }
  const lat = [];
  let measuring = false, stop = false, acked = 0;
  setTimeout(() => { measuring = true; }, WARMUP * 1000);
  setTimeout(() => { stop = true; }, (WARMUP + SECS) * 1000);
  await Promise.all(senders.map(async ({ socket, chatHeaderId }, i) => {
    let n = 0;
    while (!stop) {
      const t0 = process.hrtime.bigint();
      const r = await ask(socket, "createMessage", { message: `m${i}-${n++}`, chatHeaderId, messageType: 0 });
      if (r?.error) throw new Error(JSON.stringify(r));
      if (measuring && !stop) { acked++; lat.push(Number(process.hrtime.bigint() - t0) / 1e6); }
    }
  }));
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
  console.log(JSON.stringify({ bin, senders: N, secs: SECS, acked_per_s: Math.round(acked / SECS), p50_ms: q(0.5), p99_ms: q(0.99) }));
  for (const { socket } of senders) socket.close();
  for (const socket of recipients) socket.close();
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
