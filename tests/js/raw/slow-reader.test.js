// A client that stops reading must not make the server hold what it is sent:
// the bytes queued for one connection are bounded (`max_buffered_bytes`), and
// a connection over the bound is cut at once, its queue dropped, while a
// bystander in the same room receives everything.
//
// The stalled WebSocket pauses its TCP socket (the kernel buffers fill, then
// the server's); the stalled polling client never sends a GET. The server's
// resident memory is read from /proc/<pid>/status (VmHWM, its peak, reset
// before the flood through /proc/<pid>/clear_refs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connectWs, Polling, closeAll, within } from "./lib.js";

const EVENT_BYTES = 64 * 1024;
const EVENTS = 1024; // 64 batches, 67 MB in all: far more than the kernel's socket buffers
const BATCH = 16; // the bystander reads each batch before the next is emitted
const BUDGET = 4_000_000; // the default max_buffered_bytes
// What else the server may grow by while the flood runs: the allocator's
// free lists, one batch in flight to the bystander, the HTTP buffers of the
// emits, and a second budget's worth handed to the kernel-bound writer.
const SLACK = 24 * 1024 * 1024;

function status(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]) * 1024;
}

/** A bystander socket.io client in room `flood`, also watching disconnect reasons. */
async function bystander(url) {
  const s = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  s.received = 0;
  s.left = [];
  s.on("big", (data) => {
    assert.equal(data.length, EVENT_BYTES);
    s.received++;
    s.onBig?.();
  });
  s.on("left", (msg) => s.left.push(msg));
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  await s.emitWithAck("join-room", "flood");
  await s.emitWithAck("join-room", "observers");
  return s;
}

/** Emits the flood in batches, each once the bystander has the one before; returns the time the stalled socket was cut (ms after the first emit) or null. */
async function flood(server, watcher, stalledId) {
  const data = "x".repeat(EVENT_BYTES);
  const body = JSON.stringify({ rooms: ["flood"], event: "big", data });
  const start = Date.now();
  let cutAt = null;
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const received = new Promise((resolve) => {
      watcher.onBig = () => watcher.received >= sent + BATCH && resolve();
    });
    for (let i = 0; i < BATCH; i++) {
      const res = await fetch(`${server.url}/api/emit`, { method: "POST", body, headers: { "content-type": "application/json" } });
      assert.equal(res.status, 200);
    }
    await within(received, 10_000, `bystander batch ending at ${sent + BATCH}`);
    if (cutAt === null && watcher.left.some((l) => l.id === stalledId)) cutAt = Date.now() - start;
  }
  return cutAt;
}

async function run(t, stall) {
  const server = await startServer({ CONFAB_PING_INTERVAL_MS: "60000", CONFAB_PING_TIMEOUT_MS: "60000" });
  const pid = server.child.pid;
  try {
    const watcher = await bystander(server.url);
    const stalled = await stall(server.url);
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // VmHWM := VmRSS
    const baseline = status(pid, "VmRSS");
    const cutAt = await flood(server, watcher, stalled.id);
    const peak = status(pid, "VmHWM") - baseline;
    t.diagnostic(`peak growth ${(peak / 1e6).toFixed(1)} MB, cut after ${cutAt} ms`);
    assert.equal(watcher.received, EVENTS, "the bystander received every event");
    assert.ok(watcher.connected, "the bystander is still connected");
    const left = watcher.left.find((l) => l.id === stalled.id);
    assert.ok(left, `the stalled socket was disconnected (left: ${JSON.stringify(watcher.left)})`);
    assert.equal(left.reason, "transport error");
    assert.ok(peak < BUDGET + SLACK, `server grew by ${peak} bytes, over ${BUDGET} + ${SLACK}`);
    await stalled.check();
    watcher.close();
  } finally {
    closeAll();
    await server.stop();
  }
}

test("a WebSocket that stops reading is cut at its byte budget, its bytes released", async (t) => {
  await run(t, async (url) => {
    const ws = await connectWs(url);
    ws.send('421["join-room","flood"]');
    assert.match(await ws.next(), /^431\[/);
    ws.ws.pause(); // TCP backs up: the server's writes stall
    return {
      id: ws.socketId,
      // Cut without a close frame behind the queue: the connection is reset.
      check: async () => {
        ws.ws.resume();
        const { code } = await ws.waitClose(10_000);
        assert.equal(code, 1006, "aborted, not closed after the queued data");
      },
    };
  });
});

test("a polling client that never GETs is cut at its byte budget", async (t) => {
  await run(t, async (url) => {
    const p = new Polling(url);
    const id = await p.connect();
    await p.send('42["join-room","flood"]');
    return {
      id,
      // Its queue was dropped: the next GET ends the session at once.
      check: async () => {
        const res = await p.get();
        assert.ok(
          (res.status === 200 && res.body === "1") || res.status === 400,
          `a GET after the cut: ${res.status} ${res.body.slice(0, 80)}`,
        );
      },
    };
  });
});
