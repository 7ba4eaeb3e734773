// The chat service on a recovered socket ([recovery] enabled): a client
// whose connection was lost for a moment comes back as the same socket,
// its contacts never hear it go offline, it is still viewing its chat, and
// the chat `message` events it missed arrive once each.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startChat, chatClient, joinWithUser, ask, closeAll, sleep, until, QUIET_MS } from "./helpers.js";
import { connected } from "../client/helpers.js";
import { parse } from "../metrics/prometheus.js";

let server;
before(async () => {
  server = await startChat({ env: { CONFAB_RECOVERY__ENABLED: "true" } });
});
after(() => server.stop());

async function parked() {
  const { series } = parse(await (await fetch(`${server.url}/metrics`)).text());
  return series.get("confab_recovery_parked");
}

/** Cuts the client's connection (no automatic reconnect) and waits for the server to park its socket. */
async function lose(socket) {
  socket.io.reconnection(false);
  const down = new Promise((resolve) => socket.once("disconnect", resolve));
  socket.io.engine.close();
  await down;
  for (let i = 0; i < 500 && (await parked()) !== 1; i++) await sleep(10);
  assert.equal(await parked(), 1, "the server parked the lost socket");
}

const send = (client, chatHeaderId, message) =>
  ask(client.socket, "createMessage", { message, chatHeaderId, messageType: 0 });

test("a recovered chat client gets the messages it missed, once, and never looked offline", async () => {
  const ann = await chatClient(server.url);
  const ben = await chatClient(server.url);
  try {
    const chatId = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    await ask(ben.socket, "joinRoom", { chatHeaderId: chatId });
    await send(ann, chatId, "before");
    await until(ben.rec, "message", 1);
    const id = ben.socket.id;
    const statuses = ann.rec.clientStatus.length;

    await lose(ben.socket);
    await send(ann, chatId, "missed 1");
    await send(ann, chatId, "missed 2");
    // Still online and viewing for Ann while Ben is away.
    let answer = await ask(ann.socket, "joinRoom", { chatHeaderId: chatId });
    let seen = answer.members.find((m) => m.userId === ben.userId);
    assert.equal(seen.isOnline, true);
    assert.equal(seen.isViewing, true);

    ben.socket.connect();
    await connected(ben.socket);
    assert.equal(ben.socket.recovered, true);
    assert.equal(ben.socket.id, id);
    await until(ben.rec, "message", 3);
    await send(ann, chatId, "after");
    await until(ben.rec, "message", 4);
    await sleep(QUIET_MS);
    assert.deepEqual(
      ben.rec.message.map((m) => m.chatMessage.message),
      ["before", "missed 1", "missed 2", "after"],
    );
    // No offline/online flap reached Ann, and Ben is still viewing.
    assert.equal(ann.rec.clientStatus.length, statuses);
    answer = await ask(ann.socket, "joinRoom", { chatHeaderId: chatId });
    seen = answer.members.find((m) => m.userId === ben.userId);
    assert.equal(seen.isViewing, true);
    // Its user room is kept: Ben's own calls still work as Ben.
    const chats = await ask(ben.socket, "getMyChats", {});
    assert.equal(chats[0].chatHeaderId, chatId);
    assert.equal(await parked(), 0);
  } finally {
    closeAll(ann, ben);
  }
});

test("a chat client lost past the window goes offline for its contacts", async () => {
  const short = await startChat({
    env: { CONFAB_RECOVERY__ENABLED: "true", CONFAB_RECOVERY__MAX_DISCONNECTION_DURATION_MS: "200" },
  });
  const ann = await chatClient(short.url);
  const ben = await chatClient(short.url);
  try {
    const chatId = (await joinWithUser(ann.chat, ben.userId)).response.chatHeaderId;
    await send(ann, chatId, "hello");
    await until(ben.rec, "message", 1);
    ben.socket.io.reconnection(false);
    const offline = ann.rec.next("clientStatus");
    ben.socket.io.engine.close();
    assert.deepEqual(await offline, { userId: ben.userId, clientType: "web", activeNow: false });
    ben.socket.connect();
    await connected(ben.socket);
    assert.equal(ben.socket.recovered, false);
  } finally {
    closeAll(ann, ben);
    await short.stop();
  }
});
