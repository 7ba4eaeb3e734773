// nick-doc's client exactly as seed 001 prints it: `io(API_URL, {
// withCredentials: true, transports: ["websocket"] })`, no token anywhere
// ("the server identifies users by the join-* events the client emits"),
// against `confab --profile nickdoc` in both modes:
// - by default such a socket is anonymous, and the events that name a user
//   are refused with a message that says why;
// - with `auth.trust_event_user_id` (the compatibility mode, logged as a
//   warning at start-up) the user its first join-user-room, user-online or
//   typing-start names becomes the socket's user, for good.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { io } from "socket.io-client";
import { startConfab, apiEmit } from "./lib.js";
import { binary } from "../harness.js";
import { connected, close, ask, once, collect, quiet } from "../client/helpers.js";

/** The seed's client as printed, plus test hygiene (no reconnection, a timeout). */
function seedClient(url, extra = {}) {
  return io(url, {
    withCredentials: true,
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    ...extra,
  });
}

async function client(server, extra) {
  const socket = seedClient(server.url, extra);
  await connected(socket);
  return socket;
}

describe("nick-doc's client without a token, default mode: refused, with a reason", () => {
  let server;
  before(async () => {
    server = await startConfab("nickdoc");
  });
  after(async () => {
    await server?.stop();
  });

  test("join-user-room, user-online and typing-start are refused and say why", async () => {
    const [anon, other] = await Promise.all([client(server), client(server)]);
    try {
      const statuses = collect(other, "user-status-change");
      const joined = await ask(anon, "join-user-room", "alice");
      assert.equal(joined.success, false);
      assert.deepEqual(joined.refused, [{ room: "user-alice", message: "a user room needs an authenticated socket (a token)" }]);
      assert.deepEqual(await ask(anon, "user-online", "alice"), { success: false, message: "unauthenticated" });
      await Promise.all([ask(anon, "join-chat-room", "c1"), ask(other, "join-chat-room", "c1")]);
      const typing = collect(other, "user-typing");
      assert.deepEqual(await ask(anon, "typing-start", { chatId: "c1", userId: "alice", userName: "Alice" }), {
        success: false,
        message: "unauthenticated",
      });
      await quiet();
      assert.deepEqual(typing, []);
      assert.deepEqual(statuses, []);
    } finally {
      close(anon, other);
    }
  });

  test("emitted without an ack, as the seed does: each refusal still arrives as an event", async () => {
    const anon = await client(server);
    try {
      await ask(anon, "join-chat-room", "c1");
      const refused = once(anon, "room:refused");
      anon.emit("join-user-room", "alice");
      assert.equal((await refused)[0].refused[0].room, "user-alice");
      const online = once(anon, "error");
      anon.emit("user-online", "alice");
      assert.deepEqual((await online)[0], { success: false, message: "unauthenticated" });
      const typing = once(anon, "error");
      anon.emit("typing-start", { chatId: "c1", userId: "alice", userName: "Alice" });
      assert.deepEqual((await typing)[0], { success: false, message: "unauthenticated" });
    } finally {
      close(anon);
    }
  });
});

