// Rooms: join/leave, `to-room` (excludes the sender), and server-side emits
// through HTTP `POST /api/emit` with `rooms` / `except`; `GET /api/sockets`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../harness.js";
import { connect, close, ask, once, collect, quiet, postJson, bytes } from "./helpers.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe("join / leave", () => {
  test("join-room and leave-room ack the socket's rooms, own id first", async () => {
    const s = await connect(server.url, { transports: ["websocket"] });
    try {
      assert.deepEqual(await ask(s, "join-room", "alpha"), { rooms: [s.id, "alpha"] });
      assert.deepEqual(await ask(s, "join-room", "beta"), { rooms: [s.id, "alpha", "beta"] });
      // joining twice changes nothing
      assert.deepEqual(await ask(s, "join-room", "alpha"), { rooms: [s.id, "alpha", "beta"] });
      assert.deepEqual(await ask(s, "leave-room", "alpha"), { rooms: [s.id, "beta"] });
      // leaving a room one is not in changes nothing
      assert.deepEqual(await ask(s, "leave-room", "never"), { rooms: [s.id, "beta"] });
    } finally {
      close(s);
    }
  });

  test("GET /api/sockets lists the namespace's sockets with their rooms", async () => {
    const a = await connect(server.url, { transports: ["websocket"] });
    const b = await connect(server.url, { transports: ["polling"] });
    try {
      await ask(a, "join-room", "listed");
      const res = await fetch(`${server.url}/api/sockets?nsp=/`);
      assert.equal(res.status, 200);
      const list = await res.json();
      assert.ok(Array.isArray(list));
      const byId = new Map(list.map((x) => [x.id, x]));
      assert.ok(byId.has(a.id), "a listed");
      assert.ok(byId.has(b.id), "b listed");
      assert.equal(byId.get(a.id).nsp, "/");
      assert.deepEqual(byId.get(a.id).rooms, [a.id, "listed"]);
      assert.deepEqual(byId.get(b.id).rooms, [b.id]);
    } finally {
      close(a, b);
    }
  });
});

describe("to-room", () => {
  test("reaches the other members of the room only, never the sender", async () => {
    const [a, b, c] = await Promise.all([
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["polling"] }),
      connect(server.url, { transports: ["websocket"] }),
    ]);
    try {
      await Promise.all([ask(a, "join-room", "r1"), ask(b, "join-room", "r1")]);
      await ask(c, "join-room", "elsewhere");
      const gotA = collect(a, "news");
      const gotC = collect(c, "news");
      const bGets = once(b, "news");

      assert.equal(await ask(a, "to-room", { room: "r1", event: "news", data: { x: 1 } }), true);
      assert.deepEqual(await bGets, [{ x: 1 }]);
      await quiet();
      assert.deepEqual(gotA, [], "the sender is excluded");
      assert.deepEqual(gotC, [], "a non-member gets nothing");
    } finally {
      close(a, b, c);
    }
  });

  test("binary data through to-room stays binary", async () => {
    const [a, b] = await Promise.all([
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["websocket"] }),
    ]);
    try {
      await ask(b, "join-room", "bin-room");
      const bGets = once(b, "blob");
      await ask(a, "to-room", { room: "bin-room", event: "blob", data: { buf: Buffer.from([1, 2, 3]) } });
      const [data] = await bGets;
      assert.ok(Buffer.isBuffer(data.buf));
      assert.deepEqual(bytes(data.buf), [1, 2, 3]);
    } finally {
      close(a, b);
    }
  });

  test("a socket that left the room no longer receives", async () => {
    const [a, b, c] = await Promise.all([
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["websocket"] }),
    ]);
    try {
      await Promise.all([ask(b, "join-room", "r2"), ask(c, "join-room", "r2")]);
      await ask(c, "leave-room", "r2");
      const gotC = collect(c, "n2");
      const bGets = once(b, "n2");
      await ask(a, "to-room", { room: "r2", event: "n2", data: "hi" });
      assert.deepEqual(await bGets, ["hi"]);
      await quiet();
      assert.deepEqual(gotC, []);
    } finally {
      close(a, b, c);
    }
  });
});

