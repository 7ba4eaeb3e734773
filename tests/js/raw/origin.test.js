// The Origin check on the Engine.IO endpoint (issue 10, cross-site WebSocket
// hijacking): with CONFAB_CORS_ORIGINS set, a handshake or an upgrade from
// another origin is refused 403 before any session exists, over WebSocket as
// over polling; no Origin (a non-browser client) and a listed one pass. The
// testbed's `allow_request` hook adds its own refusal, `?refuse=<message>`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startServer } from "../harness.js";
import { eioUrl, http, parseOpen, Polling } from "./lib.js";

const ALLOWED = "http://allowed.example";
const FOREIGN = "http://evil.example";

/**
 * Opens a raw WebSocket with `headers`; resolves with { status: 101, open }
 * (the Engine.IO open packet, when the handshake is a new connection) or the
 * refusal { status, body }.
 */
function wsAttempt(url, headers = {}, { expectOpen = true } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("no answer to the upgrade within 5 s"));
    }, 5000);
    const done = (value) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(value);
    };
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => done({ status: res.statusCode, body }));
    });
    ws.once("upgrade", (res) => {
      if (!expectOpen) done({ status: res.statusCode });
    });
    ws.once("message", (data) => done({ status: 101, open: parseOpen(data.toString()) }));
    ws.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const wsUrl = (base, query = {}) => eioUrl(base, { transport: "websocket", ...query });

describe("CONFAB_CORS_ORIGINS=http://allowed.example: the Origin check", () => {
  let server;
  before(async () => {
    server = await startServer({ CONFAB_CORS_ORIGINS: ALLOWED });
  });
  after(async () => {
    await server?.stop();
  });

  test("a WebSocket handshake from a foreign Origin is refused 403, with no session", async () => {
    const refused = await wsAttempt(wsUrl(server.url), { Origin: FOREIGN });
    assert.equal(refused.status, 403);
    assert.equal(refused.body, "Origin not allowed");
    // Nothing was opened: no socket exists on the server.
    const sockets = await http(`${server.url}/api/sockets?nsp=/`);
    assert.deepEqual(JSON.parse(sockets.body), []);
  });

  test("a WebSocket handshake from the allowed Origin opens (101)", async () => {
    const opened = await wsAttempt(wsUrl(server.url), { Origin: ALLOWED });
    assert.equal(opened.status, 101);
    assert.ok(opened.open.sid);
  });

  test("a WebSocket handshake without Origin (a non-browser client) opens (101)", async () => {
    const opened = await wsAttempt(wsUrl(server.url));
    assert.equal(opened.status, 101);
    assert.ok(opened.open.sid);
  });

  test("a polling handshake from a foreign Origin is refused 403 {code: 4}", async () => {
    const res = await http(eioUrl(server.url, { transport: "polling" }), { headers: { Origin: FOREIGN } });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), { code: 4, message: "Origin not allowed" });
    const ok = await http(eioUrl(server.url, { transport: "polling" }), { headers: { Origin: ALLOWED } });
    assert.equal(ok.status, 200);
    assert.ok(parseOpen(ok.body).sid);
  });

  // confab checks upgrades too; Node's allowRequest sees new connections only.
  test("an upgrade of an existing session from a foreign Origin is refused 403", async () => {
    const polling = new Polling(server.url);
    await polling.open();
    const upgrade = wsUrl(server.url, { sid: polling.sid });
    const refused = await wsAttempt(upgrade, { Origin: FOREIGN });
    assert.equal(refused.status, 403);
    // The session is untouched: it still answers polls.
    await polling.send("40");
    const [connect] = await polling.poll();
    assert.match(connect, /^40\{/);
    const upgraded = await wsAttempt(upgrade, { Origin: ALLOWED }, { expectOpen: false });
    assert.equal(upgraded.status, 101);
  });

  test("the application's allow_request hook refuses with its own message", async () => {
    const message = "closed for maintenance";
    const polling = await http(eioUrl(server.url, { transport: "polling", refuse: message }));
    assert.equal(polling.status, 403);
    assert.deepEqual(JSON.parse(polling.body), { code: 4, message });
    const ws = await wsAttempt(wsUrl(server.url, { refuse: message }), { Origin: ALLOWED });
    assert.deepEqual(ws, { status: 403, body: message });
  });
});

describe("CONFAB_CORS_ORIGINS=*: every Origin connects", () => {
  let server;
  before(async () => {
    server = await startServer({ CONFAB_CORS_ORIGINS: "*" });
  });
  after(async () => {
    await server?.stop();
  });

  test("a WebSocket and a polling handshake from any Origin open", async () => {
    const opened = await wsAttempt(wsUrl(server.url), { Origin: FOREIGN });
    assert.equal(opened.status, 101);
    const res = await http(eioUrl(server.url, { transport: "polling" }), { headers: { Origin: FOREIGN } });
    assert.equal(res.status, 200);
  });
});
