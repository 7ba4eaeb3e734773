// Acknowledgements in both directions and binary payloads in both directions.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../harness.js";
import { connect, close, ask, ackArgs, once, bytes } from "./helpers.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const isBuf = (x) => assert.ok(Buffer.isBuffer(x), `expected a Buffer, got ${Object.prototype.toString.call(x)}`);

describe("client -> server acks", () => {
  test("emitWithAck(echo) resolves with the first arg; the callback sees all args", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      assert.equal(await socket.emitWithAck("echo", "hi"), "hi");
      assert.deepEqual(await socket.emitWithAck("echo", { deep: { list: [1, "2", false, null] } }), {
        deep: { list: [1, "2", false, null] },
      });
      assert.deepEqual(await ackArgs(socket, "echo", 1, "two", [3], { four: 4 }, null, true), [
        1,
        "two",
        [3],
        { four: 4 },
        null,
        true,
      ]);
      // an ack with no args
      assert.deepEqual(await ackArgs(socket, "echo"), []);
      // unicode survives
      assert.equal(await ask(socket, "echo", "héllo ✓ 日本 🎉"), "héllo ✓ 日本 🎉");
    } finally {
      close(socket);
    }
  });

  test("concurrent acks are matched to their own callbacks", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      const n = 50;
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => ask(socket, "echo", i)));
      assert.deepEqual(answers, Array.from({ length: n }, (_, i) => i));
    } finally {
      close(socket);
    }
  });
});

describe("a broadcast with acks (ask-room)", () => {
  test("every client in the room answers once; the asker, outside it, is not asked", async () => {
    const asker = await connect(server.url, { transports: ["websocket"] });
    const b = await connect(server.url, { transports: ["websocket"] });
    const c = await connect(server.url, { transports: ["polling"] });
    try {
      for (const s of [b, c]) {
        await ask(s, "join-room", "voters");
        s.on("vote", (data, cb) => cb({ id: s.id, data }));
      }
      let askerAsked = false;
      asker.on("vote", () => (askerAsked = true));
      const res = await ask(asker, "ask-room", { room: "voters", event: "vote", data: 7, timeoutMs: 3000 });
      assert.equal(res.ok, true);
      const ids = res.replies.map((r) => r.id).sort();
      assert.deepEqual(ids, [b.id, c.id].sort());
      assert.ok(res.replies.every((r) => r.data === 7));
      assert.equal(askerAsked, false);
    } finally {
      close(asker, b, c);
    }
  });

  test("a silent member makes it time out with the answers that came", async () => {
    const asker = await connect(server.url, { transports: ["websocket"] });
    const talker = await connect(server.url, { transports: ["websocket"] });
    const mute = await connect(server.url, { transports: ["websocket"] });
    try {
      for (const s of [talker, mute]) await ask(s, "join-room", "half");
      talker.on("poll", (_data, cb) => cb("yes"));
      mute.on("poll", () => {});
      const res = await ask(asker, "ask-room", { room: "half", event: "poll", data: null, timeoutMs: 300 });
      assert.deepEqual(res, { ok: false, replies: ["yes"] });
      // an empty room answers at once, complete
      const none = await ask(asker, "ask-room", { room: "nobody", event: "poll", data: null, timeoutMs: 3000 });
      assert.deepEqual(none, { ok: true, replies: [] });
    } finally {
      close(asker, talker, mute);
    }
  });
});

