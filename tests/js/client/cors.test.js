// CORS on the Engine.IO endpoint, driven by CONFAB_CORS_ORIGINS, checked with
// raw fetch requests (preflight and the polling handshake) and a real client
// that sends an Origin header.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../harness.js";
import { connect, close, ask } from "./helpers.js";

const ALLOWED = "http://allowed.example";
const OTHER = "http://evil.example";
const handshakePath = "/socket.io/?EIO=4&transport=polling";

function preflight(url, origin) {
  return fetch(url + handshakePath, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "GET",
    },
  });
}

function handshake(url, origin) {
  return fetch(url + handshakePath, { headers: { Origin: origin } });
}

describe("CONFAB_CORS_ORIGINS=http://allowed.example", () => {
  let server;
  before(async () => {
    server = await startServer({ CONFAB_CORS_ORIGINS: ALLOWED });
  });
  after(async () => {
    await server?.stop();
  });

  test("preflight from the allowed origin is allowed, with credentials", async () => {
    const res = await preflight(server.url, ALLOWED);
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    const methods = (res.headers.get("access-control-allow-methods") || "").toUpperCase();
    assert.ok(methods.split(/\s*,\s*/).includes("GET"), `allow-methods: ${methods}`);
  });

  test("preflight from another origin gets no Access-Control-Allow-Origin", async () => {
    const res = await preflight(server.url, OTHER);
    await res.arrayBuffer();
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  test("the polling handshake from the allowed origin carries the CORS headers", async () => {
    const res = await handshake(server.url, ALLOWED);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /^0\{/);
    assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  });

  test("the polling handshake from another origin has no Access-Control-Allow-Origin", async () => {
    const res = await handshake(server.url, OTHER);
    await res.text();
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });

  test("a real client sending the allowed Origin connects over polling", async () => {
    const socket = await connect(server.url, {
      transports: ["polling"],
      extraHeaders: { Origin: ALLOWED },
    });
    try {
      assert.equal(await ask(socket, "echo", "cors ok"), "cors ok");
    } finally {
      close(socket);
    }
  });
});

describe("CONFAB_CORS_ORIGINS=*", () => {
  let server;
  before(async () => {
    server = await startServer({ CONFAB_CORS_ORIGINS: "*" });
  });
  after(async () => {
    await server?.stop();
  });

  for (const origin of [ALLOWED, OTHER]) {
    test(`preflight from ${origin} is allowed with "*"`, async () => {
      const res = await preflight(server.url, origin);
      await res.arrayBuffer();
      assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      // "*" together with credentials is invalid for browsers: none is sent
      assert.notEqual(res.headers.get("access-control-allow-credentials"), "true");
    });
  }

  test('the polling handshake carries Access-Control-Allow-Origin "*"', async () => {
    const res = await handshake(server.url, OTHER);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /^0\{/);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
  });
});

describe("no CONFAB_CORS_ORIGINS", () => {
  let server;
  before(async () => {
    // undefined removes the variable from the child environment
    server = await startServer({ CONFAB_CORS_ORIGINS: undefined });
  });
  after(async () => {
    await server?.stop();
  });

  test("no CORS headers on a preflight", async () => {
    const res = await preflight(server.url, ALLOWED);
    await res.arrayBuffer();
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
  });

  test("no CORS headers on the handshake, which still works", async () => {
    const res = await handshake(server.url, ALLOWED);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /^0\{/);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
});
