// CONFAB_PATH moves the Engine.IO endpoint; the default path is then not served.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer } from "../harness.js";
import { connect, connectError, close, ask, once, bytes } from "./helpers.js";

let server;
before(async () => {
  server = await startServer({ CONFAB_PATH: "/realtime" });
});
after(async () => {
  await server?.stop();
});

describe("CONFAB_PATH=/realtime", () => {
  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    test(`a client with path "/realtime" connects (${transports.join("+")})`, async () => {
      const socket = await connect(server.url, { path: "/realtime", transports });
      try {
        assert.equal(await ask(socket, "echo", "on /realtime"), "on /realtime");
        const got = once(socket, "echo");
        socket.emit("echo", Buffer.from([4, 5, 6]));
        const [b] = await got;
        assert.deepEqual(bytes(b), [4, 5, 6]);
      } finally {
        close(socket);
      }
    });
  }

  test("namespaces work under the custom path", async () => {
    const adm = await connect(server.url + "/admin", {
      path: "/realtime",
      transports: ["websocket"],
      auth: { token: "let-me-in" },
    });
    try {
      assert.equal((await ask(adm, "whoami")).nsp, "/admin");
    } finally {
      close(adm);
    }
  });

  test("the raw polling handshake answers on /realtime/", async () => {
    const res = await fetch(`${server.url}/realtime/?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /^0\{/);
    const open = JSON.parse(body.slice(1));
    assert.equal(typeof open.sid, "string");
    assert.deepEqual(open.upgrades, ["websocket"]);
  });

  test("the default path /socket.io/ is not served", async () => {
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    const body = await res.text();
    assert.equal(res.ok, false, `expected an error status, got ${res.status} ${body}`);
    assert.doesNotMatch(body, /^0\{/);
  });

  for (const transports of [["websocket"], ["polling"]]) {
    test(`a client on the default path fails to connect (${transports[0]})`, async () => {
      const socket = io(server.url, { forceNew: true, reconnection: false, transports, timeout: 3000 });
      try {
        const err = await connectError(socket);
        assert.ok(err instanceof Error);
        assert.equal(socket.connected, false);
      } finally {
        close(socket);
      }
    });
  }

  test("HTTP routes are still served beside the custom path", async () => {
    const res = await fetch(`${server.url}/api/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });
});
