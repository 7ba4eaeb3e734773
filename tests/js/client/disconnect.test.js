// Disconnects from either side, the reasons the server reports (room
// `observers` gets `left` { id, reason }), and the client's own reconnection
// after the server drops the whole session.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connect, connected, close, ask, once, collect, quiet, postJson } from "./helpers.js";

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

    test('disconnectSockets(true): each socket is told before the connection closes, so the client says "io server disconnect"', async () => {
      // As the Node server (Client._disconnect): a DISCONNECT per socket,
      // flushed ahead of the Engine.IO close, on either transport.
      const s = await connect(server.url, { transports, reconnection: false });
      try {
        const id = s.id;
        const left = leftOf(id);
        const gone = once(s, "disconnect");
        const closed = once(s.io.engine, "close");
        assert.equal((await postJson(`${server.url}/api/disconnect`, { rooms: [id], close: true })).status, 200);
        assert.equal((await gone)[0], "io server disconnect");
        assert.deepEqual(await left, { id, reason: "server namespace disconnect" });
        await closed;
      } finally {
        close(s);
      }
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

describe("server-close over polling, at the Engine.IO level", () => {
  // With the real client, whether a GET is pending when the server closes is a
  // race; these pin both cases down with plain HTTP requests.
  async function openPolling() {
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    assert.match(open, /^0\{/);
    const url = `${base}&sid=${JSON.parse(open.slice(1)).sid}`;
    assert.equal((await fetch(url, { method: "POST", body: "40" })).status, 200);
    const connectAnswer = await (await fetch(url)).text();
    assert.match(connectAnswer, /^40\{/);
    return url;
  }
  const packets = (body) => body.split("\x1e");

  test("a pending GET is answered with the close packet", async () => {
    const url = await openPolling();
    const pending = fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(url, { method: "POST", body: '42["server-close"]' })).status, 200);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(packets(res.body).at(-1), "1");
  });

  test("with no GET pending, the next GET still gets the close packet", async () => {
    const url = await openPolling();
    assert.equal((await fetch(url, { method: "POST", body: '42["server-close"]' })).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(url);
    const body = await res.text();
    // Node keeps the closing session until the client polls, then answers "6\x1e1"
    // (noop, close); a 400 "Session ID unknown" here makes the client report
    // "transport error" instead of "transport close".
    assert.equal(res.status, 200, `GET after server-close: ${res.status} ${body}`);
    assert.equal(packets(body).at(-1), "1");
    // and after that the session is gone
    const again = await fetch(url);
    await again.text();
    assert.equal(again.status, 400);
  });

  test("what the server sent before closing comes first, the close packet in the GET after", async () => {
    const url = await openPolling();
    assert.equal((await fetch(url, { method: "POST", body: '42["goodbye-close","see you"]' })).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    // Node's socket.close() waits for the queue to drain, then the polling
    // transport sends the close packet in the next GET.
    const first = await (await fetch(url)).text();
    assert.deepEqual(packets(first), ['42["goodbye","see you"]']);
    const second = await fetch(url);
    assert.equal(second.status, 200);
    assert.deepEqual(packets(await second.text()), ["1"]);
    const again = await fetch(url);
    await again.text();
    assert.equal(again.status, 400);
  });

  test("a real polling client gets the event, then \"transport close\"", async () => {
    const s = io(server.url, { forceNew: true, transports: ["polling"], reconnection: false });
    try {
      await connected(s);
      const goodbye = once(s, "goodbye");
      const gone = once(s, "disconnect");
      s.emit("goodbye-close", "bye");
      assert.deepEqual(await goodbye, ["bye"]);
      const [reason] = await gone;
      assert.equal(reason, "transport close");
    } finally {
      close(s);
    }
  });
});