describe("nick-doc's client without a token, auth.trust_event_user_id: works as printed", () => {
  let server;
  before(async () => {
    server = await startConfab("nickdoc", { CONFAB_AUTH__TRUST_EVENT_USER_ID: "true", CONFAB_IDENTITY__COOKIE: "token" });
  });
  after(async () => {
    await server?.stop();
  });

  test("join-user-room names the user: its room is joined, and emitToRoom reaches it", async () => {
    const alice = await client(server);
    try {
      // As the seed emits it: no ack.
      alice.emit("join-user-room", "alice");
      alice.emit("join-buyer-room", "alice");
      const reply = await ask(alice, "join-request-room", "r1"); // ordered after the two above
      assert.equal(reply.success, true);
      const got = once(alice, "payment-received");
      const data = { purchaseRequestId: "r1", amount: 3, currency: "USDT", buyerId: "bea" };
      const res = await apiEmit(server, { rooms: ["user-alice"], event: "payment-received", data });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(await got, [data]);
      const [info] = (await listClients(server)).filter((c) => c.id === alice.id);
      assert.equal(info.userId, "alice");
    } finally {
      close(alice);
    }
  });

  test("user-online names the user: online to everyone, offline when its last socket leaves", async () => {
    const observer = await client(server);
    const alice = await client(server);
    try {
      const online = once(observer, "user-status-change");
      alice.emit("user-online", "alice");
      const [body] = await online;
      assert.deepEqual([body.userId, body.status], ["alice", "online"]);
      const offline = once(observer, "user-status-change");
      alice.disconnect();
      const [gone] = await offline;
      assert.deepEqual([gone.userId, gone.status], ["alice", "offline"]);
    } finally {
      close(observer, alice);
    }
  });

  test("typing-start names the user: user-typing reaches the chat as that user", async () => {
    const [alice, bob] = await Promise.all([client(server), client(server)]);
    try {
      await Promise.all([ask(alice, "join-chat-room", "c1"), ask(bob, "join-chat-room", "c1")]);
      const typed = once(bob, "user-typing");
      alice.emit("typing-start", { chatId: "c1", userId: "alice", userName: "Alice" });
      assert.deepEqual(await typed, [{ userName: "Alice", userId: "alice", isTyping: true }]);
      const stopped = once(bob, "user-typing");
      alice.emit("typing-stop", { chatId: "c1", userId: "alice" });
      assert.deepEqual(await stopped, [{ userId: "alice", isTyping: false }]);
    } finally {
      close(alice, bob);
    }
  });

  test("the first claim is for good: a later event naming another user is refused or speaks as the first", async () => {
    const [alice, bob, observer] = await Promise.all([client(server), client(server), client(server)]);
    try {
      const first = once(observer, "user-status-change");
      alice.emit("user-online", "alice");
      assert.equal((await first)[0].userId, "alice");
      const joined = await ask(alice, "join-user-room", "alice");
      assert.equal(joined.success, true);
      const other = await ask(alice, "join-user-room", "bob");
      assert.deepEqual(other.refused, [{ room: "user-bob", message: "another user's room" }]);
      const statuses = collect(observer, "user-status-change");
      const online = await ask(alice, "user-online", "bob");
      assert.equal(online.success, false);
      await Promise.all([ask(alice, "join-chat-room", "c2"), ask(bob, "join-chat-room", "c2")]);
      const typed = once(bob, "user-typing");
      alice.emit("typing-start", { chatId: "c2", userId: "bob", userName: "Bob" });
      assert.equal((await typed)[0].userId, "alice", "still alice");
      await quiet();
      assert.deepEqual(statuses, [], "no online for bob");
    } finally {
      close(alice, bob, observer);
    }
  });

  test("a socket with a token keeps its token's user", async () => {
    const carol = await client(server, { extraHeaders: { cookie: `token=${await server.token("carol")}` } });
    try {
      const other = await ask(carol, "join-user-room", "mallory");
      assert.deepEqual(other.refused, [{ room: "user-mallory", message: "another user's room" }]);
      assert.equal((await ask(carol, "join-user-room", "carol")).success, true);
    } finally {
      close(carol);
    }
  });

  test("the mode is announced by a warning at start-up", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "confab-nickdoc-log-"));
    try {
      const stderr = await startupLog({ ...server.env, CONFAB_DATA_DIR: dataDir, CONFAB_PORT: "0", CONFAB_HOST: "127.0.0.1" });
      assert.match(stderr, /WARN.*auth\.trust_event_user_id is on/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** The sockets the server knows, through GET /api/clients with an admin token. */
async function listClients(server) {
  const admin = await server.token("api-admin", { roles: ["admin"] });
  const res = await fetch(`${server.url}/api/clients`, { headers: { Authorization: `Bearer ${admin}` } });
  assert.equal(res.status, 200);
  return (await res.json()).clients;
}

/** What `confab --profile nickdoc` logs until it listens (then it is stopped). */
function startupLog(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary("confab"), ["--profile", "nickdoc"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("confab did not start in 30 s"));
    }, 30_000);
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.includes("listening on")) return;
      clearTimeout(timer);
      child.once("exit", () => resolve(stderr));
      child.kill("SIGTERM");
    });
  });
}
