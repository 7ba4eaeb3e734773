// The refusals issue 3 asks for, each against the profile whose clients meet
// it: tokens at CONNECT (SEAM: no token, expired, wrong algorithm, wrong key,
// `alg: none`, tampered claims), forged user ids (nick-doc: `user-online`
// with another id, a relay's userId), rooms (BAASIX: another user's room, a
// room outside the policy), and deferred authentication (Ignis: too late,
// events before it). Every refusal is checked next to a positive control.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { io } from "socket.io-client";
import { startConfab, signJwt, decodeJwt, nowSecs, untilExpired } from "./lib.js";
import { connected, connectError, close, ask, once, collect, quiet, sleep } from "../client/helpers.js";

const MISSING = "Token requerido para conectarse";
const INVALID = "Token inválido o expirado";

describe("tokens at CONNECT (SEAM profile, no leeway)", () => {
  let server;
  before(async () => {
    server = await startConfab("seam", { CONFAB_IDENTITY__LEEWAY_SECS: "0" });
  });
  after(async () => {
    await server?.stop();
  });

  const seam = (token, extra = {}) =>
    io(server.url, { auth: { token }, forceNew: true, reconnection: false, timeout: 5000, ...extra });

  async function refusedWith(token, message, what, extra) {
    const socket = seam(token, extra);
    try {
      const err = await connectError(socket);
      assert.equal(err.message, message, what);
    } finally {
      close(socket);
    }
  }

  async function accepted(token, what, extra) {
    const socket = seam(token, extra);
    try {
      await connected(socket);
    } catch (err) {
      assert.fail(`${what}: refused with ${err.message}`);
    } finally {
      close(socket);
    }
  }

  const claims = (extra = {}) => ({ idUser: "42", iat: nowSecs(), exp: nowSecs() + 3600, ...extra });

  test("positive control: an HS256 token signed by hand with the secret connects", async () => {
    await accepted(server.sign(claims()), "hand-signed HS256");
  });

  test("no token → 'Token requerido para conectarse'", async () => {
    for (const auth of [{}, { token: null }, { token: "" }, { token: "undefined" }]) {
      const socket = io(server.url, { auth, forceNew: true, reconnection: false, timeout: 5000 });
      try {
        assert.equal((await connectError(socket)).message, MISSING, JSON.stringify(auth));
      } finally {
        close(socket);
      }
    }
  });

  test("expired token (confab token --ttl 1s, then wait) → 'Token inválido o expirado'", async () => {
    const token = await server.token("42", { ttl: "1s" });
    const { exp } = decodeJwt(token).claims;
    await accepted(token, "while valid");
    await untilExpired(exp);
    await refusedWith(token, INVALID, "after exp");
  });

  test("expired a minute ago, or not valid yet (nbf) → refused", async () => {
    await refusedWith(server.sign(claims({ exp: nowSecs() - 60 })), INVALID, "exp in the past");
    await refusedWith(server.sign(claims({ nbf: nowSecs() + 120 })), INVALID, "nbf in the future");
  });

  test("wrong algorithm: HS384 / HS512 with the same secret, RS256 → refused", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const tokens = {
      HS384: server.sign(claims(), { alg: "HS384" }),
      HS512: server.sign(claims(), { alg: "HS512" }),
      RS256: signJwt(claims(), { alg: "RS256", privateKey }),
    };
    for (const [what, token] of Object.entries(tokens)) await refusedWith(token, INVALID, what);
  });

  test("alg: none (no signature) → refused", async () => {
    await refusedWith(signJwt(claims(), { alg: "none" }), INVALID, "alg none");
    // and `none` with the HS256 signature of the same header.payload kept on
    const good = server.sign(claims());
    const none = signJwt(claims(), { alg: "none" }).split(".");
    await refusedWith(`${none[0]}.${none[1]}.${good.split(".")[2]}`, INVALID, "alg none with a signature");
  });

  test("wrong key → refused, wherever the token comes from (auth, query, Authorization)", async () => {
    const wrong = server.sign(claims(), { secret: "someone-elses-secret" });
    await refusedWith(wrong, INVALID, "auth.token");
    await refusedWith(undefined, INVALID, "query.token", { auth: {}, query: { token: wrong } });
    await refusedWith(undefined, INVALID, "Authorization header", {
      auth: {},
      transports: ["websocket"],
      extraHeaders: { Authorization: `Bearer ${wrong}` },
    });
    // the same places with the right key are accepted
    const right = server.sign(claims());
    await accepted(undefined, "query.token", { auth: {}, query: { token: right } });
    await accepted(undefined, "Authorization header", { auth: {}, transports: ["websocket"], extraHeaders: { Authorization: `Bearer ${right}` } });
  });

  test("forged user id in the token: claims changed after signing → refused", async () => {
    const [header, , signature] = server.sign(claims()).split(".");
    const forged = Buffer.from(JSON.stringify(claims({ idUser: "1" }))).toString("base64url");
    await refusedWith(`${header}.${forged}.${signature}`, INVALID, "idUser 42 → 1");
  });

  test("query.userId without a token is not believed (the development switch is off)", async () => {
    const socket = io(server.url, { query: { userId: "42" }, forceNew: true, reconnection: false, timeout: 5000 });
    try {
      assert.equal((await connectError(socket)).message, MISSING);
    } finally {
      close(socket);
    }
  });

  test("a namespace the profile does not serve is refused, token or not", async () => {
    for (const auth of [{}, { token: server.sign(claims()) }]) {
      const socket = io(`${server.url}/admin`, { auth, forceNew: true, reconnection: false, timeout: 5000 });
      try {
        assert.equal((await connectError(socket)).message, "Invalid namespace");
      } finally {
        close(socket);
      }
    }
  });

  test("a signed token without the user claim (sub instead of idUser) → refused", async () => {
    await refusedWith(server.sign({ sub: "42", exp: nowSecs() + 3600 }), INVALID, "no idUser");
  });
});

