// The BAASIX and Ignis seed flows on two-node confab clusters (one private
// Redis each): the backend calls node A's HTTP API, the clients are on
// node B (and A).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startConfab, until } from "../api/lib.js";
import { close, collect, once } from "../client/helpers.js";
import { baasixClient, ignisClient } from "./seed-clients.js";
import { startRedis, untilSubscribed } from "./redis.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab binary";

/** Two nodes of `profile` on a fresh Redis. */
async function cluster(profile) {
  const redis = await startRedis();
  const env = { CONFAB_ADAPTER__URL: redis.url };
  const [a, b] = await Promise.all([startConfab(profile, { env }), startConfab(profile, { env })]);
  // Until both nodes subscribe, a cluster-wide query counts one node only.
  await untilSubscribed(redis.url, 2);
  return {
    a,
    b,
    redis,
    stop: async () => {
      await Promise.all([a.stop(), b.stop()]);
      await redis.stop();
    },
  };
}

describe("BAASIX on two nodes", { skip }, () => {
  let nodes;
  before(async () => (nodes = await cluster("baasix")));
  after(async () => nodes?.stop());

  const client = baasixClient;

  test("a notification and an item event posted to node A reach the clients on node B", async () => {
    const onB = await client(nodes.b, "bx1");
    const watcherOnA = await client(nodes.a, "bx2");
    try {
      assert.deepEqual(await new Promise((r) => onB.emit("join", "collection:posts", r)), { success: true });
      assert.deepEqual(await new Promise((r) => watcherOnA.emit("join", "collection:posts", r)), { success: true });
      const notes = collect(onB, "notification.new");
      const res = await nodes.a.api("POST", "/api/notifications", {
        key: true,
        body: { userId: "bx1", type: "info", title: "T", message: "M" },
      });
      assert.equal(res.status, 201);
      await until(() => notes.length === 1, "notification.new on node B");
      assert.equal(notes[0][0].notification.id, res.body.notification.id);

      const items = [onB, watcherOnA].map((s) => collect(s, "item.created"));
      const item = { id: "p1", title: "Hello" };
      await nodes.a.api("POST", "/api/items/posts/created", { key: true, body: { item, userId: "bx2" } });
      await until(() => items.every((got) => got.length === 1), "item.created on both nodes");
      assert.deepEqual(items[0][0][0].item, item);
    } finally {
      close(onB, watcherOnA);
    }
  });
});

describe("Ignis on two nodes", { skip }, () => {
  let nodes;
  before(async () => (nodes = await cluster("ignis")));
  after(async () => nodes?.stop());

  const client = ignisClient;

  test("node A's API lists, sends to and disconnects a client on node B", async () => {
    const onB = await client(nodes.b, "ig-b");
    try {
      const listed = await nodes.a.api("GET", "/api/clients?user=ig-b", { key: true });
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.clients.map((c) => [c.id, c.userId]), [[onB.id, "ig-b"]]);
      assert.ok(listed.body.clients[0].rooms.includes("user:ig-b"), JSON.stringify(listed.body));

      const direct = collect(onB, "direct");
      const room = collect(onB, "room-news");
      await nodes.a.api("POST", "/api/emit", { key: true, body: { sockets: [onB.id], event: "direct", data: { to: "b" } } });
      await nodes.a.api("POST", "/api/emit", { key: true, body: { rooms: ["io-notification"], event: "room-news", data: 1 } });
      await until(() => direct.length === 1 && room.length === 1, "direct and room-news on node B");
      assert.deepEqual(direct[0], [{ to: "b" }]);

      const id = onB.id;
      const gone = once(onB, "disconnect");
      const res = await nodes.a.api("POST", "/api/disconnect", { key: true, body: { users: ["ig-b"] } });
      assert.deepEqual(res.body, { disconnected: [id] });
      assert.equal((await gone)[0], "io server disconnect");
    } finally {
      close(onB);
    }
  });

  test("with Redis gone, node A still lists its own clients (within the request timeout)", async () => {
    const onA = await client(nodes.a, "ig-a");
    const onB = await client(nodes.b, "ig-b2");
    try {
      await nodes.redis.stop({ hard: true });
      const listed = await nodes.a.api("GET", "/api/clients", { key: true });
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.clients.map((c) => c.id), [onA.id]);
    } finally {
      close(onA, onB);
    }
  });
});
