// Ignis (seed 004): the server helper's `send` to a socket id, a room or
// everyone, `getClients`, and disconnecting clients, done by a backend over
// the HTTP API, against clients that authenticate the Ignis way (connect,
// then emit `authenticate`).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, ISO, until } from "./lib.js";
import { close, connected, collect, once, sleep } from "../client/helpers.js";

const QUIET = 300;

let confab;
before(async () => {
  confab = await startConfab("ignis");
});
after(async () => {
  await confab?.stop();
});

/** SocketIOClientHelper's flow: connect with the token in the headers, then `authenticate`. */
async function client(userId) {
  const socket = io(confab.url, {
    extraHeaders: userId ? { Authorization: `Bearer ${confab.token(userId)}` } : {},
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  if (userId) {
    const authenticated = once(socket, "authenticated");
    socket.emit("authenticate");
    const [body] = await authenticated;
    assert.equal(body.id, socket.id);
  }
  return socket;
}

const backend = (method, path, body) => confab.api(method, path, { key: true, body });

describe("send", () => {
  test("to a socket id, to a room, to everyone", async () => {
    const a = await client("ig-a");
    const b = await client("ig-b");
    const waiting = await client(); // connected, not authenticated yet
    try {
      const all = [a, b, waiting];
      const direct = all.map((s) => collect(s, "direct"));
      const room = all.map((s) => collect(s, "room-news"));
      const broadcast = all.map((s) => collect(s, "everyone"));
      await backend("POST", "/api/emit", { sockets: [b.id], event: "direct", data: { to: "b" } });
      await backend("POST", "/api/emit", { rooms: ["io-notification"], event: "room-news", data: { n: 1 } });
      await backend("POST", "/api/emit", { event: "everyone", data: { all: true } });
      await until(() => direct[1].length === 1, "direct");
      assert.deepEqual(direct[1][0], [{ to: "b" }]);
      await until(() => room[0].length === 1 && room[1].length === 1, "room");
      await until(() => broadcast.every((g) => g.length === 1), "everyone");
      await sleep(QUIET);
      assert.deepEqual([direct[0].length, direct[2].length, room[2].length], [0, 0, 0]);
    } finally {
      close(a, b, waiting);
    }
  });
});

describe("send with acks", () => {
  test("the backend waits for each client's ack (ackTimeoutMs) and gets every reply", async () => {
    const a = await client("ig-ack-a");
    const b = await client("ig-ack-b");
    const mute = await client("ig-ack-mute");
    try {
      for (const s of [a, b]) s.on("confirm", (data, cb) => cb({ id: s.id, n: data.n }));
      mute.on("confirm", () => {});
      const res = await backend("POST", "/api/emit", {
        sockets: [a.id, b.id],
        event: "confirm",
        data: { n: 3 },
        ackTimeoutMs: 3000,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.complete, true);
      assert.equal(res.body.expected, 2);
      assert.deepEqual(res.body.replies.map((r) => r.id).sort(), [a.id, b.id].sort());
      assert.ok(res.body.replies.every((r) => r.n === 3));
      // a client that never acks: the replies that came, not complete
      const late = await backend("POST", "/api/emit", {
        sockets: [a.id, mute.id],
        event: "confirm",
        data: { n: 4 },
        ackTimeoutMs: 300,
      });
      assert.deepEqual(
        [late.body.complete, late.body.expected, late.body.replies],
        [false, 2, [{ id: a.id, n: 4 }]],
      );
      for (const ackTimeoutMs of [0, 600001]) {
        const bad = await backend("POST", "/api/emit", { event: "confirm", ackTimeoutMs });
        assert.equal(bad.status, 400, `ackTimeoutMs ${ackTimeoutMs}`);
      }
    } finally {
      close(a, b, mute);
    }
  });
});

describe("clients", () => {
  test("listed with user, rooms and connection time; filtered by room and user", async () => {
    const a = await client("ig-list");
    const anon = await client();
    try {
      const res = await backend("GET", "/api/clients");
      assert.equal(res.status, 200);
      const byId = new Map(res.body.clients.map((c) => [c.id, c]));
      const mine = byId.get(a.id);
      assert.deepEqual(Object.keys(mine).sort(), ["connectedAt", "id", "nsp", "rooms", "userId"]);
      assert.equal(mine.userId, "ig-list");
      assert.deepEqual(mine.rooms, [a.id, "io-default", "io-notification", "user:ig-list"]);
      assert.match(mine.connectedAt, ISO);
      assert.ok(Math.abs(Date.parse(mine.connectedAt) - Date.now()) < 60_000);
      assert.equal(byId.get(anon.id).userId, null);
      assert.deepEqual(byId.get(anon.id).rooms, [anon.id]);

      const inRoom = await backend("GET", "/api/clients?room=io-default");
      assert.ok(inRoom.body.clients.some((c) => c.id === a.id));
      assert.ok(!inRoom.body.clients.some((c) => c.id === anon.id));
      const ofUser = await backend("GET", "/api/clients?user=ig-list");
      assert.deepEqual(ofUser.body.clients.map((c) => c.id), [a.id]);
    } finally {
      close(a, anon);
    }
  });
});

describe("disconnect", () => {
  test("a socket, then every socket of a user, from the server", async () => {
    const one = await client("ig-d1");
    const phone = await client("ig-d2");
    const laptop = await client("ig-d2");
    const bystander = await client("ig-d3");
    try {
      // A socket's id is cleared when it disconnects: keep them first.
      const [oneId, phoneId, laptopId] = [one.id, phone.id, laptop.id];
      const gone = once(one, "disconnect");
      const res = await backend("POST", "/api/disconnect", { sockets: [oneId] });
      assert.deepEqual(res.body, { disconnected: [oneId] });
      assert.equal((await gone)[0], "io server disconnect");

      const phoneGone = once(phone, "disconnect");
      const laptopGone = once(laptop, "disconnect");
      const users = await backend("POST", "/api/disconnect", { users: ["ig-d2"] });
      assert.deepEqual(users.body.disconnected.sort(), [phoneId, laptopId].sort());
      assert.equal((await phoneGone)[0], "io server disconnect");
      assert.equal((await laptopGone)[0], "io server disconnect");
      await sleep(QUIET);
      assert.equal(bystander.connected, true);
      const left = await backend("GET", "/api/clients?user=ig-d2");
      assert.deepEqual(left.body.clients, []);
    } finally {
      close(one, phone, laptop, bystander);
    }
  });
});
