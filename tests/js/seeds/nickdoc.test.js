// nick-doc marketplace (seed 001) against `confab --profile nickdoc`, with
// the client the seed prints: `io(API_URL, { withCredentials: true,
// transports: ["websocket"] })`, the browser's cookie carrying the JWT
// (`extraHeaders: { cookie }` in Node), the `join-*-room` / `leave-*-room`
// table, typing indicators, `user-online` presence and the offline the seed
// wishes for, and the CORS allow-list from FRONTEND_URL.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, apiEmit, noApiEmit, preflight, pollingHandshake, isRecentIso } from "./lib.js";
import { connected, close, ask, once, collect, quiet, sleep } from "../client/helpers.js";

const FRONTEND_URL = "http://frontend.example";

/**
 * The seed's client. The JWT rides in the `token` cookie a browser sends
 * with `withCredentials` (identity.cookie, not set by the profile: the test
 * sets CONFAB_IDENTITY__COOKIE=token). Without a jwt: the seed's anonymous
 * client as printed.
 */
function nickdocSocket(url, jwt, extra = {}) {
  return io(url, {
    withCredentials: true,
    transports: ["websocket"],
    ...(jwt ? { extraHeaders: { cookie: `token=${jwt}` } } : {}),
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...extra,
  });
}

let server;
before(async () => {
  server = await startConfab("nickdoc", { CONFAB_IDENTITY__COOKIE: "token", FRONTEND_URL });
});
after(async () => {
  await server?.stop();
});

/** A connected client of `user` (a cookie token from `confab token`). */
async function user(id, name) {
  const socket = nickdocSocket(server.url, await server.token(id, name ? { name } : {}));
  await connected(socket);
  return socket;
}

/** Asserts a rule's ack: all `rooms` joined (as a set), none refused. */
function assertJoined(reply, rooms, what) {
  assert.equal(reply.success, true, `${what}: ${JSON.stringify(reply)}`);
  assert.deepEqual([...reply.rooms].sort(), [...rooms].sort(), what);
  assert.deepEqual(reply.refused, [], what);
}

describe("nick-doc connection", () => {
  test("the seed's client connects over websocket with the JWT in the token cookie", async () => {
    const socket = nickdocSocket(server.url, await server.token("alice"));
    try {
      await connected(socket);
      assert.equal(socket.io.engine.transport.name, "websocket");
      // Authenticated as alice: her own user room is hers.
      assertJoined(await ask(socket, "join-user-room", "alice"), ["user-alice"], "join-user-room alice");
    } finally {
      close(socket);
    }
  });

  test("without a cookie the seed's client connects anonymously, and may join no user room", async () => {
    const socket = nickdocSocket(server.url, null);
    try {
      await connected(socket);
      const reply = await ask(socket, "join-user-room", "alice");
      assert.equal(reply.success, false);
      assert.deepEqual(reply.rooms, []);
      assert.deepEqual(reply.refused.map((r) => r.room), ["user-alice"]);
      // Public rooms stay open, as in the seed ("joining a room is unauthenticated").
      assertJoined(await ask(socket, "join-request-room", "r1"), ["request-r1"], "anonymous join-request-room");
    } finally {
      close(socket);
    }
  });
});

