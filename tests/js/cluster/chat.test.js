// The chat service in a two-node cluster: node A runs it, node B does not
// (`chat.enabled = false`) and refuses every chat event with an error that
// names the chat node (`chat.served_by`), rather than dropping it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "../api/lib.js";
import { close, connected, once } from "../client/helpers.js";
import { startRedis, untilSubscribed } from "./redis.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab binary";

let redis, a, b;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const env = { CONFAB_ADAPTER__URL: redis.url };
  [a, b] = await Promise.all([
    startConfab(null, { env }),
    startConfab(null, {
      env: { ...env, CONFAB_CHAT__ENABLED: "false", CONFAB_CHAT__SERVED_BY: "chat-node.example:3000" },
    }),
  ]);
  await untilSubscribed(redis.url, 2);
});

after(async () => {
  if (skip) return;
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

async function client(node, user) {
  const socket = io(node.url, { auth: { token: node.token(user) }, forceNew: true, reconnection: false });
  await connected(socket);
  return socket;
}

test("a chat event on a node without chat is refused, naming the chat node", { skip }, async () => {
  const onA = await client(a, "alice");
  const onB = await client(b, "bob");
  try {
    const served = await onA.emitWithAck("getMyChats", {});
    assert.equal(served.error, undefined, JSON.stringify(served));
    const refused = await onB.emitWithAck("getMyChats", {});
    assert.deepEqual(refused, { error: "chat is not served by this node: connect to chat-node.example:3000" });
    const sent = await onB.emitWithAck("createMessage", { chatId: 1, text: "hi" });
    assert.match(sent.error, /not served by this node/);
    // Without an ack: an `exception` event, not silence.
    const exception = once(onB, "exception");
    onB.emit("roomTyping", { chatId: 1 });
    const [body] = await exception;
    assert.match(JSON.stringify(body), /not served by this node/);
  } finally {
    close(onA, onB);
  }
});
