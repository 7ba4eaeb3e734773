// Unread counts across three users, getMyChats ordering, and what
// findAllChatHeaders says is new since a client's last message ids.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, joinWithUser, ask, closeAll, sleep, QUIET_MS } from "./helpers.js";

let server;
before(async () => {
  server = await startChat();
});
after(() => server.stop());

const send = (c, chatHeaderId, message) => ask(c.socket, "createMessage", { message, chatHeaderId, messageType: 0 });
const chatOf = (list, id) => list.find((c) => c.chatHeaderId === id);

test("unread counts are per member, and only members hear of a chat", async () => {
  const ann = await chatClient(server.url);
  const ben = await chatClient(server.url);
  const cat = await chatClient(server.url);
  try {
    const ab = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    const ac = (await joinWithUser(ann.chat, cat.userId)).response.chatHeaderId;
    assert.notEqual(ab, ac);
    // Nobody but Ann is viewing; Ben and Cat hear through their user rooms.
    await send(ann, ab, "hi ben 1");
    await send(ann, ab, "hi ben 2");
    await send(ann, ac, "hi cat");
    await send(ben, ab, "hi ann");

    const benChats = await ask(ben.socket, "getMyChats", {});
    assert.equal(benChats.length, 1);
    const withAnn = chatOf(benChats, ab);
    assert.equal(withAnn.unreadCount, 2);
    assert.equal(withAnn.userId, ann.userId);
    assert.equal(withAnn.lastMessage, "hi ann");
    assert.equal(withAnn.isOnline, true);
    assert.equal(withAnn.friendshipStatus, null);

    const annChats = await ask(ann.socket, "getMyChats", {});
    // Most recent first: the chat with Ben had the last message.
    assert.deepEqual(annChats.map((c) => c.chatHeaderId), [ab, ac]);
    assert.equal(chatOf(annChats, ab).unreadCount, 1);
    assert.equal(chatOf(annChats, ac).unreadCount, 0);
    assert.equal(chatOf(annChats, ac).lastMessage, "hi cat");

    const catChats = await ask(cat.socket, "getMyChats", {});
    assert.equal(chatOf(catChats, ac).unreadCount, 1);
    assert.deepEqual(cat.rec.message.map((m) => m.chatMessage.message), ["hi cat"]);
    assert.deepEqual(
      ben.rec.message.map((m) => m.chatMessage.message),
      ["hi ben 1", "hi ben 2", "hi ann"],
    );

    // Ben reads: only his count changes, and Ann hears of it.
    await ask(ben.socket, "readMessage", { chatHeaderId: ab });
    assert.equal(chatOf(await ask(ben.socket, "getMyChats", {}), ab).unreadCount, 0);
    assert.equal(chatOf(await ask(ann.socket, "getMyChats", {}), ab).unreadCount, 1);
    assert.ok(ann.rec.messageHasBeenRead.includes(ab));
    await sleep(QUIET_MS);
    assert.equal(cat.rec.messageHasBeenRead.length, 0);

    // A deleted unread message is no longer unread.
    const extra = await send(ann, ab, "oops");
    assert.equal(chatOf(await ask(ben.socket, "getMyChats", {}), ab).unreadCount, 1);
    await ask(ann.socket, "removeMessage", { id: extra.chatMessage.id, chatHeaderId: ab });
    const after = chatOf(await ask(ben.socket, "getMyChats", {}), ab);
    assert.equal(after.unreadCount, 0);
    assert.equal(after.lastMessage, "hi ann");
  } finally {
    closeAll(ann, ben, cat);
  }
});

test("findAllChatHeaders pages the caller's chats and says what is new since given ids", async () => {
  const ann = await chatClient(server.url);
  const ben = await chatClient(server.url);
  const cat = await chatClient(server.url);
  try {
    const ab = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    const ac = (await joinWithUser(ann.chat, cat.userId)).response.chatHeaderId;
    const first = await send(ben, ab, "b1");
    await send(ben, ab, "b2");
    await send(cat, ac, "c1");

    const all = await ask(ann.socket, "findAllChatHeaders", { AccessToken: "t", UserId: ann.userId, SkipCount: 0, MaxResultCount: 20 });
    assert.equal(all.totalCount, 2);
    assert.deepEqual(all.items.map((h) => h.id), [ac, ab]);
    const withBen = all.items.find((h) => h.id === ab);
    assert.equal(withBen.unreadCount, 2);
    assert.equal(withBen.lastMessage.message, "b2");
    assert.equal(withBen.type, "individual");
    assert.deepEqual(withBen.members.map((m) => m.userId).sort(), [ann.userId, ben.userId].sort());

    const paged = await ask(ann.socket, "findAllChatHeaders", { userId: ann.userId, SkipCount: 1, MaxResultCount: 1 });
    assert.deepEqual(paged.items.map((h) => h.id), [ab]);
    assert.equal(paged.totalCount, 2);

    const since = await ask(ann.socket, "findAllChatHeaders", {
      UserId: ann.userId,
      RoomsWithLastMessageIds: [{ ChatHeaderId: ab, LastMessageId: first.chatMessage.id }, { ChatHeaderId: ac, LastMessageId: 0 }],
    });
    const newBen = since.items.find((h) => h.id === ab);
    assert.deepEqual(newBen.newMessages.map((m) => m.message), ["b2"]);
    assert.equal(newBen.newMessagesCount, 1);
    assert.deepEqual(since.items.find((h) => h.id === ac).newMessages.map((m) => m.message), ["c1"]);

    // Ben sees only his own chat.
    const bens = await ask(ben.socket, "findAllChatHeaders", { UserId: ben.userId });
    assert.deepEqual(bens.items.map((h) => h.id), [ab]);
  } finally {
    closeAll(ann, ben, cat);
  }
});
