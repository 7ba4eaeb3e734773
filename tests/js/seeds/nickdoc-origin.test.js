// Cross-site WebSocket hijacking against the nick-doc profile (issue 10): a
// browser sends the site's `token` cookie with a WebSocket any page opens, so
// a cookie authenticates a connection only from a trusted origin. With
// FRONTEND_URL (cors_origins) set, a foreign page is refused before any
// session exists; without a list, it connects, but anonymously. No Origin (a
// non-browser client holding the cookie) and the site's own origin count.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "./lib.js";
import { connected, connectError, close, ask } from "../client/helpers.js";

const FRONTEND_URL = "http://frontend.example";
const FOREIGN = "http://evil.example";

/** The seed's client (websocket only, with credentials), sending `origin` if given. */
function client(url, jwt, origin) {
  const headers = { cookie: `token=${jwt}`, ...(origin ? { Origin: origin } : {}) };
  return io(url, {
    withCredentials: true,
    transports: ["websocket"],
    extraHeaders: headers,
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
}

/** Whether the socket is alice's: only she may join user-alice. */
async function isAlice(socket) {
  await connected(socket);
  const reply = await ask(socket, "join-user-room", "alice");
  return reply.success === true;
}

describe("nickdoc with FRONTEND_URL: the Origin decides", () => {
  let server;
  before(async () => {
    server = await startConfab("nickdoc", { FRONTEND_URL });
  });
  after(async () => {
    await server?.stop();
  });

  test("a page on another origin cannot open the WebSocket, cookie or not", async () => {
    const socket = client(server.url, await server.token("alice"), FOREIGN);
    try {
      const err = await connectError(socket);
      assert.match(err.message, /websocket error/);
    } finally {
      close(socket);
    }
  });

  test("FRONTEND_URL's page and a non-browser client are alice by her cookie", async () => {
    const jwt = await server.token("alice");
    for (const origin of [FRONTEND_URL, undefined]) {
      const socket = client(server.url, jwt, origin);
      try {
        assert.equal(await isAlice(socket), true, `origin ${origin}`);
      } finally {
        close(socket);
      }
    }
  });
});

describe("nickdoc without an allow-list: a foreign page's cookie is not a user", () => {
  let server;
  before(async () => {
    server = await startConfab("nickdoc");
  });
  after(async () => {
    await server?.stop();
  });

  test("from a foreign origin the socket connects anonymously", async () => {
    const socket = client(server.url, await server.token("alice"), FOREIGN);
    try {
      assert.equal(await isAlice(socket), false);
    } finally {
      close(socket);
    }
  });

  test("from the server's own origin, or without Origin, the cookie names alice", async () => {
    const jwt = await server.token("alice");
    for (const origin of [server.url, undefined]) {
      const socket = client(server.url, jwt, origin);
      try {
        assert.equal(await isAlice(socket), true, `origin ${origin}`);
      } finally {
        close(socket);
      }
    }
  });
});
