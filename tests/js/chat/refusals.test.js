// What bad or hostile requests get: an {error} ack (or an `exception`
// event without an ack), nothing changed, and a server that goes on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startChat, chatClient, joinWithUser, ask, closeAll, randomUUID } from "./helpers.js";
import { connectError, close, once } from "../client/helpers.js";

let server;
before(async () => {
  server = await startChat();
});
after(() => server.stop());

/** Ann and Ben share a chat with one message of each; Eve is outside. */
async function scene() {
  const ann = await chatClient(server.url);
  const ben = await chatClient(server.url);
  const eve = await chatClient(server.url);
  const chatId = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
  const annMsg = (await ask(ann.socket, "createMessage", { message: "ann's", chatHeaderId: chatId, messageType: 0 })).chatMessage.id;
  const benMsg = (await ask(ben.socket, "createMessage", { message: "ben's", chatHeaderId: chatId, messageType: 0 })).chatMessage.id;
  return { ann, ben, eve, chatId, annMsg, benMsg };
}

const texts = async (c, chatHeaderId) =>
  (await ask(c.socket, "findAllMessages", { chatHeaderId })).items.map((m) => m.message);

test("a connection without a user is refused", async () => {
  const socket = io(server.url, { forceNew: true, reconnection: false });
  try {
    const err = await connectError(socket);
    assert.equal(err.message, "userId is required");
  } finally {
    close(socket);
  }
});

