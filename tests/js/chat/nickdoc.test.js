// The chat service in nick-doc's words: the `confab` appliance with the
// nickdoc profile (`[chat] style = "nickdoc"`, `chat_room = "chat-{id}"`).
// Users carry their JWT in the `token` cookie, join `chat-<chatId>` with
// `join-chat-room`, and hear `new-message`, `message-edited`,
// `message-deleted`, `messages-read`, `participants-added` and
// `participant-removed` with the seed's payloads when another user acts
// through the chat events or the server API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "../seeds/lib.js";
import { connected, close, ask, once, collect, sleep, QUIET_MS } from "../client/helpers.js";
import { http } from "./helpers.js";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let server;
before(async () => {
  server = await startConfab("nickdoc");
});
after(async () => {
  await server?.stop();
});

const user = async (id, name) => {
  const jwt = await server.token(id, { name });
  const socket = io(server.url, {
    withCredentials: true,
    transports: ["websocket"],
    extraHeaders: { cookie: `token=${jwt}` },
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  return socket;
};

/**
 * `joinRoom {otherUserId}`: the other user is recorded by the chat's
 * connection handler, which may still be running when their CONNECT is
 * acknowledged, so "user not found" is retried for a while.
 */
const chatWith = async (socket, other) => {
  for (let i = 0; ; i++) {
    const joined = await ask(socket, "joinRoom", { otherUserId: other });
    if (joined.error !== "user not found" || i === 40) return joined;
    await sleep(50);
  }
};

const joinChat = async (socket, chatId) => {
  const reply = await ask(socket, "join-chat-room", chatId);
  assert.deepEqual(reply.rooms, [`chat-${chatId}`], JSON.stringify(reply));
};

/** Resolves with the next `event` (its one argument). */
const next = async (socket, event) => (await once(socket, event))[0];

test("two users in chat-<chatId>: new-message, message-edited, message-deleted, messages-read", async () => {
  const alice = await user("n1", "Alice");
  const bob = await user("n2", "Bob");
  try {
    const joined = await chatWith(alice, "n2");
    assert.ok(joined.chatHeaderId, JSON.stringify(joined));
    const chatId = String(joined.chatHeaderId);
    await joinChat(alice, chatId);
    await joinChat(bob, chatId);
    const syarah = collect(bob, "message");

    // new-message
    let heard = next(bob, "new-message");
    const sent = await ask(alice, "createMessage", { message: "hello Bob", chatHeaderId: chatId, messageType: 0 });
    assert.equal(sent.error, undefined, JSON.stringify(sent));
    const created = await heard;
    assert.deepEqual(Object.keys(created).sort(), ["chatId", "message", "senderId"]);
    assert.equal(created.chatId, chatId);
    assert.equal(created.senderId, "n1");
    assert.deepEqual(Object.keys(created.message).sort(), ["_id", "content", "createdAt", "senderId"]);
    assert.equal(created.message.content, "hello Bob");
    assert.equal(created.message.senderId, "n1");
    assert.match(created.message.createdAt, ISO);
    assert.equal(created.message._id, String(sent.chatMessage.id));
    const messageId = created.message._id;

    // messages-read: Bob reads the one unread message.
    heard = next(alice, "messages-read");
    const read = await ask(bob, "readMessage", { chatHeaderId: chatId });
    assert.equal(read.error, undefined, JSON.stringify(read));
    assert.deepEqual(await heard, { chatId, userId: "n2", upToMessageId: messageId, modifiedCount: 1 });

    // message-edited
    heard = next(bob, "message-edited");
    const edited = await ask(alice, "updateMessage", { chatHeaderId: chatId, id: messageId, message: "hello, Bob" });
    assert.equal(edited.error, undefined, JSON.stringify(edited));
    const edit = await heard;
    assert.deepEqual(Object.keys(edit).sort(), ["chatId", "content", "editedAt", "messageId"]);
    assert.deepEqual({ ...edit, editedAt: undefined }, { chatId, messageId, content: "hello, Bob", editedAt: undefined });
    assert.match(edit.editedAt, ISO);

    // Bob cannot edit Alice's message: nothing is emitted.
    const refused = await ask(bob, "updateMessage", { chatHeaderId: chatId, id: messageId, message: "mine now" });
    assert.ok(refused.error, JSON.stringify(refused));

    // message-deleted
    heard = next(bob, "message-deleted");
    const removed = await ask(alice, "removeMessage", { chatHeaderId: chatId, id: messageId });
    assert.equal(removed.error, undefined, JSON.stringify(removed));
    const deleted = await heard;
    assert.deepEqual(Object.keys(deleted).sort(), ["chatId", "deletedAt", "messageId"]);
    assert.equal(deleted.chatId, chatId);
    assert.equal(deleted.messageId, messageId);
    assert.match(deleted.deletedAt, ISO);

    // No Syarah events in the nickdoc style.
    await sleep(QUIET_MS);
    assert.deepEqual(syarah, []);
  } finally {
    close(alice, bob);
  }
});

test("a socket that has not joined chat-<chatId> hears nothing of it", async () => {
  const alice = await user("n3", "Alice");
  const bob = await user("n4", "Bob");
  try {
    const joined = await chatWith(alice, "n4");
    assert.ok(joined.chatHeaderId, JSON.stringify(joined));
    const { chatHeaderId } = joined;
    const heard = collect(bob, "new-message");
    const sent = await ask(alice, "createMessage", { message: "psst", chatHeaderId, messageType: 0 });
    assert.equal(sent.error, undefined, JSON.stringify(sent));
    await sleep(QUIET_MS);
    assert.deepEqual(heard, []);
  } finally {
    close(alice, bob);
  }
});

test("groups over HTTP in the nickdoc style: participants-added, participant-removed", async () => {
  const [ann, ben, cid] = [await user("g1", "Ann"), await user("g2", "Ben"), await user("g3", "Cid")];
  const token = await server.token("g1", { name: "Ann" });
  try {
    const api = `${server.url}/api/chat/groups`;
    const json = { "content-type": "application/json" };
    // Retried on 404 while the members' connection handlers may still be
    // recording them.
    const post = async (url, body) => {
      for (let i = 0; ; i++) {
        const res = await http(url, { token, method: "POST", headers: json, body: JSON.stringify(body) });
        if (res.status !== 404 || i === 40) return res;
        await sleep(50);
      }
    };
    const created = await post(api, { name: "Team", members: ["g2"] });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const chatId = String(created.json.data.chatHeaderId);
    await joinChat(ann, chatId);
    await joinChat(ben, chatId);

    let heard = next(ben, "participants-added");
    const added = await post(`${api}/${chatId}/participants`, { userIds: ["g3"] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.deepEqual(await heard, { chatId, addedUserIds: ["g3"] });
    await joinChat(cid, chatId);

    heard = next(ann, "participant-removed");
    const gone = next(cid, "participant-removed");
    const removed = await http(`${api}/${chatId}/participants/g3`, { token, method: "DELETE" });
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    assert.deepEqual(await heard, { chatId, removedUserId: "g3" });
    assert.deepEqual(await gone, { chatId, removedUserId: "g3" });
  } finally {
    close(ann, ben, cid);
  }
});

test("join-chat-room lets only the chat's members in: an outsider is refused and hears nothing", async () => {
  const alice = await user("n7", "Alice");
  const bob = await user("n8", "Bob");
  const eve = await user("n9", "Eve");
  try {
    const joined = await chatWith(alice, "n8");
    const chatId = String(joined.chatHeaderId);
    await joinChat(alice, chatId);
    const refused = await ask(eve, "join-chat-room", chatId);
    assert.equal(refused.success, false, JSON.stringify(refused));
    assert.deepEqual(refused.rooms, []);
    const overheard = collect(eve, "new-message");
    const heard = next(alice, "new-message");
    await ask(bob, "createMessage", { message: "private", chatHeaderId: chatId, messageType: 0 });
    await heard;
    await sleep(300);
    assert.deepEqual(overheard, []);
  } finally {
    close(alice);
    close(bob);
    close(eve);
  }
});
