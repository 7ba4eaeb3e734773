// The keys of the chat contract's answers and events, in the order the
// README (and the seed, where it shows one) lists them: a parsed object's
// keys keep the order of the JSON text.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, ask, closeAll } from "./helpers.js";

let server;
before(async () => {
  server = await startChat();
});
after(() => server.stop());

const MESSAGE = [
  "id",
  "chatHeaderId",
  "userId",
  "userName",
  "userAvatar",
  "message",
  "messageType",
  "caption",
  "creationTime",
  "lastModificationTime",
  "isEdited",
];
const MEMBER = ["userId", "name", "avatar", "isOnline", "isViewing"];
const HEADER = [
  "id",
  "chatHeaderId",
  "type",
  "isGroup",
  "name",
  "members",
  "creationTime",
  "lastMessage",
  "lastMessageTime",
  "unreadCount",
  "friendshipStatus",
];

const keys = (object) => Object.keys(object);

test("messages, members and chat headers keep the documented key order", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const joined = await ask(alice.socket, "joinRoom", { otherUserId: bob.userId });
    assert.deepEqual(keys(joined), [
      "chatHeaderId",
      "chatHeader",
      "joined",
      "roomMembers",
      "currentMember",
      "members",
      "friendshipStatus",
    ]);
    assert.deepEqual(keys(joined.chatHeader), HEADER);
    assert.deepEqual(keys(joined.currentMember), MEMBER);
    const chatId = joined.chatHeaderId;
    await ask(bob.socket, "joinRoom", { chatHeaderId: chatId });

    const event = bob.rec.next("message");
    const sent = await ask(alice.socket, "createMessage", { message: "hi", chatHeaderId: chatId, messageType: 0 });
    assert.deepEqual(keys(sent), ["chatHeaderId", "chatMessage"]);
    assert.deepEqual(keys(sent.chatMessage), MESSAGE);
    const got = await event;
    assert.deepEqual(keys(got), ["chatHeaderId", "chatMessage"]);
    assert.deepEqual(keys(got.chatMessage), MESSAGE);

    const page = await ask(bob.socket, "findAllMessages", { chatHeaderId: chatId });
    assert.deepEqual(keys(page), ["totalCount", "items"]);
    assert.deepEqual(keys(page.items[0]), MESSAGE);

    const headers = await ask(bob.socket, "findAllChatHeaders", {
      RoomsWithLastMessageIds: [{ ChatHeaderId: chatId, LastMessageId: 0 }],
    });
    assert.deepEqual(keys(headers.items[0]), [...HEADER, "newMessagesCount", "newMessages"]);
    assert.deepEqual(keys(headers.items[0].lastMessage), MESSAGE);
    assert.deepEqual(keys(headers.items[0].members[0]), MEMBER);

    const chats = await ask(bob.socket, "getMyChats", {});
    assert.deepEqual(keys(chats[0]), [
      "chatHeaderId",
      "userId",
      "userName",
      "userAvatar",
      "lastMessage",
      "lastMessageTime",
      "creationTime",
      "isOnline",
      "unreadCount",
      "friendshipStatus",
    ]);
  } finally {
    closeAll(alice, bob);
  }
});

test("friendships, reads and refusals keep the documented key order", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const asked = await ask(alice.socket, "requestFriendship", { otherUserId: bob.userId });
    assert.deepEqual(keys(asked), ["userId", "friendshipStatus", "by", "updatedAt"]);
    await ask(bob.socket, "acceptFriendship", { otherUserId: alice.userId });
    const friends = await ask(alice.socket, "getMyFriendships", {});
    assert.deepEqual(keys(friends[0]), ["userId", "name", "avatar", "isOnline", "chatHeaderId"]);

    const { chatHeaderId } = await ask(alice.socket, "joinRoom", { otherUserId: bob.userId });
    await ask(bob.socket, "createMessage", { message: "hi", chatHeaderId, messageType: 0 });
    const read = await ask(alice.socket, "readMessage", { chatHeaderId });
    assert.deepEqual(keys(read), ["chatHeaderId", "lastReadMessageId", "unreadCount"]);

    const refused = await ask(alice.socket, "createMessage", { message: "hi", chatHeaderId, messageType: 9 });
    assert.deepEqual(keys(refused), ["error"]);
  } finally {
    closeAll(alice, bob);
  }
});
