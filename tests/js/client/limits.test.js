// Heartbeat and size limits from the environment: CONFAB_PING_INTERVAL_MS,
// CONFAB_PING_TIMEOUT_MS, CONFAB_CONNECT_TIMEOUT_MS, CONFAB_MAX_PAYLOAD.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startServer } from "../harness.js";
import { connect, close, ask, once, sleep } from "./helpers.js";

const PING_INTERVAL = 200;
const PING_TIMEOUT = 300;
const MAX_PAYLOAD = 1000;

let server;
before(async () => {
  server = await startServer({
    CONFAB_PING_INTERVAL_MS: String(PING_INTERVAL),
    CONFAB_PING_TIMEOUT_MS: String(PING_TIMEOUT),
    CONFAB_CONNECT_TIMEOUT_MS: "300",
    CONFAB_MAX_PAYLOAD: String(MAX_PAYLOAD),
  });
});
after(async () => {
  await server?.stop();
});

const TIMED_OUT = Symbol("timed out");

/** Resolves with p's value, or TIMED_OUT after ms (the timer does not outlive the race). */
function within(p, ms) {
  let timer;
  const t = new Promise((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A raw Engine.IO WebSocket that never answers pings; resolves once open, with its received frames. */
async function rawSocket() {
  const ws = new WebSocket(server.url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
  const frames = [];
  const closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("message", (data, isBinary) => frames.push(isBinary ? data : data.toString()));
  ws.on("error", () => {});
  await once(ws, "open");
  return { ws, frames, closed };
}

for (const transports of [["websocket"], ["polling"]]) {
  describe(`heartbeat and max payload (${transports[0]})`, () => {
    test("the handshake announces the configured values", async () => {
      const s = await connect(server.url, { transports });
      try {
        const engine = s.io.engine;
        assert.equal(engine._pingInterval, PING_INTERVAL);
        assert.equal(engine._pingTimeout, PING_TIMEOUT);
        assert.equal(engine._maxPayload, MAX_PAYLOAD);
      } finally {
        close(s);
      }
    });

    test("a live client stays connected across many ping intervals", async () => {
      const s = await connect(server.url, { transports });
      try {
        const pings = [];
        s.io.on("ping", () => pings.push(1));
        const gone = [];
        s.on("disconnect", (r) => gone.push(r));
        await sleep(PING_INTERVAL * 5);
        assert.ok(pings.length >= 2, `the server pinged (${pings.length})`);
        assert.deepEqual(gone, []);
        assert.equal(s.connected, true);
        assert.equal(await ask(s, "echo", "alive"), "alive");
      } finally {
        close(s);
      }
    });

    test("a message under the max payload passes", async () => {
      const s = await connect(server.url, { transports });
      try {
        const big = "x".repeat(MAX_PAYLOAD - 100);
        assert.equal(await ask(s, "echo", big), big);
      } finally {
        close(s);
      }
    });

    test("a message over the max payload closes the connection", async () => {
      const s = await connect(server.url, { transports });
      try {
        const gone = once(s, "disconnect", 5000);
        s.emit("echo", "y".repeat(MAX_PAYLOAD * 2));
        const [reason, details] = await gone;
        if (transports[0] === "websocket") {
          // Node: the WebSocket is closed with 1009 (message too big)
          assert.equal(reason, "transport close");
          assert.equal(details?.context?.code, 1009);
        } else {
          // Node: the POST is refused with 413
          assert.equal(reason, "transport error");
          assert.equal(details?.description, 413);
        }
      } finally {
        close(s);
      }
    });
  });
}

describe("timeouts seen from the server", () => {
  test('a client that never answers pings is dropped; observers see "ping timeout"', async () => {
    const observer = await connect(server.url, { transports: ["websocket"] });
    const raw = await rawSocket();
    try {
      await ask(observer, "join-room", "observers");
      raw.ws.send("40");
      // wait for the CONNECT answer: 40{"sid":"..."}
      const deadline = Date.now() + 3000;
      let sid;
      while (!sid && Date.now() < deadline) {
        const f = raw.frames.find((x) => typeof x === "string" && x.startsWith("40"));
        if (f) sid = JSON.parse(f.slice(2)).sid;
        else await sleep(20);
      }
      assert.equal(typeof sid, "string", `no CONNECT answer, frames: ${JSON.stringify(raw.frames)}`);
      const left = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "left" for ${sid}`)), 5000);
        observer.on("left", (msg) => {
          if (msg?.id === sid) {
            clearTimeout(timer);
            resolve(msg);
          }
        });
      });
      assert.deepEqual(left, { id: sid, reason: "ping timeout" });
      assert.notEqual(await within(raw.closed, 3000), TIMED_OUT, "the server closed the WebSocket");
      assert.ok(raw.frames.includes("2"), "the server had sent a ping");
    } finally {
      raw.ws.terminate();
      close(observer);
    }
  });

  test("a connection that never CONNECTs to a namespace is closed after the connect timeout", async () => {
    const raw = await rawSocket();
    try {
      assert.notEqual(await within(raw.closed, 3000), TIMED_OUT, "the server closed the WebSocket");
      assert.match(String(raw.frames[0]), /^0\{/);
    } finally {
      raw.ws.terminate();
    }
  });
});
