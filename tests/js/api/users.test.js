// Users and friendships over HTTP, as a backend with its users in its own
// database sets them (the Syarah backend): `PUT`/`GET /api/users/{id}`,
// `GET /api/users/{id}/friendships`, `PUT /api/friendships` with the seed's
// numbering (0 pending, 1 accepted, 2 rejected, 3 blocked, null none); each
// change pushed to the connected users (`friendshipUpdated`, `userUpdated`),
// and seen by the chat contract's own `getMyFriendships`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, ISO } from "./lib.js";
import { close, connected, collect, once, quiet } from "../client/helpers.js";

let confab;
before(async () => {
  confab = await startConfab(null);
});
after(async () => {
  await confab?.stop();
});

const backend = (method, path, body) => confab.api(method, path, { key: true, body });

async function client(userId) {
  const socket = io(confab.url, { auth: { token: confab.token(userId) }, forceNew: true, reconnection: false, timeout: 5000 });
  await connected(socket);
  return socket;
}

describe("users", () => {
  test("PUT creates (201) then updates (200); absent fields are kept; GET reads", async () => {
    const created = await backend("PUT", "/api/users/u-ada", { name: "Ada", avatar: "https://img.example/ada.png" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body, { user: { id: "u-ada", name: "Ada", avatar: "https://img.example/ada.png", isOnline: false } });
    const renamed = await backend("PUT", "/api/users/u-ada", { name: "Ada L." });
    assert.equal(renamed.status, 200);
    assert.deepEqual(renamed.body.user, { id: "u-ada", name: "Ada L.", avatar: "https://img.example/ada.png", isOnline: false });
    const read = await backend("GET", "/api/users/u-ada");
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, renamed.body);
    // A numeric id, as the Syarah backend's are.
    assert.equal((await backend("PUT", "/api/users/42", {})).status, 201);
    assert.equal((await backend("GET", "/api/users/42")).body.user.id, "42");
  });

  test("limits: a name of 256 characters and an avatar of 2048 bytes pass, one more is 400", async () => {
    assert.equal((await backend("PUT", "/api/users/u-long", { name: "n".repeat(256), avatar: "a".repeat(2048) })).status, 201);
    const name = await backend("PUT", "/api/users/u-long", { name: "n".repeat(257) });
    assert.equal(name.status, 400);
    assert.match(name.body.error, /name/);
    const avatar = await backend("PUT", "/api/users/u-long", { avatar: "a".repeat(2049) });
    assert.equal(avatar.status, 400);
    assert.match(avatar.body.error, /avatar/);
  });
});

describe("friendships", () => {
  test("PUT sets each status of the seed's numbering; GET lists them; null ends one", async () => {
    for (const [id, name] of [["f-a", "A"], ["f-b", "B"], ["f-c", "C"]]) assert.equal((await backend("PUT", `/api/users/${id}`, { name })).status, 201);
    for (const status of [0, 1, 2, 3]) {
      const res = await backend("PUT", "/api/friendships", { userId: "f-a", otherUserId: "f-b", status });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const f = res.body.friendship;
      assert.deepEqual([f.userId, f.friendshipStatus, f.by], ["f-b", status, "f-a"]);
      assert.match(f.updatedAt, ISO);
    }
    const blocked = await backend("PUT", "/api/friendships", { userId: "f-a", otherUserId: "f-c", status: 3, by: "f-c" });
    assert.equal(blocked.body.friendship.by, "f-c");
    const list = await backend("GET", "/api/users/f-a/friendships");
    assert.equal(list.status, 200);
    const byOther = Object.fromEntries(list.body.friendships.map((f) => [f.userId, f]));
    assert.deepEqual(Object.keys(byOther).sort(), ["f-b", "f-c"]);
    assert.deepEqual(
      { ...byOther["f-b"], updatedAt: "t" },
      { userId: "f-b", friendshipStatus: 3, by: "f-a", updatedAt: "t", name: "B", avatar: null, isOnline: false, chatHeaderId: null },
    );
    // Seen from the other side too.
    const fromB = await backend("GET", "/api/users/f-b/friendships");
    assert.deepEqual(fromB.body.friendships.map((f) => [f.userId, f.friendshipStatus]), [["f-a", 3]]);
    const ended = await backend("PUT", "/api/friendships", { userId: "f-a", otherUserId: "f-b", status: null });
    assert.equal(ended.status, 200);
    assert.deepEqual(ended.body.friendship, { userId: "f-b", friendshipStatus: null, by: "f-a" });
    const after = await backend("GET", "/api/users/f-a/friendships");
    assert.deepEqual(after.body.friendships.map((f) => f.userId), ["f-c"]);
  });

  test("connected users are told: friendshipUpdated to both, userUpdated to the user and friends; getMyFriendships agrees", async () => {
    for (const id of ["p-ann", "p-ben", "p-cat"]) await backend("PUT", `/api/users/${id}`, { name: id });
    const [ann, ben, cat] = await Promise.all([client("p-ann"), client("p-ben"), client("p-cat")]);
    try {
      const atCat = collect(cat, "friendshipUpdated");
      const toAnn = once(ann, "friendshipUpdated");
      const toBen = once(ben, "friendshipUpdated");
      const res = await backend("PUT", "/api/friendships", { userId: "p-ann", otherUserId: "p-ben", status: 1 });
      assert.equal(res.status, 200);
      const [[a], [b]] = await Promise.all([toAnn, toBen]);
      assert.deepEqual([a.userId, a.friendshipStatus, a.by], ["p-ben", 1, "p-ann"]);
      assert.deepEqual([b.userId, b.friendshipStatus, b.by], ["p-ann", 1, "p-ann"]);
      const friends = await ann.timeout(3000).emitWithAck("getMyFriendships", {});
      assert.deepEqual(friends, [{ userId: "p-ben", name: "p-ben", avatar: null, isOnline: true, chatHeaderId: null }]);

      const selfSees = once(ann, "userUpdated");
      const friendSees = once(ben, "userUpdated");
      const strangers = collect(cat, "userUpdated");
      const renamed = await backend("PUT", "/api/users/p-ann", { name: "Ann", avatar: "https://img.example/ann.png" });
      assert.equal(renamed.status, 200);
      const expected = { userId: "p-ann", name: "Ann", avatar: "https://img.example/ann.png" };
      assert.deepEqual((await selfSees)[0], expected);
      assert.deepEqual((await friendSees)[0], expected);
      const listed = await backend("GET", "/api/users/p-ben/friendships");
      assert.deepEqual([listed.body.friendships[0].name, listed.body.friendships[0].isOnline], ["Ann", true]);
      await quiet();
      assert.deepEqual(atCat, []);
      assert.deepEqual(strangers, []);
    } finally {
      close(ann, ben, cat);
    }
  });
});