describe("forged user ids (nick-doc profile)", () => {
  let server;
  before(async () => {
    server = await startConfab("nickdoc", { CONFAB_IDENTITY__COOKIE: "token" });
  });
  after(async () => {
    await server?.stop();
  });

  async function nickdoc(user) {
    const socket = io(server.url, {
      withCredentials: true,
      transports: ["websocket"],
      ...(user ? { extraHeaders: { cookie: `token=${await server.token(user)}` } } : {}),
      forceNew: true,
      reconnection: false,
      timeout: 5000,
    });
    await connected(socket);
    return socket;
  }

  test("user-online with another user's id is refused, and nothing is broadcast", async () => {
    const [alice, observer] = await Promise.all([nickdoc("alice"), nickdoc("olga")]);
    try {
      const statuses = collect(observer, "user-status-change");
      const reply = await ask(alice, "user-online", "bob");
      assert.equal(reply.success, false);
      assert.equal(typeof reply.message, "string");
      // without an ack (as the seed emits it): answered by an `error` event
      const error = once(alice, "error");
      alice.emit("user-online", "bob");
      assert.equal((await error)[0].success, false);
      // positive control: her own id goes out
      const control = once(observer, "user-status-change");
      alice.emit("user-online", "alice");
      assert.equal((await control)[0].userId, "alice");
      await quiet();
      assert.deepEqual(
        statuses.map(([b]) => b.userId),
        ["alice"],
      );
    } finally {
      close(alice, observer);
    }
  });

  test("a bad token in the cookie is refused, not taken for an anonymous visit", async () => {
    const forged = signJwt({ sub: "alice", exp: nowSecs() + 3600 }, { secret: "not-the-secret" });
    for (const headers of [{ cookie: `token=${forged}` }, { cookie: "token=abc.def.ghi" }, { Authorization: `Bearer ${forged}` }]) {
      const socket = io(server.url, { withCredentials: true, transports: ["websocket"], extraHeaders: headers, forceNew: true, reconnection: false, timeout: 5000 });
      try {
        const err = await connectError(socket);
        assert.ok(err.message && !/websocket error/.test(err.message), `${JSON.stringify(headers)}: ${err.message}`);
      } finally {
        close(socket);
      }
    }
  });

  test("user-online from an anonymous socket is refused", async () => {
    const [anon, observer] = await Promise.all([nickdoc(null), nickdoc("olga")]);
    try {
      const statuses = collect(observer, "user-status-change");
      const reply = await ask(anon, "user-online", "bob");
      assert.equal(reply.success, false);
      await quiet();
      assert.deepEqual(statuses, []);
    } finally {
      close(anon, observer);
    }
  });

  test("a relay's userId is the connection's own: typing-start as bob arrives as alice", async () => {
    const [alice, bob, carol] = await Promise.all([nickdoc("alice"), nickdoc("bob"), nickdoc("carol")]);
    try {
      await Promise.all(["c1"].flatMap((c) => [ask(alice, "join-chat-room", c), ask(bob, "join-chat-room", c), ask(carol, "join-chat-room", c)]));
      const atCarol = once(carol, "user-typing");
      alice.emit("typing-start", { chatId: "c1", userId: "bob", userName: "Bob" });
      const [body] = await atCarol;
      assert.equal(body.userId, "alice", "userId overridden with the sender's");
      assert.equal(body.isTyping, true);
      const atCarol2 = once(carol, "user-typing");
      alice.emit("typing-stop", { chatId: "c1", userId: "bob" });
      assert.deepEqual(await atCarol2, [{ userId: "alice", isTyping: false }]);
    } finally {
      close(alice, bob, carol);
    }
  });

  test("an anonymous socket cannot relay typing (no user to speak for)", async () => {
    const [anon, bob] = await Promise.all([nickdoc(null), nickdoc("bob")]);
    try {
      await Promise.all([ask(anon, "join-chat-room", "c3"), ask(bob, "join-chat-room", "c3")]);
      const atBob = collect(bob, "user-typing");
      const reply = await ask(anon, "typing-start", { chatId: "c3", userId: "bob", userName: "Bob" });
      assert.equal(reply.success, false);
      await quiet();
      assert.deepEqual(atBob, []);
    } finally {
      close(anon, bob);
    }
  });

  test("join-user-room with another user's id is refused", async () => {
    const bob = await nickdoc("bob");
    try {
      const reply = await ask(bob, "join-user-room", "alice");
      assert.equal(reply.success, false);
      assert.deepEqual(reply.rooms, []);
      assert.deepEqual(reply.refused.map((r) => r.room), ["user-alice"]);
      // without an ack: answered by room:refused
      const refused = once(bob, "room:refused");
      bob.emit("join-user-room", "alice");
      assert.deepEqual((await refused)[0].refused.map((r) => r.room), ["user-alice"]);
    } finally {
      close(bob);
    }
  });
});

