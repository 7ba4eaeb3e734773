// Payloads pass through confab as they were sent, against `confab --profile
// nickdoc`: through `POST /api/emit` and through a relay (the profile's own
// `typing-start` → `user-typing`), a deep object with its keys out of
// order, integers past 2^64 and `1.50` reach the client byte for byte (read
// from the raw WebSocket text frame), and binary attachments go along with
// a relayed event (socket.io-client sending Buffers).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "./lib.js";
import { Ws, eioUrl, closeAll } from "../raw/lib.js";
import { connected, close, ask, once, bytes } from "../client/helpers.js";

/** Keys out of order at every depth, number text JSON.parse would change. */
const DATA =
  '{"zeta":1.50,"alpha":{"y":12345678901234567890,"b":[3,1,{"d":1e2,"c":-0}],"a":"x"},' +
  '"mid":100000000000000000000000000001,"neg":-0.10}';

let server;
before(async () => {
  server = await startConfab("nickdoc", { CONFAB_IDENTITY__COOKIE: "token" });
});
after(async () => {
  closeAll();
  await server?.stop();
});

/** A raw WebSocket client connected to `/` (with a token in CONNECT's auth when given). */
async function rawClient(token) {
  const ws = new Ws(eioUrl(server.url, { transport: "websocket" }));
  await ws.opened;
  assert.ok((await ws.next()).startsWith("0{"), "open packet");
  ws.send(token ? `40${JSON.stringify({ token })}` : "40");
  const reply = await ws.next();
  assert.ok(reply.startsWith("40{"), `CONNECT reply: ${reply}`);
  ws.socketId = JSON.parse(reply.slice(2)).sid;
  return ws;
}

/** The next text frame that starts with `prefix` (others, if any, pass by). */
async function nextStarting(ws, prefix) {
  for (;;) {
    const frame = await ws.next(5000);
    if (typeof frame === "string" && frame.startsWith(prefix)) return frame;
  }
}

/** Sends `event` with an ack id and resolves with the ack's JSON. */
async function rawAsk(ws, id, event, argText) {
  ws.send(`42${id}["${event}",${argText}]`);
  return JSON.parse((await nextStarting(ws, `43${id}`)).slice(2 + String(id).length));
}

describe("POST /api/emit passes data through as sent", () => {
  test("key order and number text reach the client unchanged", async () => {
    const ws = await rawClient();
    const admin = await server.token("api-admin", { roles: ["admin"] });
    const body = `{"event":"payment-created","sockets":["${ws.socketId}"],"data":${DATA}}`;
    const res = await fetch(`${server.url}/api/emit`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${admin}` },
      body,
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(await nextStarting(ws, "42"), `42["payment-created",${DATA}]`);
    ws.close();
  });
});

describe("a relay passes the client's own JSON and attachments on", () => {
  test("typing-start's picked field arrives byte for byte (the relay's own fields added)", async () => {
    const [alice, bob] = await Promise.all([rawClient(await server.token("alice")), rawClient(await server.token("bob"))]);
    for (const ws of [alice, bob]) assert.equal((await rawAsk(ws, 1, "join-chat-room", '"c1"'))[0].success, true);
    const ack = await rawAsk(alice, 2, "typing-start", `{"chatId":"c1","userName":${DATA},"userId":"alice"}`);
    assert.deepEqual(ack, [{ success: true }]);
    assert.equal(await nextStarting(bob, "42"), `42["user-typing",{"userName":${DATA},"userId":"alice","isTyping":true}]`);
    alice.close();
    bob.close();
  });

  test("Buffers in a relayed event arrive as Buffers (socket.io-client both ends)", async () => {
    const user = async (id) => {
      const socket = io(server.url, {
        withCredentials: true,
        transports: ["websocket"],
        extraHeaders: { cookie: `token=${await server.token(id)}` },
        forceNew: true,
        reconnection: false,
        timeout: 5000,
      });
      await connected(socket);
      return socket;
    };
    const [alice, bob] = await Promise.all([user("alice"), user("bob")]);
    try {
      await Promise.all([ask(alice, "join-chat-room", "c2"), ask(bob, "join-chat-room", "c2")]);
      const arrives = once(bob, "user-typing");
      const userName = { avatar: Buffer.from([1, 2, 3]), parts: [Buffer.from("xy"), "text"], name: "Alice" };
      // Two attachments: the first (a skipped field's) is not passed on.
      const reply = await ask(alice, "typing-start", { skipped: Buffer.from([9]), chatId: "c2", userId: "alice", userName });
      assert.deepEqual(reply, { success: true });
      const [body] = await arrives;
      assert.equal(body.userId, "alice");
      assert.ok(Buffer.isBuffer(body.userName.avatar) || body.userName.avatar instanceof ArrayBuffer, "avatar is binary");
      assert.deepEqual(bytes(body.userName.avatar), [1, 2, 3]);
      assert.deepEqual(bytes(body.userName.parts[0]), [...Buffer.from("xy")]);
      assert.equal(body.userName.parts[1], "text");
      assert.equal(body.userName.name, "Alice");
      assert.equal(body.skipped, undefined);
    } finally {
      close(alice, bob);
    }
  });

  test("a placeholder naming an attachment that was not sent is refused, and nothing is relayed", async () => {
    const [alice, bob] = await Promise.all([rawClient(await server.token("alice")), rawClient(await server.token("bob"))]);
    for (const ws of [alice, bob]) assert.equal((await rawAsk(ws, 1, "join-chat-room", '"c3"'))[0].success, true);
    // A BINARY_EVENT with one attachment whose placeholder says num 1.
    alice.send('451-3["typing-start",{"chatId":"c3","userName":{"_placeholder":true,"num":1}}]');
    alice.send(Buffer.from([7]));
    const [answer] = JSON.parse((await nextStarting(alice, "433")).slice(3));
    assert.equal(answer.success, false);
    assert.match(answer.message, /attachment 1/);
    assert.ok(await bob.silentFor(300), "bob got nothing");
    alice.close();
    bob.close();
  });
});
