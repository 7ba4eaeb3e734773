// The chat service with connection state recovery across two confab nodes
// (the appliance; node A serves chat, node B does not): Ben, on A, loses
// his connection while Ann sends him messages, and comes back through B.
// He gets the same socket and the `message` events he missed, once each,
// in order, then the next one through B. (The chat service's own
// `clientStatus` follows the sockets on the chat node: see the README.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "../api/lib.js";
import { close, connected, once, quiet } from "../client/helpers.js";
import { startRedis, redisClient, untilSubscribed } from "./redis.js";
import { waitFor, parked, heldInRedis, backThrough } from "./recovery-lib.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab binary";

let redis, redisConn, a, b;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const env = { CONFAB_ADAPTER__URL: redis.url, CONFAB_RECOVERY__ENABLED: "true" };
  [a, b] = await Promise.all([
    startConfab(null, { env }),
    startConfab(null, { env: { ...env, CONFAB_CHAT__ENABLED: "false", CONFAB_CHAT__SERVED_BY: "node-a" } }),
  ]);
  await untilSubscribed(redis.url, 2);
  redisConn = await redisClient(redis.url);
});

after(async () => {
  if (skip) return;
  await redisConn?.quit();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

async function client(node, user) {
  const socket = io(node.url, { auth: { token: node.token(user) }, forceNew: true, reconnection: false, transports: ["websocket"] });
  const rec = { message: [] };
  socket.on("message", (m) => rec.message.push(m));
  await connected(socket);
  return { socket, rec };
}

test("a chat client lost on the chat node and back through the other gets the messages it missed, once each, in order", { skip }, async () => {
  const ann = await client(a, "ann");
  const ben = await client(a, "ben");
  try {
    const joined = await ann.socket.emitWithAck("joinRoom", { userId: "ann", otherUserId: "ben" });
    const chatHeaderId = joined.chatHeaderId ?? joined.chatHeader?.id;
    assert.ok(chatHeaderId, JSON.stringify(joined));
    await ben.socket.emitWithAck("joinRoom", { chatHeaderId });
    const send = (message) => ann.socket.emitWithAck("createMessage", { message, chatHeaderId, messageType: 0 });
    await send("before");
    await waitFor("before", () => ben.rec.message.length === 1);
    const id = ben.socket.id;
    const pid = ben.socket._pid;

    const down = once(ben.socket, "disconnect");
    ben.socket.io.engine.close();
    await down;
    await waitFor("A parked Ben's socket", async () => (await parked(a)) === 1);
    for (const text of ["missed 1", "missed 2"]) {
      const held = await heldInRedis(redisConn, pid);
      await send(text);
      await waitFor(`${text} kept in redis`, async () => (await heldInRedis(redisConn, pid)) > held);
    }

    await backThrough(b, ben.socket);
    assert.equal(ben.socket.recovered, true);
    assert.equal(ben.socket.id, id);
    await waitFor("the missed messages", () => ben.rec.message.length >= 3);
    await waitFor("A let it go", async () => (await parked(a)) === 0);
    await send("after");
    await waitFor("after, through B", () => ben.rec.message.length >= 4);
    await quiet(ben.rec.message);
    assert.deepEqual(
      ben.rec.message.map((m) => m.chatMessage?.message ?? m.message),
      ["before", "missed 1", "missed 2", "after"],
    );
    // On B, Ben is still Ben: B refuses his chat events, naming the chat node.
    const refused = await ben.socket.emitWithAck("getMyChats", {});
    assert.match(refused.error, /not served by this node/);
  } finally {
    close(ann.socket, ben.socket);
  }
});
