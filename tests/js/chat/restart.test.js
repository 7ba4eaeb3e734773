// A crash mid-conversation: every acknowledged message, edit, deletion,
// read cursor, unread count and friendship is there after a restart, and
// the seed's ChatClient reconnects to find them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, joinWithUser, ask, closeAll } from "./helpers.js";
import { connected } from "../client/helpers.js";

test("SIGKILL and restart on the same data: everything acknowledged is intact", async () => {
  const first = await startChat();
  let second;
  const ann = await chatClient(first.url);
  const ben = await chatClient(first.url);
  try {
    const chatId = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    const send = (text) => ask(ann.socket, "createMessage", { message: text, chatHeaderId: chatId, messageType: 0 });
    const m1 = (await send("m1")).chatMessage.id;
    const m2 = (await send("m2")).chatMessage.id;
    await send("m3");
    const read = await ask(ben.socket, "readMessage", { chatHeaderId: chatId });
    await send("m4");
    await send("m5");
    await ask(ann.socket, "updateMessage", { id: m1, message: "m1 edited", chatHeaderId: chatId });
    await ask(ann.socket, "removeMessage", { id: m2, chatHeaderId: chatId });
    await ask(ann.socket, "requestFriendship", { otherUserId: ben.userId });
    await ask(ben.socket, "acceptFriendship", { otherUserId: ann.userId });
    // A burst of concurrent writers, each acknowledged only once durable.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => send(`burst ${i}`)));
    const newest = Math.max(...burst.map((b) => b.chatMessage.id));

    await first.kill();
    second = await startChat({ dataDir: first.dataDir, env: { CONFAB_PORT: String(first.port) } });
    // The seed's client reconnects by itself (reconnection is on by default).
    await Promise.all([connected(ann.socket, 15000), connected(ben.socket, 15000)]);

    const page = await ask(ben.socket, "findAllMessages", { chatHeaderId: chatId, maxResultCount: 100 });
    assert.equal(page.totalCount, 24);
    const texts = page.items.map((m) => m.message);
    assert.deepEqual(texts.slice(20), ["m5", "m4", "m3", "m1 edited"]);
    for (let i = 0; i < 20; i++) assert.ok(texts.includes(`burst ${i}`));
    assert.equal(page.items.at(-1).isEdited, true);

    const benChats = await ask(ben.socket, "getMyChats", {});
    assert.equal(benChats[0].unreadCount, 22, "m4, m5 and the burst are unread");
    assert.equal(benChats[0].friendshipStatus, 1);
    assert.equal((await ask(ann.socket, "getMyChats", {}))[0].unreadCount, 0);
    const headers = await ask(ann.socket, "findAllChatHeaders", { UserId: ann.userId });
    assert.equal(headers.items[0].lastMessage.id, newest);
    // The cursor survived: reading again moves it to the newest message.
    const reread = await ask(ben.socket, "readMessage", { chatHeaderId: chatId });
    assert.ok(reread.lastReadMessageId > read.lastReadMessageId);
    assert.equal(reread.lastReadMessageId, newest);

    // Ids go on growing; the conversation goes on.
    const after = await send("after the restart");
    assert.ok(after.chatMessage.id > newest);
    const friends = await ask(ann.socket, "getMyFriendships", {});
    assert.equal(friends[0].userId, ben.userId);
    assert.equal(friends[0].chatHeaderId, chatId);
  } finally {
    closeAll(ann, ben);
    if (second) await second.stop();
    else await first.stop();
  }
});
