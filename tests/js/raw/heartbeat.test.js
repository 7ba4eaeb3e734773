// Heartbeat (server `2` every pingInterval, client `3`) and the connect timeout, at the
// byte level over WebSocket and polling. Expected behaviour: the official Node server.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../harness.js";
import { Polling, openWs, connectWs, sleep, closeAll, echoAck, CLEAN_CLOSE, testbed } from "./lib.js";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const CONNECT_TIMEOUT = 500;
const SLACK = 250; // scheduling slack on a busy 2-core machine

const UNKNOWN_SID = JSON.stringify({ code: 1, message: "Session ID unknown" });

after(() => closeAll());

/** An observer socket in room `observers`; `left(id)` resolves with the `left` payload for socket `id`. */
async function observer(base) {
  const obs = await connectWs(base);
  obs.send('421["join-room","observers"]');
  assert.match(await obs.next(), /^431\[\{"rooms":\[/);
  obs.left = async (id, ms = 3000) => {
    for (;;) {
      const frame = await obs.next(ms);
      assert.ok(frame.startsWith('42["left",'), `expected a left event, got ${frame}`);
      const payload = JSON.parse(frame.slice(2))[1];
      if (payload.id === id) return payload; // others: sockets closed by earlier tests
    }
  };
  return obs;
}

describe("heartbeat", () => {
  let server;
  let base;
  let obs;
  before(async () => {
    server = await startServer({
      CONFAB_PING_INTERVAL_MS: String(PING_INTERVAL),
      CONFAB_PING_TIMEOUT_MS: String(PING_TIMEOUT),
      CONFAB_CONNECT_TIMEOUT_MS: "10000",
    });
    base = server.url;
    obs = await observer(base); // answers pings by itself
  });
  after(async () => {
    closeAll();
    await server.stop();
  });

  test("websocket: the handshake announces the timings", async () => {
    const ws = await openWs(base);
    assert.equal(ws.handshake.pingInterval, PING_INTERVAL);
    assert.equal(ws.handshake.pingTimeout, PING_TIMEOUT);
    ws.close();
  });

  test("websocket: a `2` every pingInterval; answering `3` keeps the session alive over several intervals", async () => {
    const ws = await connectWs(base, { autoPong: false });
    const start = Date.now();
    const at = [];
    for (let i = 0; i < 4; i++) {
      assert.equal(await ws.next(PING_INTERVAL + PING_TIMEOUT + SLACK), "2");
      at.push(Date.now() - start);
      ws.send("3");
    }
    // first ping one interval after the CONNECT (the session opened just before it)
    assert.ok(at[0] >= PING_INTERVAL - 100 && at[0] <= PING_INTERVAL + SLACK, `first ping at ${at[0]} ms`);
    for (let i = 1; i < at.length; i++) {
      const gap = at[i] - at[i - 1];
      assert.ok(gap >= PING_INTERVAL - 50 && gap <= PING_INTERVAL + SLACK, `ping gap ${gap} ms (${at})`);
    }
    assert.equal(await echoAck(ws, 1), '431["still-alive"]');
    assert.equal(ws.closeInfo, null);
    ws.close();
  });

  test("websocket: no `3` after a `2` → closed once pingTimeout has passed; reason 'ping timeout'", async () => {
    const ws = await connectWs(base, { autoPong: false });
    assert.equal(await ws.next(PING_INTERVAL + SLACK), "2");
    const pingAt = Date.now();
    const { code } = await ws.waitClose(PING_TIMEOUT + SLACK + 500);
    const after = Date.now() - pingAt;
    assert.ok(after >= PING_TIMEOUT - 50, `closed ${after} ms after the ping`);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
    assert.deepEqual(ws.queue, []);
    assert.deepEqual(await obs.left(ws.socketId), { id: ws.socketId, reason: "ping timeout" });
  });

  test("polling: GET returns `2`; `3` by POST keeps it alive; unanswered, the pending GET gets `1` and the sid is gone", async () => {
    const p = new Polling(base);
    await p.connect();
    for (let i = 0; i < 3; i++) {
      assert.equal((await p.get()).body, "2");
      await p.send("3");
    }
    await p.send('421["echo","alive"]');
    assert.equal((await p.get()).body, '431["alive"]');

    assert.equal((await p.get()).body, "2"); // not answered
    const pingAt = Date.now();
    const res = await p.get(); // pending until the ping timeout closes the session
    assert.equal(res.status, 200);
    assert.equal(res.body, "1");
    assert.ok(Date.now() - pingAt >= PING_TIMEOUT - 50, `closed ${Date.now() - pingAt} ms after the ping`);
    const again = await p.get();
    assert.equal(again.status, 400);
    assert.equal(again.body, UNKNOWN_SID);
    assert.deepEqual(await obs.left(p.socketId), { id: p.socketId, reason: "ping timeout" });
  });

  test("polling: a client that stops polling is timed out (its next GET → 400 {code:1})", async () => {
    const p = new Polling(base);
    await p.connect();
    await sleep(PING_INTERVAL + PING_TIMEOUT + SLACK + 200);
    const res = await p.get();
    assert.equal(res.status, 400);
    assert.equal(res.body, UNKNOWN_SID);
    assert.deepEqual(await obs.left(p.socketId), { id: p.socketId, reason: "ping timeout" });
  });

  test("the observer, answering every ping, is still connected", async () => {
    assert.ok(obs.pings >= 3, `observer saw ${obs.pings} pings`);
    assert.equal(await echoAck(obs, 7), '437["still-alive"]');
  });
});

// The official suite's "should close the session upon ping timeout": a long ping timeout
// leaves a wide window in which a session kept for its next GET would still answer.
describe("ping timeout, polling, without a pending GET", () => {
  const LONG_TIMEOUT = 1500;
  let obs;
  const server = testbed(
    { CONFAB_PING_INTERVAL_MS: String(PING_INTERVAL), CONFAB_PING_TIMEOUT_MS: String(LONG_TIMEOUT) },
    async (url) => {
      obs = await observer(url);
    },
  );

  test("the session is forgotten at once: the GET right after the timeout → 400 {code:1}", async () => {
    const p = new Polling(server.url);
    await p.connect();
    assert.deepEqual(await obs.left(p.socketId, PING_INTERVAL + LONG_TIMEOUT + 3000), {
      id: p.socketId,
      reason: "ping timeout",
    });
    const res = await p.get();
    assert.equal(res.status, 400, `GET after the timeout: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body, UNKNOWN_SID);
  });
});

describe("connect timeout", () => {
  let server;
  let base;
  before(async () => {
    server = await startServer({
      CONFAB_PING_INTERVAL_MS: "10000",
      CONFAB_PING_TIMEOUT_MS: "5000",
      CONFAB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT),
    });
    base = server.url;
  });
  after(async () => {
    closeAll();
    await server.stop();
  });

  test("websocket: no CONNECT within connectTimeout → closed, without a frame", async () => {
    const start = Date.now();
    const ws = await openWs(base);
    const { code } = await ws.waitClose(CONNECT_TIMEOUT + SLACK + 1000);
    const after = Date.now() - start;
    assert.ok(after >= CONNECT_TIMEOUT - 100, `closed after ${after} ms`);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
    assert.deepEqual(ws.queue, []);
  });

  test("polling: no CONNECT within connectTimeout → the pending GET gets `1`, then the sid is gone", async () => {
    const start = Date.now();
    const p = new Polling(base);
    await p.open();
    const res = await p.get();
    const after = Date.now() - start;
    assert.equal(res.status, 200);
    assert.equal(res.body, "1");
    assert.ok(after >= CONNECT_TIMEOUT - 100 && after <= CONNECT_TIMEOUT + SLACK + 1000, `closed after ${after} ms`);
    const again = await p.get();
    assert.equal(again.status, 400);
    assert.equal(again.body, UNKNOWN_SID);
  });

  test("a refused CONNECT (unknown namespace) does not stop the timer", async () => {
    const ws = await openWs(base);
    ws.send("40/nope,");
    assert.equal(await ws.next(), '44/nope,{"message":"Invalid namespace"}');
    const { code } = await ws.waitClose(CONNECT_TIMEOUT + SLACK + 1000);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
  });

  test("a CONNECT in time: the connection outlives the timeout", async () => {
    const ws = await connectWs(base);
    await sleep(CONNECT_TIMEOUT + SLACK);
    assert.equal(await echoAck(ws, 1), '431["still-alive"]');
    assert.equal(ws.closeInfo, null);
    ws.close();
  });
});
