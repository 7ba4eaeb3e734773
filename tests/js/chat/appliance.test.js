// The chat service out of the box: the `confab` appliance (here with the
// SEAM profile) runs seed 003's events on its main namespace, for users
// known by their tokens rather than by a development `query.userId`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "../seeds/lib.js";
import { connected, connectError, close, ask, once } from "../client/helpers.js";
import { http, upload, PNG, ELF } from "./helpers.js";

let server;
before(async () => {
  server = await startConfab("seam");
});
after(async () => {
  await server?.stop();
});

const user = async (id, name) => {
  const socket = io(server.url, { auth: { token: await server.token(id, { name }) }, forceNew: true, reconnection: false });
  await connected(socket);
  return socket;
};

test("two users chat through the appliance, identified by their tokens", async () => {
  const alice = await user("1", "Alice");
  const bob = await user("2", "Bob");
  try {
    const joined = await ask(alice, "joinRoom", { otherUserId: "2" });
    assert.ok(joined.chatHeaderId, JSON.stringify(joined));
    const chatHeaderId = joined.chatHeaderId;
    await ask(bob, "joinRoom", { chatHeaderId });
    const delivered = once(bob, "message");
    const sent = await ask(alice, "createMessage", { message: "hello", chatHeaderId, messageType: 0 });
    assert.equal(sent.error, undefined, JSON.stringify(sent));
    const [message] = await delivered;
    assert.equal(JSON.stringify(message).includes("hello"), true, JSON.stringify(message));
    const forged = await ask(alice, "findAllChatHeaders", { UserId: "2" });
    assert.ok(forged.error, `a forged UserId must be refused: ${JSON.stringify(forged)}`);
  } finally {
    close(alice);
    close(bob);
  }
});

test("without a token there is no chat: the CONNECT is refused", async () => {
  const anonymous = io(server.url, { query: { userId: "1" }, forceNew: true, reconnection: false });
  try {
    assert.equal((await connectError(anonymous)).message, "Token requerido para conectarse");
  } finally {
    close(anonymous);
  }
});

test("uploads through the appliance: a PNG becomes WebP for its uploader; an executable named .jpg is refused", async () => {
  const token = await server.token("1", { name: "Alice" });
  const res = await upload(server.url, undefined, { data: PNG, name: "cat.png", messageType: 2, token });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json.success, true);
  assert.match(res.json.data, /\.webp$/);
  const served = await http(`${server.url}${res.json.data}`, { token });
  assert.equal(served.status, 200);
  const stranger = await http(`${server.url}${res.json.data}`, { token: await server.token("9") });
  assert.equal(stranger.status, 403);
  const elf = await upload(server.url, undefined, { data: ELF, name: "cat.jpg", messageType: 2, token });
  assert.equal(elf.json.success, false, JSON.stringify(elf.json));
});
