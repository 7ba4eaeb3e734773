// Engine.IO handshakes and the HTTP errors of the Engine.IO endpoint, byte for byte.
// Expected bodies are those of the official Node server (engine.io 6.6).
import { test } from "node:test";
import assert from "node:assert/strict";
import { eioUrl, http, openWs, connectWs, Ws, Polling, echoAck, CLEAN_CLOSE, testbed } from "./lib.js";

const SETTINGS = {
  CONFAB_PING_INTERVAL_MS: "4000",
  CONFAB_PING_TIMEOUT_MS: "3000",
  CONFAB_MAX_PAYLOAD: "1000",
};
const SID = /^[A-Za-z0-9_-]+$/; // URL-safe, as Node's base64id

const server = testbed(SETTINGS);

const openBody = (sid, upgrades) =>
  `0{"sid":"${sid}","upgrades":${JSON.stringify(upgrades)},"pingInterval":4000,"pingTimeout":3000,"maxPayload":1000}`;

/** 400 with a JSON `{code, message}` body exactly as Node's engine.io writes it. */
function assertEioError(res, code, message) {
  assert.equal(res.status, 400, `status (body ${JSON.stringify(res.body)})`);
  assert.match(res.contentType, /^application\/json/);
  assert.equal(res.body, JSON.stringify({ code, message }));
}

test("polling handshake: 200 text/plain, body is exactly the open packet", async () => {
  const res = await http(eioUrl(server.url, { transport: "polling" }));
  assert.equal(res.status, 200);
  assert.match(res.contentType, /^text\/plain/);
  assert.equal(res.body[0], "0");
  const { sid } = JSON.parse(res.body.slice(1));
  assert.match(sid, SID);
  assert.equal(res.body, openBody(sid, ["websocket"]));
});

test("every handshake gets a fresh sid", async () => {
  const a = new Polling(server.url);
  const b = new Polling(server.url);
  await a.open();
  await b.open();
  assert.notEqual(a.sid, b.sid);
});

test("websocket handshake: first frame is the open packet with no upgrades, then silence until CONNECT", async () => {
  const ws = await openWs(server.url);
  assert.match(ws.sid, SID);
  assert.equal(ws.openPacket, openBody(ws.sid, []));
  assert.ok(await ws.silentFor(300), `unexpected frame ${JSON.stringify(ws.queue)}`);
  ws.send("40");
  assert.match(await ws.next(), /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
  ws.close();
});

test("unknown sid: GET and POST → 400 {code:1}", async () => {
  const url = eioUrl(server.url, { transport: "polling", sid: "no-such-session" });
  assertEioError(await http(url), 1, "Session ID unknown");
  assertEioError(await http(url, { method: "POST", body: "40" }), 1, "Session ID unknown");
});

test("unknown or missing transport → 400 {code:0}", async () => {
  assertEioError(await http(eioUrl(server.url, { transport: "carrier-pigeon" })), 0, "Transport unknown");
  assertEioError(await http(eioUrl(server.url, {})), 0, "Transport unknown");
});

test("EIO other than 4 (3, 5, garbage, missing) → 400 {code:5}", async () => {
  for (const EIO of ["3", "5", "abc", null]) {
    const res = await http(eioUrl(server.url, { transport: "polling", EIO }));
    assertEioError(res, 5, "Unsupported protocol version");
  }
});

test("handshake with a method other than GET → 400 {code:2}", async () => {
  for (const method of ["POST", "PUT"]) {
    const res = await http(eioUrl(server.url, { transport: "polling" }), { method, body: "40" });
    assertEioError(res, 2, "Bad handshake method");
  }
});

test("transport=websocket over plain HTTP (no Upgrade) → 400 {code:3}", async () => {
  assertEioError(await http(eioUrl(server.url, { transport: "websocket" })), 3, "Bad request");
});

test("sid of a websocket session used with transport=polling → 400 {code:3}; the session lives on", async () => {
  const ws = await connectWs(server.url);
  const url = eioUrl(server.url, { transport: "polling", sid: ws.sid });
  assertEioError(await http(url), 3, "Bad request");
  assertEioError(await http(url, { method: "POST", body: '42["echo","x"]' }), 3, "Bad request");
  // The refused POST was not processed, and the WebSocket session still works.
  assert.equal(await echoAck(ws, 1), '431["still-alive"]');
  assert.equal(ws.closeInfo, null);
  ws.close();
});

test("sid of a polling session with transport=websocket over plain HTTP → 400 {code:3}", async () => {
  const p = new Polling(server.url);
  await p.open();
  assertEioError(await http(eioUrl(server.url, { transport: "websocket", sid: p.sid })), 3, "Bad request");
});

test("EIO=3 with the sid of an EIO=4 session → 400 {code:3}", async () => {
  const p = new Polling(server.url);
  await p.open();
  assertEioError(await http(eioUrl(server.url, { transport: "polling", sid: p.sid, EIO: "3" })), 3, "Bad request");
});

test("an unsupported method on an existing session is refused and does not kill it", async () => {
  const p = new Polling(server.url);
  await p.connect();
  // Node answers 500 with an empty body here; any error status will do.
  const res = await http(p.url(), { method: "PUT", body: '421["echo","put"]' });
  assert.ok(res.status >= 400, `status ${res.status}`);
  await p.send('422["echo","after"]');
  assert.deepEqual(await p.poll(), ['432["after"]']);
});

test("websocket upgrade with an unknown sid → HTTP 400 'Session ID unknown', no WebSocket", async () => {
  const ws = new Ws(eioUrl(server.url, { transport: "websocket", sid: "no-such-session" }));
  const err = await ws.opened.then(
    () => null,
    (e) => e,
  );
  assert.ok(err, "the upgrade was accepted");
  assert.equal(err.statusCode, 400);
  assert.equal(err.body, "Session ID unknown");
});

test("websocket upgrade with an unknown transport → HTTP 400 'Transport unknown', no WebSocket", async () => {
  const ws = new Ws(eioUrl(server.url, { transport: "carrier-pigeon" }));
  const err = await ws.opened.then(
    () => null,
    (e) => e,
  );
  assert.ok(err, "the upgrade was accepted");
  assert.equal(err.statusCode, 400);
  assert.equal(err.body, "Transport unknown");
});

test("websocket with EIO=3 never gets an open packet", async () => {
  // Node completes the upgrade (101) and then writes an HTTP 400 onto the socket and
  // destroys it; refusing the upgrade outright is as good. Either way: no `0` frame.
  const ws = new Ws(eioUrl(server.url, { transport: "websocket", EIO: "3" }));
  const opened = await ws.opened.then(
    () => true,
    (e) => {
      assert.equal(e.statusCode, 400, String(e));
      return false;
    },
  );
  if (opened) {
    await ws.waitClose(3000);
    assert.deepEqual(ws.queue, []);
  }
});

test("websocket upgrade to the polling transport name never gets an open packet", async () => {
  // Node accepts the upgrade, then closes the WebSocket at once without a frame.
  const ws = new Ws(eioUrl(server.url, { transport: "polling" }));
  const opened = await ws.opened.then(
    () => true,
    (e) => {
      assert.equal(e.statusCode, 400, String(e));
      return false;
    },
  );
  if (opened) {
    const { code } = await ws.waitClose(3000);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
    assert.deepEqual(ws.queue, []);
  }
});
