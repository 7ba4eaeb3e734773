// Namespaces: `/` and `/admin` multiplexed on one Engine.IO connection, the
// `/admin` auth middleware, unknown namespaces, and the handshake data the
// server sees (`whoami`).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connect, connected, connectError, close, ask, ackArgs, once } from "./helpers.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe("multiplexing", () => {
  test("`/` and `/admin` share one Engine.IO connection", async () => {
    // io() (without forceNew) reuses the Manager cached for this origin
    const main = io(server.url, { reconnection: false });
    const adminSocket = io(server.url + "/admin", { reconnection: false, auth: { token: "let-me-in" } });
    try {
      await Promise.all([connected(main), connected(adminSocket)]);
      assert.equal(main.io, adminSocket.io, "one Manager for both namespaces");
      assert.equal(typeof main.io.engine.id, "string");
      assert.equal(adminSocket.io.engine.id, main.io.engine.id);
      // each namespace has its own socket id, distinct from the engine id
      assert.notEqual(main.id, adminSocket.id);
      assert.notEqual(main.id, main.io.engine.id);

      const [meMain, meAdmin] = await Promise.all([ask(main, "whoami"), ask(adminSocket, "whoami")]);
      assert.equal(meMain.nsp, "/");
      assert.equal(meMain.id, main.id);
      assert.equal(meAdmin.nsp, "/admin");
      assert.equal(meAdmin.id, adminSocket.id);
      assert.deepEqual(meAdmin.auth, { token: "let-me-in" });

      // both namespaces answer on the shared connection, interleaved
      const results = await Promise.all([
        ackArgs(main, "echo", "to-main", 1),
        ackArgs(adminSocket, "echo", "to-admin", 2),
        ackArgs(main, "echo", "to-main", 3),
      ]);
      assert.deepEqual(results, [
        ["to-main", 1],
        ["to-admin", 2],
        ["to-main", 3],
      ]);
      const got = once(adminSocket, "echo");
      const notMain = [];
      main.on("echo", (...a) => notMain.push(a));
      adminSocket.emit("echo", "admin-only");
      assert.deepEqual(await got, ["admin-only"]);
      assert.deepEqual(notMain, [], "an /admin event is not delivered to the / socket");

      // leaving one namespace leaves the other connected
      adminSocket.disconnect();
      assert.equal(await ask(main, "echo", "still-here"), "still-here");
      assert.equal(main.io.engine.readyState, "open");
    } finally {
      close(main, adminSocket);
    }
  });

  test("a rejected /admin on a shared connection leaves `/` working", async () => {
    const main = await connect(server.url);
    // Manager.socket() sends the CONNECT by itself (autoConnect)
    const bad = main.io.socket("/admin", { auth: { token: "wrong" } });
    try {
      const err = await connectError(bad);
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
      assert.equal(main.connected, true);
      assert.equal(await ask(main, "echo", "ok"), "ok");
    } finally {
      close(bad, main);
    }
  });
});

describe("/admin middleware", () => {
  test("good token connects", async () => {
    const socket = await connect(server.url + "/admin", { auth: { token: "let-me-in" } });
    try {
      assert.equal(socket.connected, true);
      assert.deepEqual(await ackArgs(socket, "echo", "x", { y: 1 }), ["x", { y: 1 }]);
    } finally {
      close(socket);
    }
  });

  test("bad token gets connect_error `unauthorized` with data", async () => {
    const socket = io(server.url + "/admin", {
      forceNew: true,
      reconnection: false,
      auth: { token: "nope" },
    });
    try {
      const err = await connectError(socket);
      assert.ok(err instanceof Error);
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
      assert.equal(socket.connected, false);
      // a middleware refusal is final: the client does not retry by itself
      assert.equal(socket.active, false);
    } finally {
      close(socket);
    }
  });

  test("no auth at all is refused the same way", async () => {
    const socket = io(server.url + "/admin", { forceNew: true, reconnection: false });
    try {
      const err = await connectError(socket);
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
    } finally {
      close(socket);
    }
  });

  test("bad token over websocket only", async () => {
    const socket = io(server.url + "/admin", {
      forceNew: true,
      reconnection: false,
      transports: ["websocket"],
      auth: { token: "nope" },
    });
    try {
      const err = await connectError(socket);
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { reason: "bad token" });
    } finally {
      close(socket);
    }
  });
});

describe("unknown namespace", () => {
  for (const transports of [["websocket"], ["polling"]]) {
    test(`/nope gets connect_error "Invalid namespace" (${transports[0]})`, async () => {
      const socket = io(server.url + "/nope", { forceNew: true, reconnection: false, transports });
      try {
        const err = await connectError(socket);
        assert.equal(err.message, "Invalid namespace");
        assert.equal(err.data, undefined);
        assert.equal(socket.connected, false);
      } finally {
        close(socket);
      }
    });
  }
});

describe("whoami", () => {
  test("shows the handshake query and auth (websocket)", async () => {
    const socket = await connect(server.url, {
      transports: ["websocket"],
      query: { a: "1" },
      auth: { user: "ada", n: 3 },
    });
    try {
      const me = await ask(socket, "whoami");
      assert.equal(me.id, socket.id);
      assert.equal(me.nsp, "/");
      assert.deepEqual(me.auth, { user: "ada", n: 3 });
      assert.equal(me.query.a, "1");
      // the Node server's handshake query is the raw query of the first request,
      // so it also carries the Engine.IO parameters
      assert.equal(me.query.EIO, "4");
      assert.equal(me.query.transport, "websocket");
    } finally {
      close(socket);
    }
  });

  test("shows the handshake query and auth (polling)", async () => {
    const socket = await connect(server.url, {
      transports: ["polling"],
      query: { a: "1", b: "two words" },
      auth: { token: "t" },
    });
    try {
      const me = await ask(socket, "whoami");
      assert.deepEqual(me.auth, { token: "t" });
      assert.equal(me.query.a, "1");
      assert.equal(me.query.b, "two words");
      assert.equal(me.query.EIO, "4");
      assert.equal(me.query.transport, "polling");
    } finally {
      close(socket);
    }
  });

  test("auth defaults to an empty object", async () => {
    const socket = await connect(server.url, { transports: ["websocket"] });
    try {
      const me = await ask(socket, "whoami");
      assert.deepEqual(me.auth, {});
    } finally {
      close(socket);
    }
  });
});
