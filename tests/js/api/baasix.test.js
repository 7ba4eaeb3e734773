// BAASIX (seed 002): item events to `collection:{name}` and
// `item:{collection}:{id}`, file events and notifications to the user, and
// `emitToUser` custom events, with the seed's payloads, pushed by a backend
// through the HTTP API; the clients are the seed's (path `/realtime`, the
// token in `auth.token`, `join` with an ack).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, ISO, until } from "./lib.js";
import { close, connected, collect, sleep } from "../client/helpers.js";

const QUIET = 300;

let confab;
before(async () => {
  confab = await startConfab("baasix");
});
after(async () => {
  await confab?.stop();
});

/** The seed's client: path /realtime, websocket then polling, the token in auth. */
async function client(userId) {
  const socket = io(confab.url, {
    path: "/realtime",
    transports: ["websocket", "polling"],
    autoConnect: true,
    auth: { token: confab.token(userId) },
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  return socket;
}

/** The seed's join: `socket.emit('join', room, (response) => ...)`. */
function join(socket, room) {
  return new Promise((resolve) => socket.emit("join", room, resolve));
}

const backend = (method, path, body) => confab.api(method, path, { key: true, body });

describe("item events", () => {
  test("reach the collection's and the item's rooms, once each, with the seed's payload", async () => {
    const [watcher, reader, both, outsider] = await Promise.all(["u1", "u2", "u3", "u4"].map(client));
    try {
      assert.deepEqual(await join(watcher, "collection:posts"), { success: true });
      assert.deepEqual(await join(reader, "item:posts:p1"), { success: true });
      assert.deepEqual(await join(both, "collection:posts"), { success: true });
      assert.deepEqual(await join(both, "item:posts:p1"), { success: true });
      const got = new Map([watcher, reader, both, outsider].map((s) => [s, collect(s, "item.created")]));
      const item = { id: "p1", title: "Hello", user: "u1", text: "first post" };
      const res = await backend("POST", "/api/items/posts/created", { item, userId: "u1" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { ok: true, event: "item.created", rooms: ["collection:posts", "item:posts:p1"] });
      for (const s of [watcher, reader, both]) await until(() => got.get(s).length === 1, "item.created");
      const [[payload]] = got.get(watcher);
      assert.deepEqual(Object.keys(payload).sort(), ["collection", "item", "timestamp", "userId"]);
      assert.deepEqual({ ...payload, timestamp: "t" }, { collection: "posts", item, userId: "u1", timestamp: "t" });
      assert.match(payload.timestamp, ISO);
      await sleep(QUIET);
      assert.equal(got.get(both).length, 1, "a socket in both rooms gets one copy");
      assert.equal(got.get(outsider).length, 0);

      // The seed's handler: `if (data.collection === 'posts' && data.item.id === currentPostId)`.
      const updates = collect(reader, "item.updated");
      const deletes = collect(watcher, "item.deleted");
      await backend("POST", "/api/items/posts/updated", { item: { id: "p1", title: "Edited" } });
      await backend("POST", "/api/items/posts/deleted", { item: { id: "p1" }, userId: "u2" });
      await until(() => updates.length === 1 && deletes.length === 1, "updated and deleted");
      assert.equal(updates[0][0].collection, "posts");
      assert.deepEqual(updates[0][0].item, { id: "p1", title: "Edited" });
      assert.equal(updates[0][0].userId, null);
      assert.deepEqual(deletes[0][0].item, { id: "p1" });
      assert.equal(deletes[0][0].userId, "u2");
    } finally {
      close(watcher, reader, both, outsider);
    }
  });

  test("numeric ids name the item room too", async () => {
    const s = await client("u5");
    try {
      assert.deepEqual(await join(s, "item:messages:42"), { success: true });
      const got = collect(s, "item.created");
      await backend("POST", "/api/items/messages/created", { item: { id: 42, user: "u5", text: "hi" } });
      await until(() => got.length === 1, "item.created");
      assert.deepEqual(got[0][0].item, { id: 42, user: "u5", text: "hi" });
    } finally {
      close(s);
    }
  });

  test("bad item events are 400", async () => {
    for (const [path, body] of [
      ["/api/items/posts/created", { item: { title: "no id" } }],
      ["/api/items/posts/created", {}],
      ["/api/items/posts/create", { item: { id: 1 } }],
      ["/api/items/a:b/created", { item: { id: 1 } }],
      ["/api/files/moved", { file: { id: "f" }, user: "u1" }],
      ["/api/files/uploaded", { file: { id: "f" } }],
    ]) {
      const res = await backend("POST", path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body.error, "string");
    }
  });
});

describe("file events", () => {
  test("file.uploaded and file.deleted reach the user's sockets with {file, action, user}", async () => {
    const [mine, mineToo, other] = await Promise.all(["f1", "f1", "f2"].map(client));
    try {
      const got = [mine, mineToo, other].map((s) => collect(s, "file.uploaded"));
      const file = { id: "file_id", filename: "example.jpg", size: 1024, mimetype: "image/jpeg" };
      const res = await backend("POST", "/api/files/uploaded", { file, user: "f1" });
      assert.deepEqual(res.body, { ok: true, event: "file.uploaded" });
      await until(() => got[0].length === 1 && got[1].length === 1, "file.uploaded on both devices");
      assert.deepEqual(got[0][0][0], { file, action: "uploaded", user: "f1" });
      const deleted = collect(mine, "file.deleted");
      await backend("POST", "/api/files/deleted", { file, user: "f1" });
      await until(() => deleted.length === 1, "file.deleted");
      assert.deepEqual(deleted[0][0], { file, action: "deleted", user: "f1" });
      await sleep(QUIET);
      assert.equal(got[2].length, 0);
    } finally {
      close(mine, mineToo, other);
    }
  });
});

describe("notifications", () => {
  test("notification.new, .seen and .deleted to the user's room with the seed's payload", async () => {
    const [mine, other] = await Promise.all(["n1", "n2"].map(client));
    try {
      const events = ["notification.new", "notification.seen", "notification.deleted"];
      const got = Object.fromEntries(events.map((e) => [e, collect(mine, e)]));
      const leaked = events.map((e) => collect(other, e));
      const res = await backend("POST", "/api/notifications", {
        userId: "n1",
        type: "info",
        title: "Notification Title",
        message: "Notification message",
        data: { postId: "p1" },
      });
      assert.equal(res.status, 201);
      const stored = res.body.notification;
      await until(() => got["notification.new"].length === 1, "notification.new");
      const { notification } = got["notification.new"][0][0];
      assert.deepEqual(Object.keys(notification).sort(), ["createdAt", "data", "id", "message", "seen", "title", "type", "userId"]);
      assert.deepEqual(notification, {
        id: stored.id,
        type: "info",
        title: "Notification Title",
        message: "Notification message",
        data: { postId: "p1" },
        seen: false,
        userId: "n1",
        createdAt: stored.createdAt,
      });
      assert.match(notification.createdAt, ISO);

      const seen = await backend("POST", `/api/notifications/${stored.id}/seen`);
      assert.equal(seen.status, 200);
      assert.equal(seen.body.unreadCount, 0);
      await until(() => got["notification.seen"].length === 1, "notification.seen");
      assert.deepEqual(got["notification.seen"][0][0].notification, { ...notification, seen: true });

      const del = await backend("DELETE", `/api/notifications/${stored.id}`);
      assert.equal(del.status, 200);
      await until(() => got["notification.deleted"].length === 1, "notification.deleted");
      assert.equal(got["notification.deleted"][0][0].notification.id, stored.id);
      assert.equal((await backend("DELETE", `/api/notifications/${stored.id}`)).status, 404);
      await sleep(QUIET);
      assert.deepEqual(leaked, [[], [], []]);
    } finally {
      close(mine, other);
    }
  });

  test("a custom event to a user (socket.emitToUser in a hook) through /api/emit", async () => {
    const [mine, other] = await Promise.all(["h1", "h2"].map(client));
    try {
      const got = collect(mine, "notification.new");
      const leaked = collect(other, "notification.new");
      const res = await backend("POST", "/api/emit", {
        users: ["h1"],
        event: "notification.new",
        data: { id: 9, message: "from a hook", type: "info" },
      });
      assert.equal(res.status, 200);
      await until(() => got.length === 1, "custom event");
      assert.deepEqual(got[0], [{ id: 9, message: "from a hook", type: "info" }]);
      await sleep(QUIET);
      assert.equal(leaked.length, 0);
    } finally {
      close(mine, other);
    }
  });
});