describe("nick-doc room table", () => {
  const table = [
    ["join-user-room", "alice", ["user-alice"]],
    ["join-request-room", "req-9", ["request-req-9"]],
    ["join-seller-room", "s7", ["seller-s7", "sellers"]],
    ["join-buyer-room", "b3", ["buyer-b3", "buyers"]],
    ["join-chat-room", "c1", ["chat-c1"]],
  ];
  const leaves = [
    ["leave-request-room", "req-9", ["request-req-9"]],
    ["leave-seller-room", "s7", ["seller-s7", "sellers"]],
    ["leave-buyer-room", "b3", ["buyer-b3", "buyers"]],
    ["leave-chat-room", "c1", ["chat-c1"]],
  ];

  test("every join-*-room joins its rooms (join-seller-room: seller-{id} and sellers)", async () => {
    const socket = await user("alice");
    try {
      for (const [event, arg, rooms] of table) {
        assertJoined(await ask(socket, event, arg), rooms, event);
      }
    } finally {
      close(socket);
    }
  });

  test("every leave-*-room leaves its rooms (leave-seller-room: both)", async () => {
    const socket = await user("alice");
    try {
      for (const [event, arg] of table) await ask(socket, event, arg);
      for (const [event, arg, rooms] of leaves) {
        const reply = await ask(socket, event, arg);
        assert.equal(reply.success, true, event);
        assert.deepEqual([...reply.rooms].sort(), [...rooms].sort(), event);
      }
    } finally {
      close(socket);
    }
  });

  test("numeric ids work as the seed's clients send them (join-seller-room 7)", async () => {
    const socket = await user("alice");
    try {
      assertJoined(await ask(socket, "join-seller-room", 7), ["seller-7", "sellers"], "join-seller-room 7");
    } finally {
      close(socket);
    }
  });

  test("a numeric user id: join-user-room 7 for user 7", async () => {
    const socket = await user("7");
    try {
      assertJoined(await ask(socket, "join-user-room", 7), ["user-7"], "join-user-room 7");
    } finally {
      close(socket);
    }
  });

  test("emitted without an ack (as the seed does), a join is silent", async () => {
    const socket = await user("alice");
    const refusals = collect(socket, "room:refused");
    try {
      for (const [event, arg] of table) socket.emit(event, arg);
      // ordered after the joins on the same socket
      assertJoined(await ask(socket, "join-chat-room", "c2"), ["chat-c2"], "control");
      await quiet();
      assert.deepEqual(refusals, []);
    } finally {
      close(socket);
    }
  });

  test("join-chat-room membership is real: typing reaches members, and stops after leave-chat-room", async () => {
    const [alice, bob] = await Promise.all([user("alice"), user("bob")]);
    try {
      await Promise.all([ask(alice, "join-chat-room", "c1"), ask(bob, "join-chat-room", "c1")]);
      const typed = once(bob, "user-typing");
      alice.emit("typing-start", { chatId: "c1", userId: "alice", userName: "Alice" });
      assert.deepEqual(await typed, [{ userId: "alice", userName: "Alice", isTyping: true }]);

      await ask(bob, "leave-chat-room", "c1");
      const gotBob = collect(bob, "user-typing");
      assert.deepEqual(await ask(alice, "typing-stop", { chatId: "c1", userId: "alice" }), { success: true });
      await quiet();
      assert.deepEqual(gotBob, [], "bob left chat-c1");
    } finally {
      close(alice, bob);
    }
  });

  test("server-side emitToRoom reaches the rooms the table joined, and no one else", async (t) => {
    const [seller, buyer, other] = await Promise.all([user("sam"), user("bea"), user("olga")]);
    try {
      seller.emit("join-seller-room", "sam");
      buyer.emit("join-buyer-room", "bea");
      buyer.emit("join-request-room", "r9");
      await Promise.all([ask(seller, "join-user-room", "sam"), ask(buyer, "join-user-room", "bea")]);
      const cases = [
        ["sellers", "new-purchase-request", { _id: "r9", title: "GPU" }, [seller]],
        ["seller-sam", "seller-offer-update", { sellerId: "sam", requestId: "r9", eventType: "offer-accepted", data: { offerId: "o1", isSelected: true } }, [seller]],
        ["buyers", "payment-created", { paymentId: "p1" }, [buyer]],
        ["buyer-bea", "new-offer", { requestId: "r9", offer: { price: 3 }, sellerId: "sam" }, [buyer]],
        ["request-r9", "purchase-request-update", { type: "status_changed", requestId: "r9", status: "paid" }, [buyer]],
        ["user-sam", "payment-received", { purchaseRequestId: "r9", amount: 3, currency: "USDT", buyerId: "bea" }, [seller]],
      ];
      for (const [room, event, data, members] of cases) {
        const everyone = [seller, buyer, other];
        const got = everyone.map((s) => collect(s, event));
        const arrivals = members.map((m) => once(m, event));
        const res = await apiEmit(server, { rooms: [room], event, data });
        const skip = noApiEmit(res);
        if (skip) return t.skip(skip);
        assert.ok(res.status >= 200 && res.status < 300, `POST /api/emit: ${res.status} ${res.text}`);
        for (const arrival of arrivals) assert.deepEqual(await arrival, [data], `${event} to ${room}`);
        await quiet();
        everyone.forEach((s, i) => {
          const expected = members.includes(s) ? 1 : 0;
          assert.equal(got[i].length, expected, `${event} to ${room}: socket ${i} got ${got[i].length}`);
        });
      }
    } finally {
      close(seller, buyer, other);
    }
  });
});

