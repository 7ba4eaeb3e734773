// The three ways a real socket.io-client reaches the server: WebSocket only,
// HTTP long-polling only, and the default polling -> WebSocket upgrade.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connect, close, ask, ackArgs, once, bytes, sleep } from "./helpers.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe("websocket only", () => {
  test("connects over websocket and echoes with an ack", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      assert.equal(socket.io.engine.transport.name, "websocket");
      assert.equal(typeof socket.id, "string");
      assert.deepEqual(await ackArgs(socket, "echo", "hello", 1, { a: [true, null] }), [
        "hello",
        1,
        { a: [true, null] },
      ]);
      assert.equal(await ask(socket, "echo", "one"), "one");
    } finally {
      close(socket);
    }
  });

  test("echo without an ack comes back as an `echo` event", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      const got = once(socket, "echo");
      socket.emit("echo", "x", 2, { y: "z" });
      assert.deepEqual(await got, ["x", 2, { y: "z" }]);
    } finally {
      close(socket);
    }
  });
});

describe("polling only", () => {
  test("connects over polling and stays on polling", async () => {
    const socket = await connect(server.url, { transports: ["polling"] });
    try {
      assert.equal(socket.io.engine.transport.name, "polling");
      assert.deepEqual(await ackArgs(socket, "echo", "over", "polling"), ["over", "polling"]);
      const got = once(socket, "echo");
      socket.emit("echo", "a", { b: 1 });
      assert.deepEqual(await got, ["a", { b: 1 }]);
      assert.equal(socket.io.engine.transport.name, "polling");
    } finally {
      close(socket);
    }
  });

  test("binary ack and binary event over polling", async () => {
    const socket = await connect(server.url, { transports: ["polling"] });
    try {
      const buf = Buffer.from([0, 1, 2, 250, 255]);
      const [back] = await ackArgs(socket, "echo", buf);
      assert.ok(Buffer.isBuffer(back), `expected a Buffer, got ${Object.prototype.toString.call(back)}`);
      assert.deepEqual(bytes(back), bytes(buf));

      const got = once(socket, "echo");
      socket.emit("echo", { label: "nested", payload: Buffer.from("héllo") }, Buffer.from([9, 8]));
      const [obj, second] = await got;
      assert.equal(obj.label, "nested");
      assert.ok(Buffer.isBuffer(obj.payload));
      assert.equal(obj.payload.toString(), "héllo");
      assert.ok(Buffer.isBuffer(second));
      assert.deepEqual(bytes(second), [9, 8]);
    } finally {
      close(socket);
    }
  });

  test("many acks in flight over polling all come back, each to its own callback", async () => {
    const socket = await connect(server.url, { transports: ["polling"] });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ask(socket, "echo", { i })),
      );
      assert.deepEqual(
        answers,
        Array.from({ length: 20 }, (_, i) => ({ i })),
      );
    } finally {
      close(socket);
    }
  });
});

describe("polling then upgrade (default transports)", () => {
  test("starts on polling, upgrades to websocket, and messages still flow", async () => {
    const socket = io(server.url, { forceNew: true, reconnection: false });
    try {
      const engine = socket.io.engine;
      const upgraded = once(engine, "upgrade", 5000);
      let openedOver;
      engine.once("open", () => (openedOver = engine.transport.name));
      await once(socket, "connect");
      // the Engine.IO handshake itself happens over polling
      assert.equal(openedOver, "polling");
      // traffic sent while the upgrade may still be in progress must not be lost
      const early = ask(socket, "echo", "before-upgrade");
      const [transport] = await upgraded;
      assert.equal(transport.name, "websocket");
      assert.equal(socket.io.engine.transport.name, "websocket");
      assert.equal(await early, "before-upgrade");

      assert.deepEqual(await ackArgs(socket, "echo", "after", "upgrade"), ["after", "upgrade"]);
      const got = once(socket, "echo");
      socket.emit("echo", "event", Buffer.from([1, 2, 3]));
      const [s, b] = await got;
      assert.equal(s, "event");
      assert.deepEqual(bytes(b), [1, 2, 3]);
      assert.equal(socket.io.engine.transport.name, "websocket");
    } finally {
      close(socket);
    }
  });

  test("the upgraded session keeps its engine id and socket id", async () => {
    const socket = io(server.url, { forceNew: true, reconnection: false });
    try {
      const engine = socket.io.engine;
      const upgraded = once(engine, "upgrade", 5000);
      await once(socket, "connect");
      const sid = engine.id;
      const id = socket.id;
      await upgraded;
      assert.equal(socket.io.engine.id, sid);
      const me = await ask(socket, "whoami");
      assert.equal(me.id, id);
      await sleep(50);
      assert.equal(socket.connected, true);
    } finally {
      close(socket);
    }
  });
});
