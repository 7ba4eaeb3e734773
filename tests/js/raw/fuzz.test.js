// A bounded, seeded fuzz of Engine.IO / Socket.IO frames over both transports.
//
// CASES mutations of valid frames (truncation, bad packet types, huge numbers,
// bad JSON, wrong attachment counts, binary where text is expected, oversize,
// bad polling separators and base64) come from a PRNG seeded with SEED
// (FUZZ_SEED overrides it, to replay a failure). Each case gets its own
// connected session; after each batch a bystander must still round-trip an
// echo with an ack, the server must be alive with its resident memory flat,
// and its log must have at most one line per connection the fuzz opened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import readline from "node:readline";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connectWs, Polling, SEP, closeAll, within } from "./lib.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const CASES = 3000;
const BATCH = 100;
const MAX_PAYLOAD = 10_000;
// Memory may grow by this much from the first batch to the last.
const RSS_SLACK = 32 * 1024 * 1024;

/** mulberry32: a small seeded PRNG, the same sequence for the same seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  '42["echo","hi"]',
  '421["echo",{"a":[1,2,3],"b":null}]',
  '451-["echo",{"_placeholder":true,"num":0}]',
  '4522-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  '40/admin,{"token":"let-me-in"}',
  '42/admin,7["whoami"]',
  '431["ok"]',
  '41',
  '42["join-room","fuzz"]',
  '42["to-room",{"room":"fuzz","event":"e","data":1}]',
  "2",
  "3",
  "5",
  "6",
  "1",
];
const HUGE = ["99999999999999999999999", "-1", "1e309", "18446744073709551616", "NaN", "0x10"];
const JUNK = ["{", "}", "[", "]", ",", '"', "\\", "\u0000", "\uffff", "😀", "\x1e", ":"];

/** One case: the frames (strings or Buffers) to send, from a valid one mutated. */
function mutate(rand) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const at = (s) => Math.floor(rand() * (s.length + 1));
  let frame = pick(VALID);
  const ops = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < ops; i++) {
    const p = at(frame);
    switch (Math.floor(rand() * 10)) {
      case 0: // truncation
        frame = frame.slice(0, p);
        break;
      case 1: // a bad packet type
        frame = pick("0123456789ab ") + frame.slice(1);
        break;
      case 2: // a huge or odd number where digits go
        frame = frame.slice(0, p) + pick(HUGE) + frame.slice(p);
        break;
      case 3: // bad JSON
        frame = frame.slice(0, p) + pick(JUNK) + frame.slice(p);
        break;
      case 4: // a wrong attachment count
        frame = frame.replace(/^(\d)(\d+)-/, `$1${pick(["0", "3", "999999999", "-2", "x"])}-`);
        if (!/^\d\d+-/.test(frame)) frame = `45${pick(HUGE)}-["echo"]`;
        break;
      case 5: // a character removed
        frame = frame.slice(0, p) + frame.slice(p + 1);
        break;
      case 6: // a segment repeated
        frame = frame.slice(0, p) + frame.slice(p, p + 8).repeat(1 + Math.floor(rand() * 4)) + frame.slice(p);
        break;
      case 7: // oversize
        frame = frame + "x".repeat(MAX_PAYLOAD + Math.floor(rand() * 100));
        break;
      case 8: // a random byte
        frame = frame.slice(0, p) + String.fromCharCode(Math.floor(rand() * 256)) + frame.slice(p + 1);
        break;
      default: // nested depth
        frame = frame.slice(0, p) + "[".repeat(1 + Math.floor(rand() * 2000)) + frame.slice(p);
    }
  }
  // Binary where text is expected, or an attachment after a text packet.
  const shape = rand();
  if (shape < 0.1) return [Buffer.from(frame)];
  if (shape < 0.2) return [frame, Buffer.from(frame.slice(0, 10))];
  if (shape < 0.25) return [frame, frame];
  return [frame];
}

/** A polling body from one case: packets joined, with separator and base64 mutations. */
function pollingBody(rand, frames) {
  const texts = frames.map((f) => (Buffer.isBuffer(f) ? `b${rand() < 0.5 ? f.toString("base64") : "%%not base64"}` : f));
  let body = texts.join(SEP);
  const r = rand();
  if (r < 0.1) body = SEP + body;
  else if (r < 0.2) body = body + SEP;
  else if (r < 0.25) body = body.replaceAll(SEP, SEP + SEP);
  return body;
}

function rss(pid) {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
}

async function wsCase(url, frames) {
  const ws = await connectWs(url);
  for (const f of frames) ws.send(f);
  return ws;
}

async function pollingCase(url, rand, frames) {
  const p = new Polling(url);
  await p.connect();
  const res = await p.post(pollingBody(rand, frames));
  // Refused or taken, never a server error.
  assert.ok([200, 400, 413].includes(res.status), `POST answered ${res.status} ${res.body}`);
  return p;
}

test(`${CASES} seeded mutations over WebSocket and polling leave the server serving (seed ${SEED})`, async (t) => {
  const server = await startServer(
    { CONFAB_MAX_PAYLOAD: String(MAX_PAYLOAD), CONFAB_PING_INTERVAL_MS: "60000",
      // The operator's connection lines (opened, connected, closed) are
      // their own target, off here: what is counted is everything else.
      RUST_LOG: "info,confab::connections=off" },
    { stderr: "pipe" },
  );
  let logLines = 0;
  readline.createInterface({ input: server.child.stderr }).on("line", () => logLines++);
  const pid = server.child.pid;
  const bystander = io(server.url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  try {
    await within(new Promise((resolve) => bystander.once("connect", resolve)), 5000, "bystander connect");
    const rand = prng(SEED);
    let baseline;
    for (let done = 0; done < CASES; done += BATCH) {
      const cases = Array.from({ length: BATCH }, () => mutate(rand));
      const viaPolling = cases.map(() => rand() < 1 / 3);
      await Promise.all(
        cases.map((frames, i) => (viaPolling[i] ? pollingCase(server.url, rand, frames) : wsCase(server.url, frames))),
      );
      const answer = await bystander.timeout(5000).emitWithAck("echo", `batch ${done}`);
      assert.equal(answer, `batch ${done}`);
      assert.equal(server.child.exitCode, null, "the server is alive");
      baseline ??= rss(pid);
      closeAll();
    }
    const grown = rss(pid) - baseline;
    t.diagnostic(`RSS after the first batch ${(baseline / 1e6).toFixed(1)} MB, grown ${(grown / 1e6).toFixed(1)} MB; ${logLines} log lines`);
    assert.ok(grown < RSS_SLACK, `the server grew by ${grown} bytes`);
    // Malformed input is reported at debug and counted: besides the
    // connection lines, no line per session, only start-up's.
    assert.ok(logLines <= 20, `${logLines} log lines for ${CASES} connections`);
  } finally {
    bystander.close();
    closeAll();
    await server.stop();
  }
});
