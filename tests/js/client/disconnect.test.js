// Disconnects from either side, the reasons the server reports (room
// `observers` gets `left` { id, reason }), and the client's own reconnection
// after the server drops the whole session.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connect, connected, close, ask, once, collect, quiet } from "./helpers.js";

let server;
let observer;
before(async () => {
  server = await startServer();
  observer = await connect(server.url, { transports: ["websocket"] });
  await ask(observer, "join-room", "observers");
});
after(async () => {
  close(observer);
  await server?.stop();
});

/** Resolves with the `left` payload the observer sees for socket `id`. */
function leftOf(id, ms = 5000) {
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      observer.off("left", onLeft);
      reject(new Error(`observer saw no "left" for ${id} within ${ms} ms`));
    }, ms);
    const onLeft = (msg) => {
      if (msg && msg.id === id) {
        clearTimeout(timer);
        observer.off("left", onLeft);
        resolve(msg);
      }
    };
    observer.on("left", onLeft);
  });
  p.catch(() => {}); // awaiting still throws; no unhandled rejection if the test failed earlier
  return p;
}

for (const transports of [["websocket"], ["polling"]]) {
  describe(`disconnect (${transports[0]})`, () => {
    test('client socket.disconnect(): the server reports "client namespace disconnect"', async () => {
      const s = await connect(server.url, { transports });
      const id = s.id;
      const left = leftOf(id);
      const reasons = collect(s, "disconnect");
      s.disconnect();
      assert.deepEqual(await left, { id, reason: "client namespace disconnect" });
      assert.deepEqual(
        reasons.map((args) => args[0]),
        ["io client disconnect"],
      );
      assert.equal(s.connected, false);
      close(s);
    });

    test('server-disconnect: the client gets "io server disconnect" and does not reconnect', async () => {
      const s = await connect(server.url, { transports, reconnection: true, reconnectionDelay: 50 });
      try {
        const id = s.id;
        const left = leftOf(id);
        const gone = once(s, "disconnect");
        const reconnects = collect(s, "connect");
        const attempts = collect(s.io, "reconnect_attempt");
        s.emit("server-disconnect");
        const [reason] = await gone;
        assert.equal(reason, "io server disconnect");
        assert.deepEqual(await left, { id, reason: "server namespace disconnect" });
        assert.equal(s.connected, false);
        assert.equal(s.active, false, "a server-side disconnect is final");
        await quiet();
        assert.deepEqual(reconnects, [], "no automatic reconnection");
        assert.deepEqual(attempts, []);
        assert.equal(s.connected, false);
      } finally {
        close(s);
      }
    });

    test("server-close: the client sees \"transport close\", reconnects by itself, and echo works again", async () => {
      const s = io(server.url, {
        forceNew: true,
        transports,
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
        randomizationFactor: 0,
        timeout: 5000,
      });
      try {
        await connected(s);
        const firstId = s.id;
        const firstSid = s.io.engine.id;
        const left = leftOf(firstId);
        const gone = once(s, "disconnect");
        const reconnected = once(s.io, "reconnect");
        const connectedAgain = new Promise((resolve) => s.once("disconnect", () => s.once("connect", resolve)));
        s.emit("server-close");
        const [reason] = await gone;
        assert.equal(reason, "transport close");
        assert.equal(s.active, true, "the client will try again");
        const [attempt] = await reconnected;
        assert.equal(typeof attempt, "number");
        await connectedAgain;
        assert.equal(s.connected, true);
        assert.notEqual(s.id, firstId, "a new session has a new socket id");
        assert.notEqual(s.io.engine.id, firstSid, "and a new engine id");
        assert.equal(await ask(s, "echo", "again"), "again");
        const me = await ask(s, "whoami");
        assert.equal(me.id, s.id);
        // the Node server (socket.conn.close()) reports "forced close" for the dropped socket
        assert.deepEqual(await left, { id: firstId, reason: "forced close" });
      } finally {
        close(s);
      }
    });
  });
}

describe("the client closes the whole connection", () => {
  test('manager.disconnect(): the engine closes without a Socket.IO DISCONNECT, the server reports "transport close"', async () => {
    const s = await connect(server.url, { transports: ["websocket"] });
    const id = s.id;
    const left = leftOf(id);
    s.io.disconnect();
    // the Manager closes the engine without a Socket.IO DISCONNECT first
    const msg = await left;
    assert.equal(msg.id, id);
    assert.equal(msg.reason, "transport close");
    close(s);
  });

  test("a multiplexed connection: disconnecting `/` keeps `/admin` up", async () => {
    const main = await connect(server.url, { transports: ["websocket"] });
    // Manager.socket() connects by itself (autoConnect); calling adm.connect()
    // as well would send a second CONNECT, which the Node server answers by
    // closing the whole connection ("invalid state").
    const adm = main.io.socket("/admin", { auth: { token: "let-me-in" } });
    try {
      await connected(adm);
      const left = leftOf(main.id);
      main.disconnect();
      assert.equal((await left).reason, "client namespace disconnect");
      assert.equal(adm.connected, true);
      assert.equal(await ask(adm, "echo", "admin alive"), "admin alive");
    } finally {
      close(adm, main);
    }
  });
});