describe("refusals", () => {
  const routes = [
    ["PUT", "/api/users/r-a", { name: "A" }],
    ["GET", "/api/users/r-a"],
    ["GET", "/api/users/r-a/friendships"],
    ["PUT", "/api/friendships", { userId: "r-a", otherUserId: "r-b", status: 1 }],
  ];

  test("no key, or a wrong one: 401 on every route, and nothing changes", async () => {
    for (const [method, path, body] of routes) {
      assert.equal((await confab.api(method, path, { body })).status, 401, `${method} ${path}`);
      assert.equal((await confab.api(method, path, { body, key: "not-the-key" })).status, 401, `${method} ${path}`);
    }
    assert.equal((await backend("GET", "/api/users/r-a")).status, 404, "not created");
  });

  test("a user's own token is 403", async () => {
    const token = confab.token("r-user");
    for (const [method, path, body] of routes) {
      assert.equal((await confab.api(method, path, { body, bearer: token })).status, 403, `${method} ${path}`);
    }
  });

  test("bad ids: 400", async () => {
    await backend("PUT", "/api/users/r-ok", {});
    const long = "x".repeat(513);
    assert.equal((await backend("PUT", `/api/users/${"x".repeat(512)}`, {})).status, 201, "512 bytes is an id");
    for (const [method, path, body] of [
      ["PUT", `/api/users/${long}`, {}],
      ["GET", `/api/users/${long}`],
      ["GET", `/api/users/%20/friendships`],
      ["PUT", "/api/friendships", { userId: true, otherUserId: "r-ok", status: 1 }],
      ["PUT", "/api/friendships", { userId: "", otherUserId: "r-ok", status: 1 }],
      ["PUT", "/api/friendships", { userId: 1.5, otherUserId: "r-ok", status: 1 }],
      ["PUT", "/api/friendships", { userId: "r-ok", otherUserId: "r-ok", status: 1 }],
      ["PUT", "/api/friendships", { userId: "r-ok", otherUserId: long, status: 1 }],
      ["PUT", "/api/friendships", { userId: "r-ok", otherUserId: "x".repeat(512), status: 1, by: "someone-else" }],
    ]) {
      const res = await backend(method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${res.status}`);
      assert.equal(typeof res.body.error, "string");
    }
  });

  test("unknown users: 404", async () => {
    await backend("PUT", "/api/users/r-known", {});
    for (const [method, path, body] of [
      ["GET", "/api/users/r-nobody"],
      ["GET", "/api/users/r-nobody/friendships"],
      ["PUT", "/api/friendships", { userId: "r-known", otherUserId: "r-nobody", status: 1 }],
      ["PUT", "/api/friendships", { userId: "r-nobody", otherUserId: "r-known", status: null }],
    ]) {
      const res = await backend(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error, "user not found");
    }
  });

  test("bad statuses and bodies: 400", async () => {
    for (const id of ["s-a", "s-b"]) await backend("PUT", `/api/users/${id}`, {});
    for (const status of [4, -1, 1.5, "1", true, [1], { s: 1 }, undefined]) {
      const res = await backend("PUT", "/api/friendships", { userId: "s-a", otherUserId: "s-b", status });
      assert.equal(res.status, 400, `status ${JSON.stringify(status)}`);
      assert.match(res.body.error, /status/);
    }
    assert.equal((await backend("PUT", "/api/users/s-a", { nmae: "typo" })).status, 400);
    assert.equal((await backend("PUT", "/api/users/s-a", { name: 7 })).status, 400);
    assert.equal((await backend("PUT", "/api/friendships", { userId: "s-a", otherUserId: "s-b", status: 1, extra: 1 })).status, 400);
    assert.deepEqual((await backend("GET", "/api/users/s-a/friendships")).body, { friendships: [] }, "nothing was set");
  });
});
