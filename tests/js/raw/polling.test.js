// The HTTP long-polling transport at the byte level: POST/GET payloads, the \x1e
// separator, base64 binary, maxPayload, overlapping polls and client-side closes.
// Expected answers are those of the official Node server (engine.io 6.6, socket.io 4.8).
import { test } from "node:test";
import assert from "node:assert/strict";
import { http, Polling, SEP, sleep, testbed } from "./lib.js";

const MAX_PAYLOAD = 1000;
const server = testbed({ CONFAB_MAX_PAYLOAD: String(MAX_PAYLOAD) });

const UNKNOWN_SID = JSON.stringify({ code: 1, message: "Session ID unknown" });

/** Asserts the session is gone: a GET with its sid → 400 {code:1}. */
async function assertGone(p) {
  const res = await p.get();
  assert.equal(res.status, 400, `GET after close: ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body, UNKNOWN_SID);
}

/** Starts a GET that stays pending, and gives the server a moment to register it. */
async function pendingGet(p) {
  const g = p.get();
  g.catch(() => {});
  await sleep(150);
  return { result: g }; // wrapped: an async function returning `g` would wait for it
}

test("POST 40 → 200 'ok'; GET → exactly 40{\"sid\":...} with a socket id that is not the engine sid", async () => {
  const p = new Polling(server.url);
  await p.open();
  const post = await p.post("40");
  assert.equal(post.status, 200);
  assert.equal(post.body, "ok");
  const get = await p.get();
  assert.equal(get.status, 200);
  assert.match(get.contentType, /^text\/plain/);
  const m = /^40\{"sid":"([A-Za-z0-9_-]+)"\}$/.exec(get.body);
  assert.ok(m, `GET body ${JSON.stringify(get.body)}`);
  // Socket.IO v5: the socket id is shared with other clients, the engine sid is a credential.
  assert.notEqual(m[1], p.sid);
});

test("several packets in one POST; the buffered answers come back in one GET joined by \\x1e", async () => {
  const p = new Polling(server.url);
  await p.connect();
  await p.send('42["echo","a"]', '42["echo","b"]', '421["echo","c"]');
  await sleep(150);
  const res = await p.get();
  assert.equal(res.status, 200);
  assert.equal(res.body, `42["echo","a"]${SEP}42["echo","b"]${SEP}431["c"]`);
});

test("UTF-8 text round-trips byte for byte over polling", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const text = "héllo ✓ 😀 \u0000 \\ \" \u2028";
  await p.send(`421${JSON.stringify(["echo", text])}`);
  await sleep(100);
  const res = await p.get();
  assert.equal(res.body, `431${JSON.stringify([text])}`);
  assert.equal(Number(res.headers.get("content-length")), Buffer.byteLength(res.body));
});

test("binary over polling: an attachment is sent and received as b<base64>", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const bytes = Buffer.from([0x00, 0x01, 0x02, 0xfb, 0xff, 0x80, 0x7f]);
  const b64 = bytes.toString("base64"); // standard alphabet with padding: "AAEC+/+Afw=="
  const header = '451-["echo",{"_placeholder":true,"num":0}]';
  await p.send(header, `b${b64}`);
  await sleep(100);
  assert.equal((await p.get()).body, `${header}${SEP}b${b64}`);

  // with an ack id: BINARY_ACK 6, attachments, '-', id
  await p.send('451-9["echo",{"_placeholder":true,"num":0}]', `b${b64}`);
  await sleep(100);
  assert.equal((await p.get()).body, `461-9[{"_placeholder":true,"num":0}]${SEP}b${b64}`);
});

test("a POST of exactly maxPayload bytes is accepted", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const body = `421["echo","${"x".repeat(MAX_PAYLOAD - 14)}"]`;
  assert.equal(Buffer.byteLength(body), MAX_PAYLOAD);
  const res = await p.post(body);
  assert.equal(res.status, 200);
  assert.equal(res.body, "ok");
  await sleep(100);
  assert.deepEqual(await p.poll(), [`431["${"x".repeat(MAX_PAYLOAD - 14)}"]`]);
});

test("a POST over maxPayload → 413; its packets are dropped and the session lives on (as Node)", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const body = `421["echo","${"x".repeat(MAX_PAYLOAD - 13)}"]`;
  assert.equal(Buffer.byteLength(body), MAX_PAYLOAD + 1);
  assert.equal((await p.post(body)).status, 413);
  // much larger too (the server must answer, not just drop the connection)
  assert.equal((await p.post(`422["echo","${"y".repeat(20 * MAX_PAYLOAD)}"]`)).status, 413);
  // multi-byte characters count as bytes, not characters: 500 × "é" = 1000 bytes + framing
  assert.equal((await p.post(`423["echo","${"é".repeat(MAX_PAYLOAD / 2)}"]`)).status, 413);

  await p.send('424["echo","after"]');
  await sleep(100);
  assert.deepEqual(await p.poll(), ['434["after"]']);
});

test("two concurrent GETs: the second → 400, the first → '1' (close), the session is gone; others unaffected", async () => {
  const other = new Polling(server.url);
  await other.connect();
  const p = new Polling(server.url);
  await p.connect();

  const { result: first } = await pendingGet(p);
  const second = await p.get();
  assert.equal(second.status, 400); // Node: empty body
  const firstRes = await first;
  assert.equal(firstRes.status, 200);
  assert.equal(firstRes.body, "1");
  await assertGone(p);
  const post = await p.post('421["echo","x"]');
  assert.equal(post.status, 400);
  assert.equal(post.body, UNKNOWN_SID);

  await other.send('421["echo","other"]');
  assert.deepEqual(await other.poll(), ['431["other"]']);
});

test("a client close packet '1' by POST: 'ok', the pending GET is released with '6' (noop), the session is gone", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const { result: g } = await pendingGet(p);
  const post = await p.post("1");
  assert.equal(post.status, 200);
  assert.equal(post.body, "ok");
  const res = await g;
  assert.equal(res.status, 200);
  assert.equal(res.body, "6");
  await assertGone(p);
});

test("a GET aborted by the client closes the session (Node: 'poll connection closed prematurely')", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const ac = new AbortController();
  const g = p.get({ signal: ac.signal }).catch((e) => e.name);
  await sleep(150);
  ac.abort();
  assert.equal(await g, "AbortError");
  await sleep(150);
  await assertGone(p);
});

test("a POST with Content-Type application/octet-stream → 400 and the session is closed (EIO 4 polling is text only)", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const { result: g } = await pendingGet(p);
  const res = await http(p.url(), {
    method: "POST",
    body: '421["echo","x"]',
    headers: { "content-type": "application/octet-stream" },
  });
  assert.equal(res.status, 400);
  assert.equal((await g).body, "1");
  await assertGone(p);
});

test("malformed Socket.IO packet by POST: 'ok', then the pending GET → '1' and the session is gone", async () => {
  const p = new Polling(server.url);
  await p.connect();
  const { result: g } = await pendingGet(p);
  const post = await p.post('42{"a":1}');
  assert.equal(post.status, 200);
  assert.equal(post.body, "ok");
  assert.equal((await g).body, "1");
  await assertGone(p);
});

test("malformed Socket.IO packet by POST with no GET pending: the next GET carries the close packet", async () => {
  const p = new Polling(server.url);
  await p.connect();
  assert.equal((await p.post("48")).body, "ok");
  await sleep(100);
  const res = await p.get();
  assert.equal(res.status, 200);
  // Node answers "6\x1e1" (a noop it sends to carry the buffered close); "1" alone is the same.
  const packets = res.body.split(SEP);
  assert.equal(packets.at(-1), "1", `GET body ${JSON.stringify(res.body)}`);
  assert.ok(
    packets.slice(0, -1).every((x) => x === "6"),
    `GET body ${JSON.stringify(res.body)}`,
  );
  await assertGone(p);
});
