// The seed's REST alternative to joinRoom {otherUserId}
// (GET /api/chat/getChatHeaderAsync) and history over HTTP for a
// reconnecting client (GET /api/chat/{chatHeaderId}/messages).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChatHttp, chatClient, joinWithUser, ask, closeAll, http, mintToken, randomUUID } from "./helpers.js";

let server;
before(async () => {
  server = await startChatHttp();
});
after(() => server.stop());

const headerUrl = (a, b) => `${server.url}/api/chat/getChatHeaderAsync?user1Id=${encodeURIComponent(a)}&user2Id=${encodeURIComponent(b)}`;

test("getChatHeaderAsync gets or creates the individual chat, as the seed's fetch reads it (data.data?.id)", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const first = await http(headerUrl(alice.userId, bob.userId), { user: alice.userId });
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.json), ["success", "data", "message"]);
    assert.equal(first.json.success, true);
    const chatHeaderId = first.json.data?.id;
    assert.equal(typeof chatHeaderId, "number");
    assert.equal(first.json.data.created, true);
    assert.equal(first.json.data.type, "individual");
    assert.deepEqual(first.json.data.members.map((m) => m.userId).sort(), [alice.userId, bob.userId].sort());
    // The other user asking, either order: the same chat, not created again.
    const again = await http(headerUrl(alice.userId, bob.userId), { user: bob.userId });
    assert.deepEqual([again.json.data.id, again.json.data.created], [chatHeaderId, false]);
    // The socket side agrees: joinRoom {otherUserId} finds the same chat.
    const { response } = await joinWithUser(bob.chat, alice.userId);
    assert.equal(response.chatHeaderId, chatHeaderId);
    const chats = await ask(alice.socket, "getMyChats", {});
    assert.deepEqual(chats.map((c) => c.chatHeaderId), [chatHeaderId]);
  } finally {
    closeAll(alice, bob);
  }
});

test("getChatHeaderAsync refuses a caller who is neither user, a missing token, unknown users", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const eve = randomUUID();
    const stranger = await http(headerUrl(alice.userId, bob.userId), { user: eve });
    assert.deepEqual([stranger.status, stranger.json], [403, { success: false, data: null, message: "the caller must be user1Id or user2Id" }]);
    assert.equal((await http(headerUrl(alice.userId, bob.userId), { token: null })).status, 401);
    const unknown = await http(headerUrl(alice.userId, "nobody-" + randomUUID()), { user: alice.userId });
    assert.deepEqual([unknown.status, unknown.json.message], [404, "user not found"]);
    const same = await http(headerUrl(alice.userId, alice.userId), { user: alice.userId });
    assert.equal(same.status, 400);
    const missing = await http(`${server.url}/api/chat/getChatHeaderAsync?user1Id=${alice.userId}`, { user: alice.userId });
    assert.deepEqual([missing.status, missing.json.message], [400, "user2Id is required"]);
  } finally {
    closeAll(alice, bob);
  }
});

test("history over HTTP: members page back with ?before= and catch up with ?after=; others are refused", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const chatId = (await joinWithUser(alice.chat, bob.userId)).response.chatHeaderId;
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await ask(alice.socket, "createMessage", { message: `m${i}`, chatHeaderId: chatId, messageType: 0 })).chatMessage.id);
    }
    const url = (q = "") => `${server.url}/api/chat/${chatId}/messages${q}`;
    const all = await http(url(), { user: bob.userId });
    assert.equal(all.status, 200);
    assert.equal(all.json.success, true);
    assert.equal(all.json.data.totalCount, 5);
    assert.deepEqual(all.json.data.items.map((m) => m.message), ["m4", "m3", "m2", "m1", "m0"], "newest first");
    const m = all.json.data.items[0];
    assert.equal(m.userId, alice.userId);
    assert.equal(m.chatHeaderId, chatId);

    const older = await http(url(`?before=${ids[3]}&limit=2`), { user: bob.userId });
    assert.deepEqual(older.json.data.items.map((m) => m.message), ["m2", "m1"]);
    // A client that saw m1 reconnects: what came after, oldest first.
    const missed = await http(url(`?after=${ids[1]}`), { user: bob.userId });
    assert.deepEqual(missed.json.data.items.map((m) => m.message), ["m2", "m3", "m4"]);

    const eve = randomUUID();
    const refused = await http(url(), { user: eve });
    assert.deepEqual([refused.status, refused.json.message], [403, "not a member of this chat"]);
    assert.equal((await http(url(), { token: null })).status, 401);
    assert.equal((await http(`${server.url}/api/chat/987654/messages`, { user: bob.userId })).status, 404);
    for (const bad of ["/api/chat/abc/messages", `/api/chat/${chatId}/messages?before=x`, `/api/chat/${chatId}/messages?limit=0`, `/api/chat/${chatId}/messages?before=1&after=1`]) {
      assert.equal((await http(server.url + bad, { user: bob.userId })).status, 400, bad);
    }
    // The page size is capped.
    const capped = await http(url("?limit=100000"), { user: bob.userId });
    assert.equal(capped.json.data.items.length, 5);
    // An expired token is refused.
    const expired = await http(url(), { token: mintToken(bob.userId, { ttl: -3600 }) });
    assert.equal(expired.status, 401);
  } finally {
    closeAll(alice, bob);
  }
});
