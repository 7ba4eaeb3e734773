// The seed's ChatClient, two users at once: join by otherUserId and by
// chatHeaderId, send, page, edit, delete one and many, read, type.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, joinWithUser, ask, closeAll, until, sleep, QUIET_MS } from "./helpers.js";

let server;
before(async () => {
  server = await startChat({ env: { CHAT_TYPING_TTL_MS: "400" } });
});
after(() => server.stop());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Two users with a chat between them, both viewing it. */
async function pair() {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  const { response, error } = await joinWithUser(alice.chat, bob.userId);
  assert.equal(error, null);
  const chatId = response.chatHeaderId;
  bob.chat.joinRoom(chatId);
  await alice.rec.next("onMemberJoin");
  return { alice, bob, chatId };
}

test("joinRoom with otherUserId gets or creates the chat and answers the documented shape", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const { response } = await joinWithUser(alice.chat, bob.userId);
    assert.equal(typeof response.chatHeaderId, "number");
    assert.equal(response.chatHeader.id, response.chatHeaderId);
    assert.equal(response.joined, true);
    assert.equal(response.friendshipStatus, null);
    assert.equal(response.currentMember.userId, alice.userId);
    assert.deepEqual(response.members.map((m) => m.userId).sort(), [alice.userId, bob.userId].sort());
    assert.deepEqual(response.roomMembers, response.members);
    const me = response.members.find((m) => m.userId === alice.userId);
    assert.equal(me.isViewing, true);
    assert.equal(response.members.find((m) => m.userId === bob.userId).isOnline, true);
    assert.match(response.chatHeader.creationTime, ISO);

    // The same pair from the other side: the same chat, not a new one.
    const again = await ask(bob.socket, "joinRoom", { otherUserId: alice.userId });
    assert.equal(again.chatHeaderId, response.chatHeaderId);
    const joined = await alice.rec.next("onMemberJoin", 3000, 0);
    assert.equal(joined.userId, bob.userId);
    assert.equal(joined.chatHeaderId, response.chatHeaderId);
  } finally {
    closeAll(alice, bob);
  }
});

test("a message reaches both members as {chatHeaderId, chatMessage}, and pages newest first", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    // The seed's sendMessage: messageType defaults to 1, caption to ''.
    alice.chat.sendMessage(chatId, "Hello, world!");
    const got = await bob.rec.next("message");
    assert.equal(got.chatHeaderId, chatId);
    const m = got.chatMessage;
    assert.equal(m.message, "Hello, world!");
    assert.equal(m.messageType, 1);
    assert.equal(m.userId, alice.userId);
    assert.equal(m.chatHeaderId, chatId);
    assert.match(m.creationTime, ISO);
    // The sender's own sockets see it too (their chat list updates).
    assert.equal((await alice.rec.next("message", 3000, 0)).chatMessage.id, m.id);

    const acked = await ask(alice.socket, "createMessage", { message: "second", chatHeaderId: chatId, messageType: 0 });
    assert.equal(acked.chatHeaderId, chatId);
    assert.equal(acked.chatMessage.messageType, 0);
    assert.ok(acked.chatMessage.id > m.id);
    // A media message may name a file elsewhere; one under /uploads/ must
    // be an upload its sender may read (tests/js/chat/uploads.test.js).
    const image = await ask(bob.socket, "createMessage", {
      message: "https://cdn.example.com/abc123.webp",
      chatHeaderId: String(chatId),
      messageType: 2,
      caption: "Check out this image!",
    });
    assert.equal(image.chatMessage.caption, "Check out this image!");

    const page = await ask(alice.socket, "findAllMessages", { chatHeaderId: String(chatId), skipCount: 0, maxResultCount: 50 });
    assert.equal(page.totalCount, 3);
    assert.deepEqual(page.items.map((i) => i.message), ["https://cdn.example.com/abc123.webp", "second", "Hello, world!"]);
    const older = await ask(alice.socket, "findAllMessages", { chatHeaderId: chatId, LastMessageId: image.chatMessage.id, maxResultCount: 1 });
    assert.deepEqual(older.items.map((i) => i.message), ["second"]);
    const skipped = await ask(alice.socket, "findAllMessages", { chatHeaderId: chatId, skipCount: 2 });
    assert.deepEqual(skipped.items.map((i) => i.message), ["Hello, world!"]);
  } finally {
    closeAll(alice, bob);
  }
});

