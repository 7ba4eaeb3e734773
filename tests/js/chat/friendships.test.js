// Friendships: request, accept, reject, block and unblock by events, as
// getMyFriendships, getMyChats and joinRoom report them; the seed's
// getFriendshipsAndCreateChats for friends without a chat yet.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, ask, closeAll, connect, randomUUID } from "./helpers.js";

let server;
before(async () => {
  server = await startChat();
});
after(() => server.stop());

test("request and accept: both hear of it; the friend is listed with a null chatHeaderId until a chat exists", async () => {
  const ann = await chatClient(server.url);
  const benId = randomUUID();
  const ben = await connect(server.url, { query: { userId: benId, name: "Ben Smith", avatar: "https://example.com/ben.jpg" } });
  try {
    const benHears = new Promise((resolve) => ben.once("friendshipUpdated", resolve));
    const asked = await ask(ann.socket, "requestFriendship", { otherUserId: benId });
    assert.equal(asked.friendshipStatus, 0);
    assert.deepEqual(
      { userId: (await benHears).userId, status: (await benHears).friendshipStatus },
      { userId: ann.userId, status: 0 },
    );
    assert.deepEqual(await ask(ann.socket, "getMyFriendships", {}), []);
    // Only the one asked may accept.
    assert.match((await ask(ann.socket, "acceptFriendship", { otherUserId: benId })).error, /no pending request/);
    const accepted = await ask(ben, "acceptFriendship", { otherUserId: ann.userId });
    assert.equal(accepted.friendshipStatus, 1);

    const friends = await ask(ann.socket, "getMyFriendships", { accessToken: "t" });
    assert.deepEqual(friends, [
      { userId: benId, name: "Ben Smith", avatar: "https://example.com/ben.jpg", isOnline: true, chatHeaderId: null },
    ]);

    // The seed's own flow: friends without a chat get one through joinRoom.
    const withChats = await new Promise((resolve) => ann.chat.getFriendshipsAndCreateChats(resolve));
    assert.equal(typeof withChats[0].chatHeaderId, "number");
    const again = await ask(ann.socket, "getMyFriendships", {});
    assert.equal(again[0].chatHeaderId, withChats[0].chatHeaderId);
    const chats = await ask(ann.socket, "getMyChats", {});
    assert.equal(chats[0].friendshipStatus, 1);
    assert.equal(chats[0].userName, "Ben Smith");
    assert.equal(chats[0].userAvatar, "https://example.com/ben.jpg");
    assert.equal(chats[0].lastMessage, null);
    const joined = await ask(ben, "joinRoom", { otherUserId: ann.userId });
    assert.equal(joined.friendshipStatus, 1);
    assert.equal(joined.chatHeaderId, withChats[0].chatHeaderId);
  } finally {
    closeAll(ann, ben);
  }
});

test("reject, block (no messages either way) and unblock", async () => {
  const ann = await chatClient(server.url);
  const cat = await chatClient(server.url);
  try {
    await ask(cat.socket, "requestFriendship", { otherUserId: ann.userId });
    assert.equal((await ask(ann.socket, "rejectFriendship", { otherUserId: cat.userId })).friendshipStatus, 2);
    const chatId = (await ask(cat.socket, "joinRoom", { otherUserId: ann.userId })).chatHeaderId;
    assert.equal((await ask(cat.socket, "joinRoom", { chatHeaderId: chatId })).friendshipStatus, 2);

    assert.equal((await ask(ann.socket, "blockUser", { otherUserId: cat.userId })).friendshipStatus, 3);
    assert.equal((await ask(cat.socket, "joinRoom", { chatHeaderId: chatId })).friendshipStatus, 3);
    for (const who of [cat, ann]) {
      const refused = await ask(who.socket, "createMessage", { message: "hello?", chatHeaderId: chatId, messageType: 0 });
      assert.deepEqual(refused, { error: "this conversation is blocked" });
    }
    assert.match((await ask(cat.socket, "requestFriendship", { otherUserId: ann.userId })).error, /blocked/);
    assert.match((await ask(cat.socket, "unblockUser", { otherUserId: ann.userId })).error, /not blocked by you/);

    assert.deepEqual(await ask(ann.socket, "unblockUser", { otherUserId: cat.userId }), { userId: cat.userId, friendshipStatus: null });
    const sent = await ask(cat.socket, "createMessage", { message: "hello again", chatHeaderId: chatId, messageType: 0 });
    assert.equal(sent.chatMessage.message, "hello again");
    assert.equal((await ask(ann.socket, "getMyChats", {}))[0].friendshipStatus, null);
  } finally {
    closeAll(ann, cat);
  }
});

test("friendship requests name a known user other than the caller", async () => {
  const ann = await chatClient(server.url);
  try {
    assert.deepEqual(await ask(ann.socket, "requestFriendship", { otherUserId: randomUUID() }), { error: "user not found" });
    assert.match((await ask(ann.socket, "requestFriendship", { otherUserId: ann.userId })).error, /caller/);
    assert.match((await ask(ann.socket, "blockUser", {})).error, /otherUserId is required/);
  } finally {
    closeAll(ann);
  }
});
