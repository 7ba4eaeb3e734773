// Socket.IO v5 packets at the byte level over a raw WebSocket: CONNECT / CONNECT_ERROR,
// acks, binary attachments, DISCONNECT both ways, events nobody handles.
// Expected bytes: the official Node server (socket.io 4.8) unless stated otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverKind } from "../harness.js";
import { openWs, connectWs, Polling, sleep, echoAck, CLEAN_CLOSE, testbed } from "./lib.js";

const server = testbed();

const QUIET_MS = 400;

test("CONNECT `40` → exactly 40{\"sid\":\"<socket id>\"}, a socket id that is not the engine sid", async () => {
  const ws = await openWs(server.url);
  ws.send("40");
  const reply = await ws.next();
  const m = /^40\{"sid":"([A-Za-z0-9_-]+)"\}$/.exec(reply);
  assert.ok(m, reply);
  assert.notEqual(m[1], ws.sid);
  ws.close();
});

test("CONNECT with an auth payload: the server sees it", async () => {
  const ws = await openWs(server.url);
  ws.send('40{"token":"abc","n":1}');
  const connected = await ws.next();
  assert.match(connected, /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
  ws.send('421["whoami"]');
  const reply = await ws.next();
  assert.ok(reply.startsWith("431["), reply);
  const [who] = JSON.parse(reply.slice(3));
  assert.equal(who.id, JSON.parse(connected.slice(2)).sid);
  assert.deepEqual(who.auth, { token: "abc", n: 1 });
  assert.equal(who.nsp, "/");
  ws.close();
});

test("unknown namespace: `40/nope,` → exactly 44/nope,{\"message\":\"Invalid namespace\"}; the connection stays usable", async () => {
  const ws = await openWs(server.url);
  ws.send("40/nope,");
  assert.equal(await ws.next(), '44/nope,{"message":"Invalid namespace"}');
  ws.send('40/nope,{"token":"x"}');
  assert.equal(await ws.next(), '44/nope,{"message":"Invalid namespace"}');
  ws.send("40");
  assert.match(await ws.next(), /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
  assert.equal(await echoAck(ws, 1, "x"), '431["x"]');
  ws.close();
});

test("/admin: refused by middleware → 44/admin,{message,data}; with the token → 40/admin,{sid}; acks carry the namespace", async () => {
  const ws = await openWs(server.url);
  ws.send("40/admin,");
  assert.equal(await ws.next(), '44/admin,{"message":"unauthorized","data":{"reason":"bad token"}}');
  ws.send('40/admin,{"token":"let-me-in"}');
  assert.match(await ws.next(), /^40\/admin,\{"sid":"[A-Za-z0-9_-]+"\}$/);
  ws.send('42/admin,5["echo","a",2]');
  assert.equal(await ws.next(), '43/admin,5["a",2]');
  ws.send('42/admin,["echo","b"]');
  assert.equal(await ws.next(), '42/admin,["echo","b"]');
  ws.close();
});

test("acks: 421[\"echo\",\"x\"] → 431[\"x\"]; several args, big ids, no ack → an event back", async () => {
  const ws = await connectWs(server.url);
  assert.equal(await echoAck(ws, 1, "x"), '431["x"]');
  ws.send('4217["echo",1,"two",{"three":[3]},null,true,-1.5]');
  assert.equal(await ws.next(), '4317[1,"two",{"three":[3]},null,true,-1.5]');
  ws.send('42123456789["echo","big"]');
  assert.equal(await ws.next(), '43123456789["big"]');
  ws.send('420["echo","zero"]');
  assert.equal(await ws.next(), '430["zero"]');
  ws.send('42["echo","no-ack"]');
  assert.equal(await ws.next(), '42["echo","no-ack"]');
  ws.send('42["echo"]');
  assert.equal(await ws.next(), '42["echo"]');
  ws.close();
});

test("UTF-8 and JSON escapes round-trip byte for byte over WebSocket", async () => {
  const ws = await connectWs(server.url);
  const text = "héllo ✓ 😀 \u0000 \\ \" \u2028 \t";
  ws.send(`421${JSON.stringify(["echo", text])}`);
  assert.equal(await ws.next(), `431${JSON.stringify([text])}`);
  ws.close();
});

test("binary: 451-[\"echo\",{placeholder}] + a binary frame → the same header and the same bytes back", async () => {
  const ws = await connectWs(server.url);
  const bytes = Buffer.from([0, 1, 2, 0xfb, 0xff, 0x80]);
  const header = '451-["echo",{"_placeholder":true,"num":0}]';
  ws.send(header);
  ws.send(bytes);
  assert.equal(await ws.next(), header);
  const back = await ws.next();
  assert.ok(Buffer.isBuffer(back), "attachment must come as a binary frame");
  assert.deepEqual(back, bytes);
  ws.close();
});

test("binary with an ack id: 451-7[...] → 461-7[{placeholder}] + the bytes", async () => {
  const ws = await connectWs(server.url);
  const bytes = Buffer.from("binary ack ✓");
  ws.send('451-7["echo",{"_placeholder":true,"num":0}]');
  ws.send(bytes);
  assert.equal(await ws.next(), '461-7[{"_placeholder":true,"num":0}]');
  assert.deepEqual(await ws.next(), bytes);
  ws.close();
});

test("binary: two attachments mixed with plain args keep their order and numbers", async () => {
  const ws = await connectWs(server.url);
  const a = Buffer.from([1]);
  const b = Buffer.from([2, 3]);
  ws.send('452-8["echo",{"_placeholder":true,"num":0},"s",{"k":{"_placeholder":true,"num":1}}]');
  ws.send(a);
  ws.send(b);
  assert.equal(await ws.next(), '462-8[{"_placeholder":true,"num":0},"s",{"k":{"_placeholder":true,"num":1}}]');
  assert.deepEqual(await ws.next(), a);
  assert.deepEqual(await ws.next(), b);
  ws.close();
});

test("binary in a namespace: 451-/admin,3[...] → 461-/admin,3[...]", async () => {
  const ws = await openWs(server.url);
  ws.send('40/admin,{"token":"let-me-in"}');
  assert.match(await ws.next(), /^40\/admin,/);
  const bytes = Buffer.from([9, 8, 7]);
  ws.send('451-/admin,3["echo",{"_placeholder":true,"num":0}]');
  ws.send(bytes);
  assert.equal(await ws.next(), '461-/admin,3[{"_placeholder":true,"num":0}]');
  assert.deepEqual(await ws.next(), bytes);
  ws.close();
});

test("empty binary attachment round-trips", async () => {
  const ws = await connectWs(server.url);
  ws.send('451-4["echo",{"_placeholder":true,"num":0}]');
  ws.send(Buffer.alloc(0));
  assert.equal(await ws.next(), '461-4[{"_placeholder":true,"num":0}]');
  assert.deepEqual(await ws.next(), Buffer.alloc(0));
  ws.close();
});

test(`an event nobody handles, with an ack id: ${serverKind === "confab" ? "confab acks an error" : "Node stays silent"}`, async () => {
  const ws = await connectWs(server.url);
  ws.send('421["nohandler","x"]');
  if (serverKind === "confab") {
    // confab's deliberate difference: a clear error instead of an ack that never comes
    assert.equal(await ws.next(), '431[{"error":"unknown event: nohandler"}]');
  } else {
    assert.ok(await ws.silentFor(QUIET_MS), `unexpected frame ${JSON.stringify(ws.queue)}`);
  }
  // without an ack id: silence from both
  ws.send('42["nohandler","x"]');
  assert.ok(await ws.silentFor(QUIET_MS), `unexpected frame ${JSON.stringify(ws.queue)}`);
  assert.equal(await echoAck(ws, 2), '432["still-alive"]');
  ws.close();
});

test("client DISCONNECT `41`: nothing comes back, the WebSocket stays open, `40` connects again with a new id", async () => {
  const ws = await connectWs(server.url);
  const first = ws.socketId;
  ws.send("41");
  assert.ok(await ws.silentFor(QUIET_MS), `unexpected frame ${JSON.stringify(ws.queue)}`);
  assert.equal(ws.closeInfo, null);
  ws.send("40");
  const m = /^40\{"sid":"([A-Za-z0-9_-]+)"\}$/.exec(await ws.next());
  assert.ok(m);
  assert.notEqual(m[1], first);
  assert.equal(await echoAck(ws, 1), '431["still-alive"]');
  ws.close();
});

test("client DISCONNECT of one namespace leaves the other connected", async () => {
  const ws = await connectWs(server.url);
  ws.send('40/admin,{"token":"let-me-in"}');
  assert.match(await ws.next(), /^40\/admin,/);
  ws.send("41");
  ws.send('42/admin,1["echo","admin"]');
  assert.equal(await ws.next(), '43/admin,1["admin"]');
  ws.close();
});

test("server-disconnect: exactly `41` and the WebSocket stays open", async () => {
  const ws = await connectWs(server.url);
  ws.send('42["server-disconnect"]');
  assert.equal(await ws.next(), "41");
  assert.ok(await ws.silentFor(QUIET_MS), `unexpected frame ${JSON.stringify(ws.queue)}`);
  assert.equal(ws.closeInfo, null);
  ws.close();
});

test("server-close over WebSocket: closed cleanly without a `41` first", async () => {
  const ws = await connectWs(server.url);
  ws.send('42["server-close"]');
  const { code } = await ws.waitClose(3000);
  assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
  assert.deepEqual(ws.queue, []);
});

test("polling: acks, a namespace refusal and binary in one payload, byte for byte", async () => {
  const p = new Polling(server.url);
  await p.connect();
  await p.send('421["echo","x"]', "40/nope,", '451-2["echo",{"_placeholder":true,"num":0}]', "bAQID");
  await sleep(150);
  const packets = (await p.get()).body.split("\x1e");
  // Node answers the refusal before the events it dispatches on the next tick, so the
  // order across the three answers is not asserted; an attachment follows its header.
  assert.deepEqual(
    [...packets].sort(),
    ['431["x"]', '44/nope,{"message":"Invalid namespace"}', '461-2[{"_placeholder":true,"num":0}]', "bAQID"].sort(),
  );
  assert.equal(packets[packets.indexOf('461-2[{"_placeholder":true,"num":0}]') + 1], "bAQID");
});

/** Polls until `count` packets have come (a payload may carry several). */
async function pollPackets(p, count) {
  const packets = [];
  while (packets.length < count) packets.push(...(await p.poll()));
  return packets;
}

const HELD = [
  '42/admin,1["echo","a"]',
  '42/admin,["echo","b"]',
  '451-/admin,2["echo",{"_placeholder":true,"num":0}]',
  "bAQID",
];

// rust_socketio's connect() returns before the CONNECT answer and emits at once. One POST
// makes the race certain: every event in it arrives while /admin's middleware runs.
test(`events sent before the CONNECT answer: ${serverKind === "confab" ? "confab handles them in order after it" : "Node closes (invalid state)"}`, async () => {
  const p = new Polling(server.url);
  await p.open();
  await p.send('40/admin,{"token":"let-me-in"}', ...HELD);
  if (serverKind === "confab") {
    const packets = await pollPackets(p, 5);
    assert.match(packets[0], /^40\/admin,\{"sid":"[A-Za-z0-9_-]+"\}$/);
    assert.deepEqual(packets.slice(1), [
      '43/admin,1["a"]',
      '42/admin,["echo","b"]',
      '461-/admin,2[{"_placeholder":true,"num":0}]',
      "bAQID",
    ]);
  } else {
    assert.equal((await p.poll()).at(-1), "1");
  }
});

test(`events sent before a refused CONNECT: ${serverKind === "confab" ? "confab drops them, the connection stays usable" : "Node closes"}`, async () => {
  const p = new Polling(server.url);
  await p.open();
  await p.send('40/admin,{"token":"wrong"}', ...HELD);
  if (serverKind === "confab") {
    assert.deepEqual(await p.poll(), ['44/admin,{"message":"unauthorized","data":{"reason":"bad token"}}']);
    await p.send("40", '421["echo","after"]');
    const packets = await pollPackets(p, 2);
    assert.match(packets[0], /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
    assert.equal(packets[1], '431["after"]');
  } else {
    assert.equal((await p.poll()).at(-1), "1");
  }
});

test("more than 16 events before the CONNECT answer → the connection is closed, none handled", async () => {
  const p = new Polling(server.url);
  await p.open();
  const events = Array.from({ length: 17 }, (_, i) => `42/admin,${i + 1}["echo",${i}]`);
  await p.send('40/admin,{"token":"let-me-in"}', ...events);
  const packets = await p.poll();
  assert.equal(packets.at(-1), "1", `GET body ${JSON.stringify(packets)}`);
  assert.ok(
    packets.slice(0, -1).every((x) => x === "6"),
    `GET body ${JSON.stringify(packets)}`,
  );
  assert.equal((await p.get()).status, 400);
});

test("websocket: an emit right after the CONNECT, without waiting for its answer, is acked", async () => {
  const ws = await openWs(server.url);
  ws.send('40/admin,{"token":"let-me-in"}');
  ws.send('42/admin,1["echo","first"]');
  if (serverKind === "confab") {
    assert.match(await ws.next(), /^40\/admin,\{"sid":"[A-Za-z0-9_-]+"\}$/);
    assert.equal(await ws.next(), '43/admin,1["first"]');
  } else {
    const { code } = await ws.waitClose(3000);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
  }
  ws.close();
});