describe("server -> client acks (ask)", () => {
  for (const transports of [["websocket"], ["polling"]]) {
    test(`the client answers the server's event through its ack callback (${transports[0]})`, async () => {
      const socket = await connect(server.url, { transports });
      try {
        const seen = [];
        socket.on("question", (data, cb) => {
          seen.push(data);
          cb("answer", 42, { nested: true });
        });
        const res = await ask(socket, "ask", { event: "question", data: { q: "life" }, timeoutMs: 3000 });
        assert.deepEqual(seen, [{ q: "life" }]);
        assert.deepEqual(res, { ok: true, reply: ["answer", 42, { nested: true }] });
      } finally {
        close(socket);
      }
    });
  }

  test("a client ack with no args gives an empty reply", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      socket.on("q0", (_data, cb) => cb());
      const res = await ask(socket, "ask", { event: "q0", data: 1, timeoutMs: 3000 });
      assert.deepEqual(res, { ok: true, reply: [] });
    } finally {
      close(socket);
    }
  });

  test("a client that never acks makes the server time out", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      const seen = [];
      socket.on("silent", (data, _cb) => {
        seen.push(data); // never calls _cb
      });
      const res = await ask(socket, "ask", { event: "silent", data: "psst", timeoutMs: 200 });
      assert.deepEqual(res, { ok: false, error: "timeout" });
      assert.deepEqual(seen, ["psst"]);
      // the connection is unaffected
      assert.equal(await ask(socket, "echo", "still ok"), "still ok");
    } finally {
      close(socket);
    }
  });

  test("a binary client ack reaches the server as binary", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      socket.on("give-bytes", (_data, cb) => cb(Buffer.from([7, 0, 255]), "tail"));
      const res = await ask(socket, "ask", { event: "give-bytes", data: null, timeoutMs: 3000 });
      assert.equal(res.ok, true);
      assert.equal(res.reply.length, 2);
      isBuf(res.reply[0]);
      assert.deepEqual(bytes(res.reply[0]), [7, 0, 255]);
      assert.equal(res.reply[1], "tail");
    } finally {
      close(socket);
    }
  });
});

describe("binary", () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  for (const transports of [["websocket"], ["polling"]]) {
    describe(transports[0], () => {
      test("a Buffer in an ack comes back as a Buffer with the same bytes", async () => {
        const socket = await connect(server.url, { transports });
        try {
          const back = await ask(socket, "echo", all);
          isBuf(back);
          assert.deepEqual(bytes(back), bytes(all));
          const empty = await ask(socket, "echo", Buffer.alloc(0));
          isBuf(empty);
          assert.equal(empty.length, 0);
        } finally {
          close(socket);
        }
      });

      test("a Buffer in an emitted event comes back as a Buffer", async () => {
        const socket = await connect(server.url, { transports });
        try {
          const got = once(socket, "echo");
          socket.emit("echo", all);
          const [back] = await got;
          isBuf(back);
          assert.deepEqual(bytes(back), bytes(all));
        } finally {
          close(socket);
        }
      });

      test("a Buffer nested in an object, and several Buffers in one emit", async () => {
        const socket = await connect(server.url, { transports });
        try {
          const a = Buffer.from("first");
          const b = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
          const c = Buffer.from([0]);
          const got = once(socket, "echo");
          socket.emit("echo", { name: "pkt", file: { data: a, parts: [b, "text", c] } }, b, "plain", 5);
          const [obj, second, third, fourth] = await got;
          assert.equal(obj.name, "pkt");
          isBuf(obj.file.data);
          assert.equal(obj.file.data.toString(), "first");
          assert.equal(obj.file.parts.length, 3);
          isBuf(obj.file.parts[0]);
          assert.deepEqual(bytes(obj.file.parts[0]), bytes(b));
          assert.equal(obj.file.parts[1], "text");
          isBuf(obj.file.parts[2]);
          assert.deepEqual(bytes(obj.file.parts[2]), [0]);
          isBuf(second);
          assert.deepEqual(bytes(second), bytes(b));
          assert.equal(third, "plain");
          assert.equal(fourth, 5);

          // the same through an ack, all arguments
          const reply = await ackArgs(socket, "echo", [a, b], { c });
          assert.equal(reply.length, 2);
          isBuf(reply[0][0]);
          isBuf(reply[0][1]);
          assert.deepEqual(bytes(reply[0][0]), bytes(a));
          assert.deepEqual(bytes(reply[0][1]), bytes(b));
          isBuf(reply[1].c);
          assert.deepEqual(bytes(reply[1].c), [0]);
        } finally {
          close(socket);
        }
      });

      test("binary and text packets interleave in order", async () => {
        const socket = await connect(server.url, { transports });
        try {
          const got = [];
          const done = new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${got.length} of 6 echoes`)), 3000);
            socket.on("echo", (x) => {
              got.push(x);
              if (got.length === 6) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
          for (let i = 0; i < 6; i++) socket.emit("echo", i % 2 ? Buffer.from([i]) : `t${i}`);
          await done;
          assert.deepEqual(
            got.map((x) => (Buffer.isBuffer(x) ? bytes(x) : x)),
            ["t0", [1], "t2", [3], "t4", [5]],
          );
        } finally {
          close(socket);
        }
      });
    });
  }
});
