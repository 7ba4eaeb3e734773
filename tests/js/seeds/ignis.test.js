// Ignis (seed 004) against `confab --profile ignis`, with the client its
// SocketIOClientHelper drives: `io(host, { path, extraHeaders })`, then
// `authenticate` on `connect` (the server's authenticateFn reads the
// handshake: here `Authorization: Bearer`), `authenticated {id, time}` /
// `unauthenticated`, the `ping {time}` heartbeat, and `join` / `leave` with
// `{rooms}` filtered by the room policy (the profile's validator).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, apiEmit, noApiEmit, isRecentIso, nowSecs } from "./lib.js";
import { connected, close, ask, once, collect, quiet, sleep } from "../client/helpers.js";

const PING_MS = 300;
const LATE_TIMEOUT_MS = 800;

/**
 * The Ignis client helper's connection: `io(host, { path, extraHeaders })`,
 * the token in the handshake's Authorization header, its state machine, and
 * `authenticate()` from `onConnected` unless `authenticate: false`.
 */
function ignisClient(url, token, { authenticate = true, ...extra } = {}) {
  const client = io(url, {
    path: "/socket.io",
    extraHeaders: token ? { Authorization: `Bearer ${token}` } : {},
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...extra,
  });
  client.state = "unauthorized";
  client.on("connect", () => {
    if (authenticate && client.state === "unauthorized") {
      client.state = "authenticating";
      client.emit("authenticate");
    }
  });
  client.on("disconnect", () => (client.state = "unauthorized"));
  client.on("authenticated", () => (client.state = "authenticated"));
  client.on("unauthenticated", () => (client.state = "unauthorized"));
  return client;
}

/** An authenticated Ignis client and the body of its `authenticated`. */
async function authenticated(server, user) {
  const client = ignisClient(server.url, await server.token(user));
  const body = once(client, "authenticated");
  try {
    await connected(client);
    const [payload] = await body;
    return { client, payload };
  } catch (err) {
    close(client);
    throw err;
  }
}

/** Records every `first` and the `then` that ends the wait: resolves with [[event, ...args], ...] in arrival order. */
function eventsUntil(socket, first, then, ms = 5000) {
  return new Promise((resolve, reject) => {
    const order = [];
    const timer = setTimeout(() => reject(new Error(`saw ${JSON.stringify(order)}, waited for ${first} then ${then}`)), ms);
    socket.on(first, (...args) => order.push([first, ...args]));
    socket.on(then, (...args) => {
      order.push([then, ...args]);
      clearTimeout(timer);
      resolve(order);
    });
  });
}

let server;
before(async () => {
  server = await startConfab("ignis", { CONFAB_AUTH__PING_INTERVAL_MS: String(PING_MS) });
});
after(async () => {
  await server?.stop();
});