test("updateMessage and removeMessage (id, and ids with one event each)", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    const ids = [];
    for (const text of ["one", "two", "three", "four"]) {
      ids.push((await ask(alice.socket, "createMessage", { message: text, chatHeaderId: chatId, messageType: 0 })).chatMessage.id);
    }
    alice.chat.updateMessage(ids[0], chatId, "uno", "a caption");
    const updated = await bob.rec.next("messageUpdated");
    assert.equal(updated.id, ids[0]);
    assert.equal(updated.message, "uno");
    assert.equal(updated.caption, "a caption");
    assert.equal(updated.isEdited, true);
    assert.match(updated.lastModificationTime, ISO);

    alice.chat.deleteMessage(ids[1], chatId);
    assert.equal(await bob.rec.next("messageDeleted"), ids[1]);

    // ids wins over id; one messageDeleted per id.
    const reply = await ask(alice.socket, "removeMessage", { id: ids[0], ids: [ids[2], ids[3]], chatHeaderId: chatId });
    assert.deepEqual(reply, { chatHeaderId: chatId, ids: [ids[2], ids[3]] });
    const deleted = await until(bob.rec, "messageDeleted", 3);
    assert.deepEqual(deleted.slice(1), [ids[2], ids[3]]);

    const page = await ask(bob.socket, "findAllMessages", { chatHeaderId: chatId });
    assert.deepEqual(page.items.map((i) => i.message), ["uno"]);
    assert.equal(page.totalCount, 1);
  } finally {
    closeAll(alice, bob);
  }
});

test("readMessage zeroes the reader's unread count and tells the chat", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    for (let i = 0; i < 3; i++) {
      await ask(alice.socket, "createMessage", { message: `m${i}`, chatHeaderId: chatId, messageType: 0 });
    }
    const before = await ask(bob.socket, "getMyChats", {});
    assert.equal(before.find((c) => c.chatHeaderId === chatId).unreadCount, 3);
    bob.chat.markAsRead(chatId);
    assert.equal(await alice.rec.next("messageHasBeenRead"), chatId);
    const after = await ask(bob.socket, "getMyChats", {});
    assert.equal(after.find((c) => c.chatHeaderId === chatId).unreadCount, 0);
    const reply = await ask(bob.socket, "readMessage", { chatHeaderId: chatId });
    assert.equal(reply.unreadCount, 0);
    assert.equal(typeof reply.lastReadMessageId, "number");
  } finally {
    closeAll(alice, bob);
  }
});

test("roomTyping reaches the others viewing, not the typist, and expires by itself", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    alice.chat.setTyping(chatId, true, "Alice");
    const on = await bob.rec.next("typing");
    assert.deepEqual({ name: on.name, isTyping: on.isTyping, chatHeaderId: on.chatHeaderId }, { name: "Alice", isTyping: true, chatHeaderId: chatId });
    alice.chat.setTyping(chatId, false, "Alice");
    assert.equal((await bob.rec.next("typing")).isTyping, false);

    // A client that vanishes mid-sentence: the flag ends after its TTL.
    alice.chat.setTyping(chatId, true, "Alice");
    await bob.rec.next("typing");
    const off = await bob.rec.next("typing", 2000);
    assert.equal(off.isTyping, false);
    assert.equal(off.name, "Alice");
    await sleep(QUIET_MS);
    assert.equal(alice.rec.typing.length, 0);
  } finally {
    closeAll(alice, bob);
  }
});

test("leaveRoom stops typing reaching the socket; messages still reach its user room", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    const left = await ask(bob.socket, "leaveRoom", { chatHeaderId: chatId, accessToken: "dev-token" });
    assert.deepEqual(left, { chatHeaderId: chatId, left: true });
    alice.chat.setTyping(chatId, true, "Alice");
    await sleep(QUIET_MS);
    assert.equal(bob.rec.typing.length, 0);
    alice.chat.sendMessage(chatId, "while away", 0);
    assert.equal((await bob.rec.next("message")).chatMessage.message, "while away");
  } finally {
    closeAll(alice, bob);
  }
});

test("each of 20 messages in flight gets its ack and its event on the sender's socket, for the same message", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    const texts = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
    const acks = await Promise.all(
      texts.map((text) => ask(alice.socket, "createMessage", { chatHeaderId: chatId, message: text, messageType: 0 })),
    );
    assert.deepEqual(acks.map((a) => a.chatMessage.message), texts);
    assert.ok(acks.every((a) => a.chatHeaderId === chatId && a.chatMessage.userId === alice.userId));
    // Usually in the same write as its ack, just before it; an ack may
    // come first when a later write's flush is seen before an earlier's.
    const events = await until(alice.rec, "message", texts.length);
    const byId = new Map(events.map((e) => [e.chatMessage.id, e.chatMessage]));
    for (const ack of acks) assert.deepEqual(byId.get(ack.chatMessage.id), ack.chatMessage);
  } finally {
    closeAll(alice, bob);
  }
});

test("messages sent in a row without acks arrive, and are stored, in the order sent", async () => {
  const { alice, bob, chatId } = await pair();
  try {
    const sent = Array.from({ length: 30 }, (_, i) => `in order ${i}`);
    for (const text of sent) alice.chat.sendMessage(chatId, text, 0);
    const got = await until(bob.rec, "message", sent.length);
    assert.deepEqual(got.map((m) => m.chatMessage.message), sent);
    const ids = got.map((m) => m.chatMessage.id);
    assert.deepEqual([...ids].sort((a, b) => a - b), ids);
    const page = await ask(bob.socket, "findAllMessages", { chatHeaderId: chatId, maxResultCount: 30 });
    assert.deepEqual(page.items.map((m) => m.message).reverse(), sent);
  } finally {
    closeAll(alice, bob);
  }
});
