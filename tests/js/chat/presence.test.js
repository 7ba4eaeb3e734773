// clientStatus across two devices of one user: online on the first socket,
// offline after the last, nothing in between; isOnline follows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, joinWithUser, ask, closeAll, connect, randomUUID, sleep, QUIET_MS } from "./helpers.js";

let server;
before(async () => {
  server = await startChat();
});
after(() => server.stop());

test("clientStatus goes to contacts on first connect and last disconnect across devices", async () => {
  const annId = randomUUID();
  let phone = await connect(server.url, { query: { userId: annId, clientType: "mobile" } });
  const ben = await chatClient(server.url);
  const stranger = await chatClient(server.url);
  let laptop;
  try {
    const chatId = (await joinWithUser(ben.chat, annId)).response.chatHeaderId;
    phone.disconnect();
    const offline = await ben.rec.next("clientStatus");
    assert.deepEqual(offline, { userId: annId, clientType: "mobile", activeNow: false });
    assert.equal((await ask(ben.socket, "getMyChats", {}))[0].isOnline, false);

    // Two devices: one "online" for the first, none for the second.
    // Ben may hear it before the laptop has its CONNECT answer: wait from before.
    const online = ben.rec.next("clientStatus");
    laptop = await connect(server.url, { query: { userId: annId } });
    assert.deepEqual(await online, { userId: annId, clientType: "web", activeNow: true });
    phone = await connect(server.url, { query: { userId: annId, clientType: "mobile" } });
    await sleep(QUIET_MS);
    assert.equal(ben.rec.clientStatus.length, 2);
    assert.equal((await ask(ben.socket, "getMyChats", {}))[0].isOnline, true);

    // One device leaves: still online, nothing said.
    laptop.disconnect();
    await sleep(QUIET_MS);
    assert.equal(ben.rec.clientStatus.length, 2);
    const chats = await ask(ben.socket, "getMyChats", {});
    assert.equal(chats[0].isOnline, true);
    assert.equal(chats[0].chatHeaderId, chatId);

    // Both devices get a message sent while they are connected.
    const got = new Promise((resolve) => phone.once("message", resolve));
    await ask(ben.socket, "createMessage", { message: "to every device", chatHeaderId: chatId, messageType: 0 });
    assert.equal((await got).chatMessage.message, "to every device");

    phone.disconnect();
    const last = await ben.rec.next("clientStatus");
    assert.equal(last.activeNow, false);
    assert.equal((await ask(ben.socket, "getMyChats", {}))[0].isOnline, false);
    // Someone who shares nothing with Ann hears nothing.
    assert.equal(stranger.rec.clientStatus.length, 0);
  } finally {
    closeAll(phone, laptop, ben, stranger);
  }
});

test("a viewer that disconnects stops viewing: the chat's joinRoom answer says so", async () => {
  const ann = await chatClient(server.url);
  const ben = await chatClient(server.url);
  try {
    const chatId = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    await ask(ben.socket, "joinRoom", { chatHeaderId: chatId });
    let answer = await ask(ann.socket, "joinRoom", { chatHeaderId: chatId });
    assert.equal(answer.members.find((m) => m.userId === ben.userId).isViewing, true);
    closeAll(ben);
    await sleep(QUIET_MS);
    answer = await ask(ann.socket, "joinRoom", { chatHeaderId: chatId });
    const benNow = answer.members.find((m) => m.userId === ben.userId);
    assert.equal(benNow.isViewing, false);
    assert.equal(benNow.isOnline, false);
  } finally {
    closeAll(ann, ben);
  }
});