describe("rooms (BAASIX profile)", () => {
  let server;
  before(async () => {
    server = await startConfab("baasix");
  });
  after(async () => {
    await server?.stop();
  });

  async function baasix(user) {
    const socket = io(server.url, { path: "/realtime", auth: { token: await server.token(user) }, forceNew: true, reconnection: false, timeout: 5000 });
    await connected(socket);
    return socket;
  }

  test("join 'user:<other>' → {success: false, message}; own user room and allowed rooms → success", async () => {
    const socket = await baasix("u1");
    try {
      assert.deepEqual(await ask(socket, "join", "user:u1"), { success: true });
      for (const room of ["user:u2", "user:u10", "user:admin"]) {
        const reply = await ask(socket, "join", room);
        assert.equal(reply.success, false, room);
        assert.ok(typeof reply.message === "string" && reply.message, room);
      }
      const many = await ask(socket, "join", { rooms: ["user:u2", "discussion:1"] });
      assert.deepEqual(many.rooms, ["discussion:1"]);
      assert.deepEqual(many.refused.map((r) => r.room), ["user:u2"]);
    } finally {
      close(socket);
    }
  });

  test("a room outside the policy → {success: false, message}", async () => {
    const socket = await baasix("u1");
    try {
      assert.deepEqual(await ask(socket, "join", "discussion:7"), { success: true }, "control");
      for (const room of ["admin", "io-default", "chat-1", "", "discussion"]) {
        const reply = await ask(socket, "join", room);
        assert.equal(reply.success, false, JSON.stringify(room));
        assert.ok(typeof reply.message === "string" && reply.message, JSON.stringify(room));
      }
    } finally {
      close(socket);
    }
  });

  test("a refused join without an ack is still answered (room:refused)", async () => {
    const socket = await baasix("u1");
    try {
      const refused = once(socket, "room:refused");
      socket.emit("join", "user:u2");
      const [body] = await refused;
      assert.equal(body.success, false);
    } finally {
      close(socket);
    }
  });
});

