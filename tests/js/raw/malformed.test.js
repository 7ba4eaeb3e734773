// Malformed input closes that one connection and nothing else: each case opens its own
// WebSocket session, sends one bad packet and expects a clean close without any answer,
// while a healthy session on the same server keeps answering acks.
// Expected behaviour: the official Node server (engine.io 6.6, socket.io-parser 4.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverKind } from "../harness.js";
import { connectWs, openWs, CLEAN_CLOSE, testbed } from "./lib.js";

const MAX_PAYLOAD = 1000;
let healthy;
let ackId = 100;
const server = testbed({ CONFAB_MAX_PAYLOAD: String(MAX_PAYLOAD) }, async (url) => {
  healthy = await connectWs(url);
});

/** The healthy session still gets its ack, and a new session can still connect. */
async function assertOthersUnaffected() {
  const id = ackId++;
  healthy.send(`42${id}["echo","healthy"]`);
  assert.equal(await healthy.next(), `43${id}["healthy"]`);
  assert.equal(healthy.closeInfo, null);
  const fresh = await connectWs(server.url);
  fresh.send('421["echo","fresh"]');
  assert.equal(await fresh.next(), '431["fresh"]');
  fresh.close();
}

/** Sends `frames` on a freshly connected session; expects a clean close and no frame back. */
async function assertClosedBy(frames, { connect = true } = {}) {
  const ws = connect ? await connectWs(server.url) : await openWs(server.url);
  for (const f of [].concat(frames)) ws.send(f);
  const { code } = await ws.waitClose(3000);
  assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
  assert.deepEqual(ws.queue.map(String), [], "no frame before the close");
  await assertOthersUnaffected();
}

const cases = [
  // Socket.IO level
  ["unknown packet type 8", "48"],
  ["unknown packet type 9", '49["echo"]'],
  ["invalid JSON", '42["echo",{]'],
  ["ack id that is not a number", '42abc["echo"]'],
  ["EVENT payload that is an object", '42{"a":1}'],
  ["EVENT payload that is a string", '42"echo"'],
  ["EVENT with an empty array", "42[]"],
  ["EVENT name null", "42[null]"],
  ["EVENT name an object", '42[{},"x"]'],
  ["EVENT name a boolean", "42[true]"],
  ["EVENT with a reserved name (disconnect)", '42["disconnect"]'],
  ["EVENT with a reserved name (connect)", '42["connect"]'],
  ["ACK with an object payload", '431{"a":1}'],
  ["ACK with a string payload", '431"x"'],
  ["CONNECT with invalid JSON", "40{"],
  ["CONNECT with a non-object payload", '40"x"'],
  ["a second CONNECT to a namespace already joined", "40"],
  ["EVENT for a namespace not joined", '42/nope,["echo","x"]'],
  ["CONNECT_ERROR from a client", '44{"message":"x"}'],
  ["binary attachment nobody announced", Buffer.from([1, 2, 3])],
  ["text packet while attachments are awaited", ['451-["echo",{"_placeholder":true,"num":0}]', '42["echo","x"]']],
  ["BINARY_EVENT with a bad attachment count", '45x-["echo",{"_placeholder":true,"num":0}]'],
  // Engine.IO level
  ["unknown Engine.IO packet type", "9hello"],
  ["empty Engine.IO packet", ""],
  ["ping from the client (EIO 4: the server pings)", "2"],
  ["base64 binary message in a text frame", "bAQID"],
];

for (const [name, frames] of cases) {
  test(`websocket: ${name} → that connection closed, others unaffected`, async () => {
    await assertClosedBy(frames);
  });
}

test(`websocket: an ack id above i64::MAX: ${serverKind === "confab" ? "closed like any other invalid id" : "Node acks the id rounded to a double"}`, async () => {
  const frame = '429223372036854775808["echo","x"]';
  if (serverKind === "confab") {
    // confab's deliberate difference: an ack no client can match is never sent
    await assertClosedBy(frame);
  } else {
    const ws = await connectWs(server.url);
    ws.send(frame);
    assert.equal(await ws.next(), '439223372036854776000["x"]');
    ws.close();
  }
});

test("websocket: garbage before any CONNECT closes the connection too", async () => {
  await assertClosedBy('42["echo","x"]', { connect: false });
});

test("websocket: a message of exactly maxPayload bytes is accepted (text and binary)", async () => {
  const ws = await connectWs(server.url);
  const text = `421["echo","${"x".repeat(MAX_PAYLOAD - 14)}"]`;
  assert.equal(Buffer.byteLength(text), MAX_PAYLOAD);
  ws.send(text);
  assert.equal(await ws.next(), `431["${"x".repeat(MAX_PAYLOAD - 14)}"]`);

  const bytes = Buffer.alloc(MAX_PAYLOAD, 7);
  ws.send('451-2["echo",{"_placeholder":true,"num":0}]');
  ws.send(bytes);
  assert.equal(await ws.next(), '461-2[{"_placeholder":true,"num":0}]');
  assert.deepEqual(await ws.next(), bytes);
  ws.close();
});

test("websocket: a text message over maxPayload → closed with 1009 (message too big), others unaffected", async () => {
  const ws = await connectWs(server.url);
  const text = `421["echo","${"x".repeat(MAX_PAYLOAD - 13)}"]`;
  assert.equal(Buffer.byteLength(text), MAX_PAYLOAD + 1);
  ws.send(text);
  const { code } = await ws.waitClose(3000);
  assert.equal(code, 1009);
  assert.deepEqual(ws.queue, []);
  await assertOthersUnaffected();
});

test("websocket: a binary message over maxPayload → closed with 1009, others unaffected", async () => {
  const ws = await connectWs(server.url);
  ws.send('451-2["echo",{"_placeholder":true,"num":0}]');
  ws.send(Buffer.alloc(MAX_PAYLOAD + 1, 7));
  const { code } = await ws.waitClose(3000);
  assert.equal(code, 1009);
  assert.deepEqual(ws.queue, []);
  await assertOthersUnaffected();
});

// What Node accepts although it looks odd: these must NOT close the connection.
const tolerated = [
  // socket.io-parser allows numbers as event names; nobody handles event 1
  ["EVENT named by a number", '42[1,"x"]'],
  // an ACK nobody is waiting for is ignored
  ["ACK for an unknown id", '4399["x"]'],
  // engine packets with no meaning from a client on an open WebSocket are ignored
  ["pong without a ping", "3"],
  ["noop", "6"],
];
for (const [name, frame] of tolerated) {
  test(`websocket: ${name} is ignored, the connection stays open`, async () => {
    const ws = await connectWs(server.url);
    ws.send(frame);
    ws.send('427["echo","after"]');
    assert.equal(await ws.next(), '437["after"]');
    assert.equal(ws.closeInfo, null);
    ws.close();
  });
}
