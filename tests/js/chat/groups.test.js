// Group chats through events: createGroup, addParticipants,
// removeParticipant, leaveGroup; participantsAdded / participantRemoved;
// a removed member loses the chat; the push hand-off in a group of three.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startChat, chatClient, ask, closeAll, sleep, QUIET_MS } from "./helpers.js";

let server;
let webhook;
const pushes = [];
before(async () => {
  webhook = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      pushes.push(JSON.parse(data));
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => webhook.listen(0, "127.0.0.1", r));
  server = await startChat({ env: { CONFAB_CHAT__PUSH_WEBHOOK: `http://127.0.0.1:${webhook.address().port}/hook` } });
});
after(async () => {
  await server.stop();
  webhook.close();
});

/** Resolves with the next `event` on the socket. */
const next = (socket, event, ms = 3000) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event}`)), ms);
    socket.once(event, (d) => {
      clearTimeout(t);
      resolve(d);
    });
  });

test("create a group, add and remove participants, leave; members are told", async () => {
  const [ann, ben, cat, dan] = await Promise.all([1, 2, 3, 4].map(() => chatClient(server.url)));
  try {
    const benTold = next(ben.socket, "participantsAdded");
    const group = await ask(ann.socket, "createGroup", { name: "Team", userIds: [ben.userId, cat.userId] });
    assert.equal(group.type, "group");
    assert.equal(group.isGroup, true);
    assert.equal(group.name, "Team");
    assert.deepEqual(group.members.map((m) => m.userId), [ann.userId, ben.userId, cat.userId]);
    assert.deepEqual(group.admins, [ann.userId]);
    const chatId = group.chatHeaderId;
    assert.deepEqual(await benTold, { chatHeaderId: chatId, userIds: [ann.userId, ben.userId, cat.userId], by: ann.userId });
    const headers = await ask(cat.socket, "findAllChatHeaders", {});
    assert.deepEqual(headers.items.map((h) => h.id), [chatId]);

    // A message to all three; unread for the others.
    await ask(ben.socket, "createMessage", { message: "hello team", chatHeaderId: chatId, messageType: 0 });

    // Only an admin adds; the new member starts with nothing unread.
    assert.deepEqual(await ask(ben.socket, "addParticipants", { chatHeaderId: chatId, userIds: [dan.userId] }), {
      error: "only a group admin may do this",
    });
    const catTold = next(cat.socket, "participantsAdded");
    const grown = await ask(ann.socket, "addParticipants", { chatHeaderId: chatId, userIds: [dan.userId, ben.userId] });
    assert.deepEqual(grown.members.map((m) => m.userId), [ann.userId, ben.userId, cat.userId, dan.userId]);
    assert.deepEqual(await catTold, { chatHeaderId: chatId, userIds: [dan.userId], by: ann.userId });
    const danView = await ask(dan.socket, "findAllChatHeaders", {});
    assert.equal(danView.items[0].unreadCount, 0);
    const page = await ask(dan.socket, "findAllMessages", { chatHeaderId: chatId });
    assert.equal(page.items[0].message, "hello team", "history is readable to a new member");

    // Removing: not by a non-admin; by the admin; the removed member is told and loses the chat.
    await ask(cat.socket, "joinRoom", { chatHeaderId: chatId });
    assert.deepEqual(await ask(ben.socket, "removeParticipant", { chatHeaderId: chatId, participantId: cat.userId }), {
      error: "only a group admin may do this",
    });
    const catRemoved = next(cat.socket, "participantRemoved");
    const benSees = next(ben.socket, "participantRemoved");
    const shrunk = await ask(ann.socket, "removeParticipant", { chatHeaderId: chatId, participantId: cat.userId });
    assert.deepEqual(shrunk.members.map((m) => m.userId), [ann.userId, ben.userId, dan.userId]);
    const removed = { chatHeaderId: chatId, userId: cat.userId, by: ann.userId };
    assert.deepEqual(await catRemoved, removed);
    assert.deepEqual(await benSees, removed);
    assert.deepEqual(await ask(cat.socket, "createMessage", { message: "still here?", chatHeaderId: chatId, messageType: 0 }), {
      error: "not a member of this chat",
    });
    assert.deepEqual((await ask(cat.socket, "findAllChatHeaders", {})).items, []);
    // Cat's socket left the chat's room: new messages do not reach it.
    let leaked = 0;
    cat.socket.on("message", () => leaked++);
    await ask(ann.socket, "createMessage", { message: "after cat", chatHeaderId: chatId, messageType: 0 });
    await sleep(QUIET_MS);
    assert.equal(leaked, 0);

    // The admin leaves: the oldest remaining member is admin now.
    assert.deepEqual(await ask(ann.socket, "leaveGroup", { chatHeaderId: chatId }), { chatHeaderId: chatId, left: true });
    const after = await ask(ben.socket, "addParticipants", { chatHeaderId: chatId, userIds: [cat.userId] });
    assert.deepEqual(after.admins, [ben.userId]);
    assert.deepEqual(after.members.map((m) => m.userId), [ben.userId, dan.userId, cat.userId]);
  } finally {
    closeAll(ann, ben, cat, dan);
  }
});

test("group refusals: unknown users, no name, an individual chat, a non-member", async () => {
  const [ann, ben, eve] = await Promise.all([1, 2, 3].map(() => chatClient(server.url)));
  try {
    assert.deepEqual(await ask(ann.socket, "createGroup", { name: "x", userIds: ["nobody-at-all"] }), { error: "user not found" });
    assert.deepEqual(await ask(ann.socket, "createGroup", { name: " ", userIds: [ben.userId] }), {
      error: "a group name takes 1 to 100 characters",
    });
    assert.deepEqual(await ask(ann.socket, "createGroup", { name: "x" }), { error: "userIds is required" });
    const pair = await ask(ann.socket, "joinRoom", { otherUserId: ben.userId });
    assert.deepEqual(await ask(ann.socket, "addParticipants", { chatHeaderId: pair.chatHeaderId, userIds: [eve.userId] }), {
      error: "not a group chat",
    });
    const group = await ask(ann.socket, "createGroup", { name: "g", userIds: [ben.userId] });
    assert.deepEqual(await ask(eve.socket, "addParticipants", { chatHeaderId: group.chatHeaderId, userIds: [eve.userId] }), {
      error: "not a member of this chat",
    });
    assert.deepEqual(await ask(ann.socket, "removeParticipant", { chatHeaderId: group.chatHeaderId, participantId: eve.userId }), {
      error: "that user is not a member of this chat",
    });
  } finally {
    closeAll(ann, ben, eve);
  }
});

test("push in a group of three: the viewer gets none, the offline member does, the sender never", async () => {
  const [ann, ben, cat] = await Promise.all([1, 2, 3].map(() => chatClient(server.url)));
  try {
    const group = await ask(ann.socket, "createGroup", { name: "trio", userIds: [ben.userId, cat.userId] });
    const chatId = group.chatHeaderId;
    await ask(ben.socket, "joinRoom", { chatHeaderId: chatId });
    cat.socket.disconnect();
    await sleep(100);
    const sent = await ask(ann.socket, "createMessage", { message: "ping", chatHeaderId: chatId, messageType: 0 });
    const deadline = Date.now() + 3000;
    while (!pushes.some((p) => p.message.id === sent.chatMessage.id) && Date.now() < deadline) await sleep(20);
    await sleep(QUIET_MS);
    const mine = pushes.filter((p) => p.message.id === sent.chatMessage.id);
    assert.equal(mine.length, 1);
    assert.deepEqual(mine[0].recipients, [cat.userId], "ben views it, ann sent it");
    assert.equal(mine[0].chatHeaderId, chatId);
  } finally {
    closeAll(ann, ben, cat);
  }
});