describe("Ignis authentication", () => {
  test("connect, then authenticate → authenticated {id, time}", async () => {
    const client = ignisClient(server.url, await server.token("u1"));
    try {
      const got = once(client, "authenticated");
      await connected(client);
      const [body] = await got;
      assert.deepEqual(Object.keys(body).sort(), ["id", "time"]);
      assert.equal(body.id, client.id, "id is the socket's id");
      assert.ok(isRecentIso(body.time), `time ${body.time}`);
      assert.equal(client.state, "authenticated");
    } finally {
      close(client);
    }
  });

  test("authenticate's ack (if asked) says who; a second authenticate changes nothing", async () => {
    const client = ignisClient(server.url, await server.token("u1"), { authenticate: false });
    try {
      await connected(client);
      const reply = await ask(client, "authenticate");
      assert.deepEqual(reply, { success: true, userId: "u1" });
      const again = collect(client, "authenticated");
      assert.deepEqual(await ask(client, "authenticate"), { success: true, userId: "u1" });
      await quiet();
      assert.deepEqual(again, [], "no second authenticated");
    } finally {
      close(client);
    }
  });

  test("a bad token → unauthenticated, then the server disconnects", async () => {
    const bad = server.sign({ sub: "u1", exp: nowSecs() + 3600 }, { secret: "not-the-secret" });
    for (const [what, token] of [["wrong key", bad], ["no token", null]]) {
      const client = ignisClient(server.url, token);
      try {
        const order = eventsUntil(client, "unauthenticated", "disconnect");
        await connected(client);
        const seen = await order;
        assert.equal(seen.length, 2, `${what}: ${JSON.stringify(seen)}`);
        const [[first, body], [second, reason]] = seen;
        assert.equal(first, "unauthenticated", what);
        assert.equal(typeof body?.message, "string", `${what}: unauthenticated carries a message`);
        assert.equal(second, "disconnect", what);
        assert.equal(reason, "io server disconnect", what);
        assert.equal(client.state, "unauthorized");
      } finally {
        close(client);
      }
    }
  });

  test("events before authentication are refused: an ack gets {error: 'unauthenticated'}", async () => {
    const client = ignisClient(server.url, await server.token("u1"), { authenticate: false });
    try {
      await connected(client);
      assert.deepEqual(await ask(client, "join", { rooms: ["room-1"] }), { error: "unauthenticated" });
      assert.deepEqual(await ask(client, "leave", { rooms: ["room-1"] }), { error: "unauthenticated" });
      assert.deepEqual(await ask(client, "anything", 1), { error: "unauthenticated" });
      // then authenticate, and the same join is served
      const ok = once(client, "authenticated");
      client.emit("authenticate");
      await ok;
      assert.deepEqual(await ask(client, "join", { rooms: ["room-1"] }), { success: true, rooms: ["room-1"], refused: [] });
    } finally {
      close(client);
    }
  });
});

describe("Ignis ping {time}", () => {
  test("an authenticated socket gets ping {time} periodically", async () => {
    const { client } = await authenticated(server, "u1");
    try {
      const pings = [];
      const three = new Promise((resolve) => client.on("ping", (body) => pings.push([Date.now(), body]) === 3 && resolve()));
      await Promise.race([three, sleep(PING_MS * 3 + 2000).then(() => assert.fail(`${pings.length} pings in ${PING_MS * 3 + 2000} ms`))]);
      for (const [, body] of pings) {
        assert.deepEqual(Object.keys(body), ["time"]);
        assert.ok(isRecentIso(body.time), `time ${body.time}`);
      }
      const gaps = pings.slice(1).map(([t], i) => t - pings[i][0]);
      for (const gap of gaps) assert.ok(gap >= PING_MS * 0.5, `pings ${gap} ms apart, interval ${PING_MS}`);
    } finally {
      close(client);
    }
  });

  test("no ping before authentication", async () => {
    const waiting = ignisClient(server.url, await server.token("u2"), { authenticate: false });
    const { client } = await authenticated(server, "u1");
    try {
      await connected(waiting);
      const early = collect(waiting, "ping");
      const control = collect(client, "ping");
      await sleep(PING_MS * 3 + 100);
      assert.ok(control.length >= 2, `control got ${control.length} pings`);
      assert.deepEqual(early, []);
    } finally {
      close(waiting, client);
    }
  });
});