describe("nick-doc typing indicators", () => {
  test("typing-start / typing-stop → user-typing {userId, userName?, isTyping} to chat-{chatId} members only", async () => {
    const [alice, bob, carol] = await Promise.all([user("alice"), user("bob"), user("carol")]);
    try {
      await Promise.all([ask(alice, "join-chat-room", "c1"), ask(bob, "join-chat-room", "c1"), ask(carol, "join-chat-room", "c2")]);
      const atCarol = collect(carol, "user-typing");

      let arrives = once(bob, "user-typing");
      alice.emit("typing-start", { chatId: "c1", userId: "alice", userName: "Alice" });
      assert.deepEqual(await arrives, [{ userId: "alice", userName: "Alice", isTyping: true }]);

      arrives = once(bob, "user-typing");
      alice.emit("typing-stop", { chatId: "c1", userId: "alice" });
      assert.deepEqual(await arrives, [{ userId: "alice", isTyping: false }]);

      await quiet();
      assert.deepEqual(atCarol, [], "carol is in chat-c2, not chat-c1");
    } finally {
      close(alice, bob, carol);
    }
  });

  test("typing in a chat one has not joined reaches no one", async () => {
    const [alice, bob] = await Promise.all([user("alice"), user("bob")]);
    try {
      await ask(bob, "join-chat-room", "c7");
      const atBob = collect(bob, "user-typing");
      const reply = await ask(alice, "typing-start", { chatId: "c7", userId: "alice", userName: "Alice" });
      assert.equal(reply.success, false);
      assert.equal(typeof reply.message, "string");
      await quiet();
      assert.deepEqual(atBob, []);
    } finally {
      close(alice, bob);
    }
  });
});

describe("nick-doc online status", () => {
  test("user-online → user-status-change {userId, status: 'online', lastSeen} to everyone", async () => {
    const [alice, bob, carol] = await Promise.all([user("alice"), user("bob"), user("carol")]);
    try {
      const atBob = once(bob, "user-status-change");
      const atCarol = once(carol, "user-status-change");
      alice.emit("user-online", "alice");
      for (const [body] of [await atBob, await atCarol]) {
        assert.deepEqual(Object.keys(body).sort(), ["lastSeen", "status", "userId"]);
        assert.equal(body.userId, "alice");
        assert.equal(body.status, "online");
        assert.ok(isRecentIso(body.lastSeen), `lastSeen ${body.lastSeen}`);
      }
    } finally {
      close(alice, bob, carol);
    }
  });

  test("the last socket of a user disconnecting → status 'offline'; not while a second tab is open", async () => {
    const observer = await user("olga");
    const [tab1, tab2] = await Promise.all([user("alice"), user("alice")]);
    try {
      const statuses = collect(observer, "user-status-change");
      const online = once(observer, "user-status-change");
      tab1.emit("user-online", "alice");
      tab2.emit("user-online", "alice");
      await online;

      tab1.disconnect();
      await quiet();
      const aliceOffline = () => statuses.filter(([b]) => b.userId === "alice" && b.status === "offline");
      assert.deepEqual(aliceOffline(), [], "tab 2 still open: alice is online");

      const offline = once(observer, "user-status-change");
      tab2.disconnect();
      const [body] = await offline;
      assert.equal(body.userId, "alice");
      assert.equal(body.status, "offline");
      assert.ok(isRecentIso(body.lastSeen), `lastSeen ${body.lastSeen}`);
      await quiet();
      assert.equal(aliceOffline().length, 1, "one offline, for the last tab");
    } finally {
      close(observer, tab1, tab2);
    }
  });

  test("a tab that drops without saying goodbye (transport closed) → status 'offline' too", async () => {
    const observer = await user("olga");
    const tab = await user("dora");
    try {
      const offline = new Promise((resolve) =>
        observer.on("user-status-change", (b) => b.userId === "dora" && b.status === "offline" && resolve(b)),
      );
      tab.io.engine.close(); // the network goes away; no DISCONNECT packet
      const body = await Promise.race([offline, sleep(5000).then(() => assert.fail("no offline for dora within 5 s"))]);
      assert.ok(isRecentIso(body.lastSeen), `lastSeen ${body.lastSeen}`);
    } finally {
      close(observer, tab);
    }
  });
});

describe("nick-doc CORS: FRONTEND_URL with credentials", () => {
  test("a preflight from FRONTEND_URL is allowed, with credentials", async () => {
    const res = await preflight(server.url, "/socket.io/", FRONTEND_URL);
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    assert.equal(res.headers.get("access-control-allow-origin"), FRONTEND_URL);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  });

  test("a preflight from another origin is not allowed", async () => {
    const res = await preflight(server.url, "/socket.io/", "http://evil.example");
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  test("the polling handshake carries the CORS headers for FRONTEND_URL only", async () => {
    const ok = await pollingHandshake(server.url, "/socket.io/", FRONTEND_URL);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), FRONTEND_URL);
    assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
    const other = await pollingHandshake(server.url, "/socket.io/", "http://evil.example");
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });

  test("the seed's client with credentials over polling, from FRONTEND_URL, with the cookie", async () => {
    const socket = nickdocSocket(server.url, await server.token("alice"), {
      transports: ["polling"],
      extraHeaders: { cookie: `token=${await server.token("alice")}`, Origin: FRONTEND_URL },
    });
    try {
      await connected(socket);
      assertJoined(await ask(socket, "join-user-room", "alice"), ["user-alice"], "cookie identity over polling");
    } finally {
      close(socket);
    }
  });
});
