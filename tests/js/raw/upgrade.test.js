// The polling → WebSocket upgrade at the byte level: 2probe/3probe, the noop that
// releases the pending GET, 5 (upgrade), and what happens to the old transport.
// Expected answers are those of the official Node server (engine.io 6.6).
import { test } from "node:test";
import assert from "node:assert/strict";
import { eioUrl, Polling, Ws, sleep, echoAck, CLEAN_CLOSE, testbed } from "./lib.js";

const server = testbed();

const BAD_REQUEST = JSON.stringify({ code: 3, message: "Bad request" });

/** A connected polling session and a WebSocket opened with its sid (not probed yet). */
async function pollingThenWs() {
  const p = new Polling(server.url);
  await p.connect();
  const ws = new Ws(eioUrl(server.url, { transport: "websocket", sid: p.sid }));
  await ws.opened;
  return { p, ws };
}

test("upgrade: 2probe → 3probe, the pending GET is released with 6, then 5; afterwards everything flows over WS and polling is refused", async () => {
  const p = new Polling(server.url);
  await p.connect();
  await p.send('421["whoami"]');
  await sleep(100);
  const before = JSON.parse((await p.poll())[0].slice(3))[0];

  const pending = p.get();
  pending.catch(() => {});
  await sleep(150);
  const ws = new Ws(eioUrl(server.url, { transport: "websocket", sid: p.sid }));
  await ws.opened;
  // no open packet (or anything else) on the upgrading WebSocket
  assert.ok(await ws.silentFor(200), `unexpected frame ${JSON.stringify(ws.queue)}`);

  ws.send("2probe");
  assert.equal(await ws.next(), "3probe");
  const released = await pending;
  assert.equal(released.status, 200);
  assert.equal(released.body, "6");

  ws.send("5");
  assert.ok(await ws.silentFor(200), `unexpected frame after 5: ${JSON.stringify(ws.queue)}`);

  // acks and server emits now come over the WebSocket
  assert.equal(await echoAck(ws, 2, "ws"), '432["ws"]');
  ws.send('42["echo","pushed"]');
  assert.equal(await ws.next(), '42["echo","pushed"]');
  // the Socket.IO socket is the same one
  ws.send('423["whoami"]');
  const after = await ws.next();
  assert.ok(after.startsWith("433["), after);
  assert.equal(JSON.parse(after.slice(3))[0].id, before.id);

  // the polling transport is gone: GET and POST with the sid → 400 {code:3}
  const get = await p.get();
  assert.equal(get.status, 400);
  assert.equal(get.body, BAD_REQUEST);
  const post = await p.post('424["echo","by-post"]');
  assert.equal(post.status, 400);
  assert.equal(post.body, BAD_REQUEST);
  // ... and the refused POST was not processed; the WebSocket lives on
  assert.equal(await echoAck(ws, 5, "still"), '435["still"]');
  assert.equal(ws.closeInfo, null);
  ws.close();
});

test("between 3probe and 5 packets still flow over polling", async () => {
  const { p, ws } = await pollingThenWs();
  ws.send("2probe");
  assert.equal(await ws.next(), "3probe");
  // a GET that comes after the probe is answered with a noop so the client can pause polling
  assert.equal((await p.get()).body, "6");
  await p.send('421["echo","during"]');
  await sleep(100);
  assert.deepEqual(await p.poll(), ['431["during"]']);
  assert.ok(await ws.silentFor(100), `unexpected frame ${JSON.stringify(ws.queue)}`);
  ws.send("5");
  assert.equal(await echoAck(ws, 2, "after"), '432["after"]');
  ws.close();
});

test("a second WebSocket upgrade for an upgraded session is closed without a frame; the first lives on", async () => {
  const { ws } = await pollingThenWs();
  ws.send("2probe");
  assert.equal(await ws.next(), "3probe");
  ws.send("5");
  assert.equal(await echoAck(ws, 1), '431["still-alive"]');

  const again = new Ws(eioUrl(server.url, { transport: "websocket", sid: ws.url.match(/sid=([^&]+)/)[1] }));
  const opened = await again.opened.then(
    () => true,
    (e) => {
      assert.equal(e.statusCode, 400, String(e));
      return false;
    },
  );
  if (opened) {
    // Node: 101, then a Close frame without status
    const { code } = await again.waitClose(3000);
    assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
    assert.deepEqual(again.queue, []);
  }
  assert.equal(await echoAck(ws, 2), '432["still-alive"]');
  ws.close();
});

test("an upgrading WebSocket that sends anything but the probe is closed; the polling session carries on", async () => {
  const { p, ws } = await pollingThenWs();
  ws.send('421["echo","too-early"]');
  const { code } = await ws.waitClose(3000);
  assert.ok(CLEAN_CLOSE.includes(code), `close code ${code}`);
  assert.deepEqual(ws.queue, []);

  await p.send('422["echo","polling"]');
  await sleep(100);
  // the packet sent on the refused WebSocket was not processed
  assert.deepEqual(await p.poll(), ['432["polling"]']);
});