describe("Ignis rooms: join / leave {rooms}", () => {
  test("join {rooms} joins the allowed subset and names the refused", async () => {
    const { client } = await authenticated(server, "u1");
    try {
      const reply = await ask(client, "join", { rooms: ["room-1", "room:2", "io-extra", "secret", "user:u2", "user:u1"] });
      assert.equal(reply.success, false);
      assert.deepEqual(reply.rooms, ["room-1", "room:2", "io-extra", "user:u1"]);
      assert.deepEqual(
        reply.refused.map((r) => r.room),
        ["secret", "user:u2"],
      );
      for (const r of reply.refused) assert.ok(typeof r.message === "string" && r.message, JSON.stringify(r));
    } finally {
      close(client);
    }
  });

  test("all allowed → success; leave {rooms} → the rooms left", async () => {
    const { client } = await authenticated(server, "u1");
    try {
      assert.deepEqual(await ask(client, "join", { rooms: ["room-1", "room-2"] }), { success: true, rooms: ["room-1", "room-2"], refused: [] });
      assert.deepEqual(await ask(client, "leave", { rooms: ["room-1"] }), { success: true, rooms: ["room-1"] });
    } finally {
      close(client);
    }
  });

  test("joinRooms without an ack (as the helper emits it): refusals still answered by room:refused", async () => {
    const { client } = await authenticated(server, "u1");
    try {
      const refused = once(client, "room:refused");
      client.emit("join", { rooms: ["room-9", "secret"] });
      const [body] = await refused;
      assert.deepEqual(body.rooms, ["room-9"]);
      assert.deepEqual(body.refused.map((r) => r.room), ["secret"]);
    } finally {
      close(client);
    }
  });

  test("default rooms and joined rooms get server-side sends; others do not", async (t) => {
    const { client } = await authenticated(server, "u1");
    const waiting = ignisClient(server.url, await server.token("u2"), { authenticate: false });
    try {
      await connected(waiting);
      await ask(client, "join", { rooms: ["room-5"] });
      for (const room of ["io-default", "io-notification", "room-5"]) {
        const data = { room, n: 1 };
        const atClient = once(client, "notify");
        const atWaiting = collect(waiting, "notify");
        const res = await apiEmit(server, { rooms: [room], event: "notify", data });
        const skip = noApiEmit(res);
        if (skip) return t.skip(skip);
        assert.ok(res.status >= 200 && res.status < 300, `POST /api/emit: ${res.status} ${res.text}`);
        assert.deepEqual(await atClient, [data], room);
        await quiet();
        assert.deepEqual(atWaiting, [], `${room}: an unauthenticated socket is in no room`);
      }
    } finally {
      close(client, waiting);
    }
  });
});

describe("Ignis authentication timeout", () => {
  let late;
  before(async () => {
    // the profile's 30 s ping; a short authentication timeout
    late = await startConfab("ignis", { CONFAB_AUTH__TIMEOUT_MS: String(LATE_TIMEOUT_MS) });
  });
  after(async () => {
    await late?.stop();
  });

  test("no authenticate within the timeout → disconnected by the server", async () => {
    const client = ignisClient(late.url, await late.token("u1"), { authenticate: false });
    try {
      const gone = once(client, "disconnect", LATE_TIMEOUT_MS + 4000);
      await connected(client);
      const t0 = Date.now();
      const [reason] = await gone;
      const elapsed = Date.now() - t0;
      assert.equal(reason, "io server disconnect");
      assert.ok(elapsed >= LATE_TIMEOUT_MS - 200, `disconnected after ${elapsed} ms, timeout ${LATE_TIMEOUT_MS}`);
    } finally {
      close(client);
    }
  });

  test("authenticate in time (half the timeout) → kept past the timeout", async () => {
    const client = ignisClient(late.url, await late.token("u1"), { authenticate: false });
    try {
      await connected(client);
      const drops = collect(client, "disconnect");
      await sleep(LATE_TIMEOUT_MS / 2);
      const ok = once(client, "authenticated");
      client.emit("authenticate");
      await ok;
      await sleep(LATE_TIMEOUT_MS + 200);
      assert.deepEqual(drops, []);
      assert.deepEqual(await ask(client, "join", { rooms: ["room-1"] }), { success: true, rooms: ["room-1"], refused: [] });
    } finally {
      close(client);
    }
  });

  test(
    "authenticated: an initial ping right away (the seed's onClientAuthenticated step 2)",
    async () => {
      const client = ignisClient(late.url, await late.token("u1"));
      try {
        const ping = once(client, "ping", 2000);
        await connected(client);
        const [body] = await ping;
        assert.ok(isRecentIso(body.time), `time ${body.time}`);
      } finally {
        close(client);
      }
    },
  );
});