test("non-members can neither read, post, join, read-mark, type nor edit", async () => {
  const { ann, ben, eve, chatId, annMsg } = await scene();
  try {
    const notMember = { error: "not a member of this chat" };
    assert.deepEqual(await ask(eve.socket, "findAllMessages", { chatHeaderId: chatId }), notMember);
    assert.deepEqual(await ask(eve.socket, "createMessage", { message: "hi", chatHeaderId: chatId, messageType: 0 }), notMember);
    assert.deepEqual(await ask(eve.socket, "joinRoom", { chatHeaderId: chatId }), notMember);
    assert.deepEqual(await ask(eve.socket, "readMessage", { chatHeaderId: chatId }), notMember);
    assert.deepEqual(await ask(eve.socket, "roomTyping", { chatHeaderId: chatId, isTyping: true, name: "Eve" }), notMember);
    assert.deepEqual(await ask(eve.socket, "updateMessage", { id: annMsg, message: "x", chatHeaderId: chatId }), notMember);
    assert.deepEqual(await ask(eve.socket, "removeMessage", { id: annMsg, chatHeaderId: chatId }), notMember);
    assert.deepEqual((await ask(eve.socket, "findAllChatHeaders", {})).items, []);
    assert.deepEqual(await texts(ann, chatId), ["ben's", "ann's"]);
    assert.equal(eve.rec.message.length, 0);
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("only the sender edits or deletes a message; a mixed batch deletes nothing", async () => {
  const { ann, ben, eve, chatId, annMsg, benMsg } = await scene();
  try {
    const notSender = { error: "only the sender may change a message" };
    assert.deepEqual(await ask(ben.socket, "updateMessage", { id: annMsg, message: "mine now", chatHeaderId: chatId }), notSender);
    assert.deepEqual(await ask(ben.socket, "removeMessage", { id: annMsg, chatHeaderId: chatId }), notSender);
    assert.deepEqual(await ask(ben.socket, "removeMessage", { ids: [benMsg, annMsg], chatHeaderId: chatId }), notSender);
    assert.deepEqual(await texts(ann, chatId), ["ben's", "ann's"]);
    assert.equal(ann.rec.messageDeleted.length + ann.rec.messageUpdated.length, 0);
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("bad ids are refused by name", async () => {
  const { ann, ben, eve, chatId, annMsg } = await scene();
  try {
    const cases = [
      ["findAllMessages", { chatHeaderId: "abc" }, "invalid chatHeaderId"],
      ["findAllMessages", {}, "chatHeaderId is required"],
      ["findAllMessages", { chatHeaderId: 987654 }, "chat not found"],
      ["findAllMessages", { chatHeaderId: chatId, lastMessageId: "x" }, "invalid lastMessageId"],
      ["findAllMessages", { chatHeaderId: chatId, maxResultCount: -5 }, "invalid maxResultCount"],
      ["createMessage", { message: "x", chatHeaderId: -1, messageType: 0 }, "invalid chatHeaderId"],
      ["createMessage", { message: "x", chatHeaderId: 987654, messageType: 0 }, "chat not found"],
      ["updateMessage", { id: 987654, message: "x", chatHeaderId: chatId }, "message not found"],
      ["updateMessage", { id: annMsg, message: "x", chatHeaderId: 987654 }, "chat not found"],
      ["removeMessage", { chatHeaderId: chatId }, "id or ids is required"],
      ["removeMessage", { ids: ["x"], chatHeaderId: chatId }, "invalid ids"],
      ["removeMessage", { ids: [987654], chatHeaderId: chatId }, "message not found"],
      ["joinRoom", {}, "chatHeaderId or otherUserId is required"],
      ["joinRoom", { otherUserId: randomUUID() }, "user not found"],
      ["joinRoom", { otherUserId: ann.userId }, "otherUserId is the caller"],
      ["roomTyping", { chatHeaderId: chatId }, "isTyping is required"],
      ["leaveRoom", { chatHeaderId: "nope" }, "invalid chatHeaderId"],
      ["findAllChatHeaders", { RoomsWithLastMessageIds: [{ ChatHeaderId: "x" }] }, "invalid RoomsWithLastMessageIds"],
    ];
    for (const [event, payload, error] of cases) {
      assert.deepEqual(await ask(ann.socket, event, payload), { error }, `${event} ${JSON.stringify(payload)}`);
    }
    // A message id from another chat is not found in this one.
    const other = (await joinWithUser(ann.chat, eve.userId)).response.chatHeaderId;
    assert.deepEqual(await ask(ann.socket, "updateMessage", { id: annMsg, message: "x", chatHeaderId: other }), { error: "message not found" });
    assert.deepEqual(await ask(ann.socket, "findAllMessages", "not an object"), { error: "payload must be an object" });
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("text is validated: length, emptiness, message type, caption", async () => {
  const { ann, ben, eve, chatId, annMsg } = await scene();
  try {
    const post = (payload) => ask(ann.socket, "createMessage", { chatHeaderId: chatId, messageType: 0, ...payload });
    assert.match((await post({ message: "x".repeat(4001) })).error, /too long/);
    assert.equal((await post({ message: "x".repeat(4000) })).chatMessage.message.length, 4000);
    assert.deepEqual(await post({ message: "   " }), { error: "message is required" });
    assert.deepEqual(await post({ message: 42 }), { error: "message must be a string" });
    assert.deepEqual(await post({ message: "x", messageType: 5 }), { error: "invalid messageType (0 to 4)" });
    assert.deepEqual(await post({ message: "x", messageType: "video" }), { error: "invalid messageType (0 to 4)" });
    assert.match((await post({ message: "x", messageType: 2, caption: "c".repeat(1001) })).error, /caption is too long/);
    assert.match((await ask(ann.socket, "updateMessage", { id: annMsg, message: "y".repeat(4001), chatHeaderId: chatId })).error, /too long/);
    assert.equal((await texts(ben, chatId)).length, 3);
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("a payload userId other than the connection's is refused, and nothing happens", async () => {
  const { ann, ben, eve, chatId } = await scene();
  try {
    const forged = { error: "userId does not match the connection" };
    assert.deepEqual(await ask(eve.socket, "createMessage", { message: "as ann", chatHeaderId: chatId, messageType: 0, userId: ann.userId }), forged);
    assert.deepEqual(await ask(eve.socket, "findAllChatHeaders", { UserId: ann.userId }), forged);
    assert.deepEqual(await ask(eve.socket, "joinRoom", { userId: ann.userId, chatHeaderId: chatId }), forged);
    assert.deepEqual(await ask(eve.socket, "getMyChats", { UserId: ann.userId }), forged);
    assert.deepEqual(await ask(ben.socket, "createMessage", { message: "as ann", chatHeaderId: chatId, messageType: 0, UserId: ann.userId }), forged);
    assert.deepEqual(await texts(ann, chatId), ["ben's", "ann's"]);
    // The connection's own id is fine, as the seed's clients send it.
    assert.equal((await ask(ben.socket, "findAllChatHeaders", { UserId: ben.userId })).totalCount, 1);
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("without an ack a refusal comes back as an exception event", async () => {
  const { ann, ben, eve, chatId } = await scene();
  try {
    const exception = once(eve.socket, "exception");
    eve.chat.sendMessage(chatId, "let me in", 0);
    const [body] = await exception;
    assert.deepEqual(body, { status: "error", message: "not a member of this chat", event: "createMessage" });
    // The server goes on serving everyone else. (Ben's own "ben's" may
    // still be on its way: an ack is not ordered with a room broadcast.)
    ann.chat.sendMessage(chatId, "still here", 0);
    let next;
    do next = await ben.rec.next("message");
    while (next.chatMessage.message === "ben's");
    assert.equal(next.chatMessage.message, "still here");
  } finally {
    closeAll(ann, ben, eve);
  }
});
