// The push hand-off: a test webhook receiver on 127.0.0.1 records what the
// server POSTs; members viewing the chat get no push, members online but
// not viewing it and offline members do; a failing webhook is retried.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startChat, chatClient, joinWithUser, ask, closeAll, close, sleep, QUIET_MS } from "./helpers.js";

const PUSH_TOKEN = "push-gateway-token";
let server;
let webhook;
/** Every POST the webhook got: {body, auth}. */
const calls = [];
/** Message ids whose first POST is answered 503. */
const failOnce = new Set();

before(async () => {
  webhook = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      const body = JSON.parse(data);
      calls.push({ body, auth: req.headers.authorization, path: req.url });
      const id = body.message?.id;
      if (failOnce.has(id)) {
        failOnce.delete(id);
        res.writeHead(503).end();
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise((r) => webhook.listen(0, "127.0.0.1", r));
  server = await startChat({
    env: {
      CONFAB_CHAT__PUSH_WEBHOOK: `http://127.0.0.1:${webhook.address().port}/push`,
      CONFAB_CHAT__PUSH_TOKEN: PUSH_TOKEN,
      CONFAB_CHAT__PUSH_BACKOFF_MS: "50",
    },
  });
});
after(async () => {
  await server.stop();
  webhook.close();
});

/** The POSTs about message `id`, after waiting a little for stragglers. */
async function pushesFor(id, { settle = QUIET_MS } = {}) {
  await sleep(settle);
  return calls.filter((c) => c.body.message?.id === id);
}

async function waitPush(id, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!calls.some((c) => c.body.message?.id === id)) {
    if (Date.now() > deadline) throw new Error(`no push for message ${id}`);
    await sleep(20);
  }
}

const send = (c, chatHeaderId, message, extra = {}) =>
  ask(c.socket, "createMessage", { message, chatHeaderId, messageType: 0, ...extra }).then((r) => r.chatMessage);

test("viewing: no push; online but not viewing: a push; offline: a push; the sender: never", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const chatId = (await joinWithUser(alice.chat, bob.userId)).response.chatHeaderId;
    bob.chat.joinRoom(chatId);
    await alice.rec.next("onMemberJoin");

    // Both viewing: nobody is pushed.
    const seen = await send(alice, chatId, "while you look");
    assert.deepEqual(await pushesFor(seen.id), []);

    // Bob leaves the chat's screen (still connected): he is pushed.
    await ask(bob.socket, "leaveRoom", { chatHeaderId: chatId });
    const away = await send(alice, chatId, "are you there?");
    await waitPush(away.id);
    const [push, ...more] = await pushesFor(away.id);
    assert.deepEqual(more, [], "one POST");
    assert.deepEqual(push.body, {
      recipients: [bob.userId],
      chatHeaderId: chatId,
      message: {
        id: away.id,
        senderId: alice.userId,
        senderName: null,
        type: 0,
        preview: "are you there?",
        creationTime: away.creationTime,
      },
    });
    assert.equal(push.auth, `Bearer ${PUSH_TOKEN}`);
    assert.equal(push.path, "/push");
    // He still got it over his socket (his user room), too.
    assert.ok(await bob.rec.next("message", 3000, 0));

    // Bob answers while alice is viewing: alice gets no push.
    const reply = await send(bob, chatId, "yes");
    assert.deepEqual(await pushesFor(reply.id), []);

    // Bob goes offline: he is pushed.
    close(bob.socket);
    await sleep(100);
    const offline = await send(alice, chatId, "x".repeat(150));
    await waitPush(offline.id);
    const [late] = await pushesFor(offline.id);
    assert.deepEqual(late.body.recipients, [bob.userId]);
    assert.equal(late.body.message.preview, "x".repeat(100) + "…");
  } finally {
    closeAll(alice, bob);
  }
});

test("viewing on one device of two is viewing: no push", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  const bobPhone = await chatClient(server.url, bob.userId);
  try {
    const chatId = (await joinWithUser(alice.chat, bob.userId)).response.chatHeaderId;
    await ask(bobPhone.socket, "joinRoom", { chatHeaderId: chatId });
    const m = await send(alice, chatId, "seen on the phone");
    assert.deepEqual(await pushesFor(m.id), []);
    // The phone leaves: the laptop is connected but not viewing.
    close(bobPhone.socket);
    await sleep(100);
    const n = await send(alice, chatId, "now?");
    await waitPush(n.id);
    assert.deepEqual((await pushesFor(n.id))[0].body.recipients, [bob.userId]);
  } finally {
    closeAll(alice, bob, bobPhone);
  }
});

test("a failing webhook is tried again with backoff", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    const chatId = (await joinWithUser(alice.chat, bob.userId)).response.chatHeaderId;
    // The id is not known before sending: fail whatever comes next for
    // this chat by reserving the next few ids.
    const probe = await send(alice, chatId, "probe");
    await waitPush(probe.id);
    for (let id = probe.id + 1; id < probe.id + 20; id++) failOnce.add(id);
    const m = await send(alice, chatId, "retry me");
    await waitPush(m.id);
    const deadline = Date.now() + 3000;
    while ((await pushesFor(m.id, { settle: 20 })).length < 2 && Date.now() < deadline);
    const tries = await pushesFor(m.id);
    assert.equal(tries.length, 2, "a 503, then delivered");
    assert.deepEqual(tries[0].body, tries[1].body);
    failOnce.clear();
  } finally {
    closeAll(alice, bob);
  }
});