describe("deferred authentication (Ignis profile, short timeout)", () => {
  const TIMEOUT_MS = 700;
  let server;
  before(async () => {
    server = await startConfab("ignis", { CONFAB_AUTH__TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  after(async () => {
    await server?.stop();
  });

  async function ignis(user) {
    const socket = io(server.url, {
      path: "/socket.io",
      extraHeaders: { Authorization: `Bearer ${await server.token(user)}` },
      forceNew: true,
      reconnection: false,
      timeout: 5000,
    });
    await connected(socket);
    return socket;
  }

  test("authenticate too late: disconnected at the timeout, never authenticated", async () => {
    const socket = await ignis("u1");
    try {
      const auths = collect(socket, "authenticated");
      const gone = once(socket, "disconnect", TIMEOUT_MS + 4000);
      await sleep(TIMEOUT_MS + 300);
      socket.emit("authenticate"); // too late: the server already let go
      const [reason] = await gone;
      assert.equal(reason, "io server disconnect");
      await quiet();
      assert.deepEqual(auths, []);
      assert.equal(socket.connected, false);
    } finally {
      close(socket);
    }
  });

  test("events before authentication: acks get {error: 'unauthenticated'}, nothing is joined", async () => {
    const socket = await ignis("u1");
    try {
      assert.deepEqual(await ask(socket, "join", { rooms: ["room-1"] }), { error: "unauthenticated" });
      assert.deepEqual(await ask(socket, "join", "room-1"), { error: "unauthenticated" });
      assert.deepEqual(await ask(socket, "leave", { rooms: ["room-1"] }), { error: "unauthenticated" });
      assert.deepEqual(await ask(socket, "chat", { text: "hi" }), { error: "unauthenticated" });
      // positive control: authenticated, the same join is served
      const ok = once(socket, "authenticated");
      socket.emit("authenticate");
      await ok;
      assert.deepEqual(await ask(socket, "join", { rooms: ["room-1"] }), { success: true, rooms: ["room-1"], refused: [] });
    } finally {
      close(socket);
    }
  });

  test("a room outside the policy, and another user's room, are filtered out of join {rooms}", async () => {
    const socket = await ignis("u1");
    try {
      const ok = once(socket, "authenticated");
      socket.emit("authenticate");
      await ok;
      const reply = await ask(socket, "join", { rooms: ["room-2", "admin", "user:u2"] });
      assert.deepEqual(reply.rooms, ["room-2"]);
      assert.deepEqual(reply.refused.map((r) => r.room), ["admin", "user:u2"]);
    } finally {
      close(socket);
    }
  });
});

describe("per-event accessToken (seed 003 sends one with each call; SEAM profile)", () => {
  let server;
  before(async () => {
    server = await startConfab("seam");
  });
  after(async () => {
    await server?.stop();
  });

  const claims = (idUser) => ({ idUser, iat: nowSecs(), exp: nowSecs() + 3600 });

  test("an event whose accessToken names the connection's user passes; another user's or a bad one is refused", async () => {
    const socket = io(server.url, { auth: { token: server.sign(claims("42")) }, forceNew: true, reconnection: false });
    try {
      await connected(socket);
      const own = await ask(socket, "join", { rooms: ["user:42"], accessToken: server.sign(claims("42")) });
      assert.equal(own.success, true, JSON.stringify(own));
      const forged = await ask(socket, "join", { rooms: ["user:42"], accessToken: server.sign(claims("43")) });
      assert.deepEqual(forged, { error: "accessToken names another user than the connection" });
      const garbage = await ask(socket, "join", { rooms: ["user:42"], AccessToken: "not-a-token" });
      assert.deepEqual(garbage, { error: INVALID });
    } finally {
      close(socket);
    }
  });
});
