// nick-doc (seed 001): `new-notification` and `unread-count-update` to
// `user-{id}`, counts kept in sled and right after a restart;
// `emitGlobalEvent` and `emitToRoom` through `POST /api/emit`. The client
// is the seed's (`withCredentials`, websocket only; the browser's
// Authorization header says who it is) and joins its rooms with the seed's
// `join-*-room` events.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, ISO, until } from "./lib.js";
import { close, connected, collect, sleep } from "../client/helpers.js";

const QUIET = 300;

let confab;
before(async () => {
  confab = await startConfab("nickdoc");
});
after(async () => {
  await confab?.stop();
});

/** The seed's connection; with `userId`, the browser sends that user's token. */
async function client(userId) {
  const socket = io(confab.url, {
    withCredentials: true,
    transports: ["websocket"],
    extraHeaders: userId ? { Authorization: `Bearer ${confab.token(userId)}` } : {},
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  return socket;
}

const ask = (socket, event, arg) => socket.timeout(3000).emitWithAck(event, arg);
const backend = (method, path, body) => confab.api(method, path, { key: true, body });
const asUser = (userId, method, path, body) => confab.api(method, path, { bearer: confab.token(userId), body });

/** A user's socket that joined its room the seed's way, recording both events in order. */
async function userSocket(userId) {
  const socket = await client(userId);
  assert.equal((await ask(socket, "join-user-room", userId)).success, true);
  const log = [];
  socket.on("new-notification", (p) => log.push(["new-notification", p]));
  socket.on("unread-count-update", (p) => log.push(["unread-count-update", p]));
  return { socket, log };
}

describe("notifications", () => {
  test("new-notification then unread-count-update, counts after seen and delete, and after a restart", async () => {
    let buyer = await userSocket("b1");
    const other = await userSocket("s1");
    try {
      const first = await backend("POST", "/api/notifications", {
        userId: "b1",
        type: "new-offer",
        title: "New offer",
        body: "A seller made an offer",
        data: { requestId: "r1", offerId: "o1" },
      });
      assert.equal(first.status, 201);
      const id1 = first.body.notification._id;
      await until(() => buyer.log.length === 2, "new-notification and its count");
      const [[event, { notification }], count] = buyer.log;
      assert.equal(event, "new-notification");
      assert.deepEqual(Object.keys(notification).sort(), ["_id", "body", "createdAt", "data", "title", "type"]);
      assert.deepEqual(notification, {
        _id: id1,
        type: "new-offer",
        title: "New offer",
        body: "A seller made an offer",
        data: { requestId: "r1", offerId: "o1" },
        createdAt: notification.createdAt,
      });
      assert.match(notification.createdAt, ISO);
      assert.deepEqual(count, ["unread-count-update", { unreadCount: 1 }]);

      const second = await backend("POST", "/api/notifications", {
        userId: "b1",
        type: "payment-received",
        title: "Payment",
        body: "Paid",
        data: {},
      });
      const id2 = second.body.notification._id;
      await until(() => buyer.log.length === 4, "second notification");
      assert.deepEqual(buyer.log[3], ["unread-count-update", { unreadCount: 2 }]);

      // The user marks one seen with their own token.
      const seen = await asUser("b1", "POST", `/api/notifications/${id1}/seen`);
      assert.equal(seen.status, 200);
      await until(() => buyer.log.length === 5, "count after seen");
      assert.deepEqual(buyer.log[4], ["unread-count-update", { unreadCount: 1 }]);
      assert.deepEqual((await asUser("b1", "GET", "/api/notifications/unread-count")).body, { unreadCount: 1 });
      assert.deepEqual((await backend("GET", "/api/notifications/unread-count?userId=b1")).body, { unreadCount: 1 });
      await sleep(QUIET);
      assert.deepEqual(other.log, [], "another user hears nothing");
      close(buyer.socket, other.socket);

      // --- restart on the same data directory ---
      await confab.restart();
      assert.deepEqual((await asUser("b1", "GET", "/api/notifications/unread-count")).body, { unreadCount: 1 });
      const list = await asUser("b1", "GET", "/api/notifications");
      assert.equal(list.status, 200);
      assert.equal(list.body.unreadCount, 1);
      assert.deepEqual(
        list.body.notifications.map((n) => [n._id, n.title, n.seen]),
        [
          [id2, "Payment", false],
          [id1, "New offer", true],
        ],
      );
      // The seed's reconnection policy: re-join, re-fetch the count.
      buyer = await userSocket("b1");
      const third = await backend("POST", "/api/notifications", { userId: "b1", title: "Level up", body: "Level 2" });
      assert.equal(third.status, 201);
      assert.notEqual(third.body.notification._id, id1);
      assert.notEqual(third.body.notification._id, id2);
      await until(() => buyer.log.length === 2, "notification after the restart");
      assert.deepEqual(buyer.log[1], ["unread-count-update", { unreadCount: 2 }]);
      const del = await asUser("b1", "DELETE", `/api/notifications/${id2}`);
      assert.equal(del.status, 200);
      await until(() => buyer.log.length === 3, "count after delete");
      assert.deepEqual(buyer.log[2], ["unread-count-update", { unreadCount: 1 }]);
      close(buyer.socket);

      // --- killed without a chance to flush: every change was on disk already ---
      await confab.restart({ kill: true });
      assert.deepEqual((await asUser("b1", "GET", "/api/notifications/unread-count")).body, { unreadCount: 1 });
      buyer = await userSocket("b1");
      const all = await asUser("b1", "POST", "/api/notifications/seen");
      assert.deepEqual(all.body, { updated: 1, unreadCount: 0 });
      await until(() => buyer.log.length === 1, "count after all seen");
      assert.deepEqual(buyer.log[0], ["unread-count-update", { unreadCount: 0 }]);
    } finally {
      close(buyer.socket, other.socket);
    }
  });

  test("a user token reads only its own notifications", async () => {
    const created = await backend("POST", "/api/notifications", { userId: "x1", title: "Mine", body: "secret" });
    const id = created.body.notification._id;
    assert.equal((await asUser("x2", "GET", "/api/notifications?userId=x1")).status, 403);
    assert.equal((await asUser("x2", "GET", "/api/notifications/unread-count?userId=x1")).status, 403);
    assert.equal((await asUser("x2", "POST", `/api/notifications/${id}/seen`)).status, 404);
    assert.equal((await asUser("x2", "DELETE", `/api/notifications/${id}`)).status, 404);
    assert.equal((await asUser("x2", "POST", "/api/notifications", { userId: "x2", title: "t" })).status, 403);
    assert.equal((await asUser("x1", "GET", `/api/notifications/${id}`)).body.notification.body, "secret");
    assert.equal((await backend("GET", "/api/notifications")).status, 400, "a backend names the user");
  });

  test("the browser's own call with the token cookie (withCredentials) reads its count", async () => {
    await backend("POST", "/api/notifications", { userId: "c1", title: "Hi", body: "there" });
    const cookie = (userId, roles) => ({ headers: { Cookie: `token=${confab.token(userId, { roles })}` } });
    const mine = await confab.api("GET", "/api/notifications/unread-count", cookie("c1"));
    assert.deepEqual([mine.status, mine.body], [200, { unreadCount: 1 }]);
    // A cookie never makes an admin: a page of another site cannot use the API through the browser.
    const admin = await confab.api("POST", "/api/emit", { ...cookie("c1", ["admin"]), body: { event: "x" } });
    assert.equal(admin.status, 403);
    const forged = await confab.api("GET", "/api/notifications/unread-count", { headers: { Cookie: "token=x.y.z" } });
    assert.equal(forged.status, 401);
  });

  test("a page of another site cannot use the browser's cookie: its origin is not trusted", async () => {
    await backend("POST", "/api/notifications", { userId: "c2", title: "Hi", body: "there" });
    const token = confab.token("c2");
    const from = (origin) => ({ headers: { Cookie: `token=${token}`, Origin: origin } });
    // A form POST from anywhere carries the cookie: refused, nothing marked.
    const foreign = await confab.api("POST", "/api/notifications/seen", from("http://evil.example"));
    assert.equal(foreign.status, 401);
    const count = await confab.api("GET", "/api/notifications/unread-count", from("http://evil.example"));
    assert.equal(count.status, 401);
    // The server's own origin is trusted with its cookie.
    const own = await confab.api("POST", "/api/notifications/seen", from(new URL(confab.url).origin));
    assert.deepEqual([own.status, own.body.unreadCount], [200, 0]);
  });
});

describe("emitGlobalEvent and emitToRoom", () => {
  test("no target is everyone (anonymous sockets too); rooms reach their members only", async () => {
    const anon = await client();
    const seller = await client("seller-7");
    const buyer = await client("buyer-3");
    try {
      const joined = await ask(seller, "join-seller-room", "seller-7");
      assert.equal(joined.success, true);
      assert.deepEqual(joined.rooms, ["seller-seller-7", "sellers"]);
      const everyone = [anon, seller, buyer].map((s) => collect(s, "template-checkout-payment-pending"));
      const toSellers = [anon, seller, buyer].map((s) => collect(s, "new-purchase-request"));
      // emitGlobalEvent(event, data)
      await backend("POST", "/api/emit", { event: "template-checkout-payment-pending", data: { checkoutId: "c1" } });
      // emitToRoom("sellers", event, data)
      const request = { _id: "r1", title: "Need a GPU", budget: 500 };
      await backend("POST", "/api/emit", { rooms: ["sellers"], event: "new-purchase-request", data: request });
      await until(() => everyone.every((g) => g.length === 1), "global event everywhere");
      assert.deepEqual(everyone[0][0], [{ checkoutId: "c1" }]);
      await until(() => toSellers[1].length === 1, "room event");
      assert.deepEqual(toSellers[1][0], [request]);
      // except: a room's members minus a socket.
      const minus = collect(seller, "seller-offer-update");
      await backend("POST", "/api/emit", { rooms: "sellers", except: seller.id, event: "seller-offer-update", data: {} });
      await sleep(QUIET);
      assert.deepEqual([toSellers[0].length, toSellers[2].length, minus.length], [0, 0, 0]);
    } finally {
      close(anon, seller, buyer);
    }
  });

  test("to users: user-{id} rooms of every device", async () => {
    const a = await client("u-a");
    const a2 = await client("u-a");
    const b = await client("u-b");
    try {
      const got = [a, a2, b].map((s) => collect(s, "transaction-completed"));
      await backend("POST", "/api/emit", { users: ["u-a"], event: "transaction-completed", data: { requestId: "r9" } });
      await until(() => got[0].length === 1 && got[1].length === 1, "both devices");
      await sleep(QUIET);
      assert.equal(got[2].length, 0);
    } finally {
      close(a, a2, b);
    }
  });
});