describe("POST /api/emit", () => {
  // red: a, b    blue: b, c
  let a, b, c;
  before(async () => {
    [a, b, c] = await Promise.all([
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["websocket"] }),
      connect(server.url, { transports: ["polling"] }),
    ]);
    await Promise.all([
      ask(a, "join-room", "red"),
      ask(b, "join-room", "red"),
      ask(b, "join-room", "blue"),
      ask(c, "join-room", "blue"),
    ]);
  });
  after(() => close(a, b, c));

  /** POSTs an emit, waits for `positive` to get it, then QUIET_MS; returns what each got. */
  async function emitAndCollect(body, positive) {
    const got = { a: collect(a, body.event), b: collect(b, body.event), c: collect(c, body.event) };
    const first = once(positive, body.event);
    const res = await postJson(`${server.url}/api/emit`, body);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ok: true });
    await first;
    await quiet();
    for (const s of [a, b, c]) s.off(body.event);
    return got;
  }

  test("no rooms: everyone in the namespace", async () => {
    const got = await emitAndCollect({ event: "all", data: { n: 1 } }, c);
    assert.deepEqual(got, { a: [[{ n: 1 }]], b: [[{ n: 1 }]], c: [[{ n: 1 }]] });
  });

  test("rooms: only members", async () => {
    const got = await emitAndCollect({ rooms: ["blue"], event: "to-blue", data: "b" }, c);
    assert.deepEqual(got, { a: [], b: [["b"]], c: [["b"]] });
  });

  test("several rooms: each member once, even in two of them", async () => {
    const got = await emitAndCollect({ rooms: ["red", "blue"], event: "to-both", data: 2 }, c);
    assert.deepEqual(got, { a: [[2]], b: [[2]], c: [[2]] });
  });

  test("rooms with except: members not in the excluded room", async () => {
    const got = await emitAndCollect({ rooms: ["red"], except: ["blue"], event: "red-not-blue", data: "x" }, a);
    assert.deepEqual(got, { a: [["x"]], b: [], c: [] });
  });

  test("except alone: everyone but the excluded room", async () => {
    const got = await emitAndCollect({ except: ["red"], event: "not-red", data: null }, c);
    assert.deepEqual(got, { a: [], b: [], c: [[null]] });
  });

  test("a socket's own id works as a room", async () => {
    const got = await emitAndCollect({ rooms: [b.id], event: "just-b", data: { to: "b" } }, b);
    assert.deepEqual(got, { a: [], b: [[{ to: "b" }]], c: [] });
  });

  test("array data arrives as one array argument", async () => {
    const data = [1, "two", { three: [3] }];
    const got = await emitAndCollect({ rooms: ["red"], except: ["blue"], event: "arr", data }, a);
    assert.deepEqual(got, { a: [[data]], b: [], c: [] });
  });

  test("nsp /admin reaches only /admin sockets", async () => {
    const adm = await connect(server.url + "/admin", {
      transports: ["websocket"],
      auth: { token: "let-me-in" },
    });
    try {
      const gotAdm = collect(adm, "admin-news");
      const got = { a: collect(a, "admin-news"), b: collect(b, "admin-news"), c: collect(c, "admin-news") };
      const first = once(adm, "admin-news");
      const res = await postJson(`${server.url}/api/emit`, { nsp: "/admin", event: "admin-news", data: [1, 2] });
      assert.equal(res.status, 200);
      await first;
      await quiet();
      assert.deepEqual(gotAdm, [[[1, 2]]]);
      assert.deepEqual(got, { a: [], b: [], c: [] });
    } finally {
      for (const s of [a, b, c]) s.off("admin-news");
      close(adm);
    }
  });
});

describe("HTTP beside Socket.IO", () => {
  test("GET /api/health", async () => {
    const res = await fetch(`${server.url}/api/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });
});
