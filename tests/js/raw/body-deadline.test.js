// Request bodies have a deadline (body_timeout_ms, extended a second per
// body_min_rate bytes): raw TCP clients that send their headers, then a
// byte at a time, are answered 408 and their connections closed, on every
// route that reads a body (the polling POST, /api/emit, the upload), while
// normal clients go on. Run against the `confab` appliance with a 1 s
// deadline.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { startServer } from "../harness.js";
import { tempDataDir, mintToken, SECRET } from "../chat/helpers.js";
import { eioUrl, parseOpen } from "./lib.js";

const API_KEY = "body-deadline-test-key";
let server;
let dataDir;
before(async () => {
  dataDir = tempDataDir();
  server = await startServer(
    {
      CONFAB_DATA_DIR: dataDir,
      CONFAB_IDENTITY__SECRET: SECRET,
      CONFAB_API__KEYS: API_KEY,
      CONFAB_BODY_TIMEOUT_MS: "1000",
      CONFAB_BODY_MIN_RATE: "500",
      RUST_LOG: "warn",
    },
    { command: "confab" },
  );
});
after(async () => {
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/**
 * A raw POST: its head (with `Content-Length: length`, or chunked), then
 * one byte every `everyMs` (5 bytes a second, a hundredth of the minimum
 * rate) until the server answers. Resolves once the server has closed the
 * connection, with the status it answered.
 */
function trickle(path, { headers = {}, length = 100_000, chunked = false, everyMs = 200 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, "127.0.0.1");
    let response = "";
    let timer;
    socket.on("connect", () => {
      const head = [
        `POST ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${server.port}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`,
        "",
        "",
      ].join("\r\n");
      socket.write(head);
      timer = setInterval(() => socket.write(chunked ? "1\r\nx\r\n" : "x"), everyMs);
    });
    socket.on("data", (data) => {
      clearInterval(timer); // answered: stop writing, read the rest
      response += data.toString("latin1");
    });
    socket.on("error", () => {}); // a write racing the close; the close says it
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]), response });
    });
  });
}

async function pollingSid() {
  const res = await fetch(eioUrl(server.url, { transport: "polling" }));
  return parseOpen(await res.text()).sid;
}

const SAFETY = { timeout: 60_000 };

test("a polling POST trickling its body is answered 408 and closed", SAFETY, async () => {
  const sid = await pollingSid();
  const res = await trickle(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
    headers: { "Content-Type": "text/plain;charset=UTF-8" },
  });
  assert.equal(res.status, 408, res.response);
  assert.match(res.response, /connection: close/i);
});

test("/api/emit trickling its JSON body is answered 408 and closed, with a length or chunked", SAFETY, async () => {
  const headers = { "X-API-Key": API_KEY, "Content-Type": "application/json" };
  assert.equal((await trickle("/api/emit", { headers })).status, 408);
  assert.equal((await trickle("/api/emit", { headers, chunked: true })).status, 408);
});

test("an upload trickling its multipart body is answered 408 and closed", SAFETY, async () => {
  const res = await trickle("/api/chat/uploadFile", {
    headers: { Authorization: `Bearer ${mintToken("trickler")}`, "Content-Type": "multipart/form-data; boundary=xyz" },
  });
  assert.equal(res.status, 408, res.response);
});

test("a chunked body the handler never reads is not drained: answered, then closed", SAFETY, async () => {
  // No credentials: 401 before the body is looked at.
  const res = await trickle("/api/emit", { headers: { "Content-Type": "application/json" }, chunked: true });
  assert.equal(res.status, 401, res.response);
});

test("200 trickling connections at once are all answered 408 and closed, while normal clients are served", SAFETY, async () => {
  const sids = await Promise.all(Array.from({ length: 70 }, pollingSid));
  const trickles = [
    ...sids.map((sid) => trickle(`/socket.io/?EIO=4&transport=polling&sid=${sid}`)),
    ...Array.from({ length: 70 }, () => trickle("/api/emit", { headers: { "X-API-Key": API_KEY } })),
    ...Array.from({ length: 60 }, () =>
      trickle("/api/chat/uploadFile", {
        headers: { Authorization: `Bearer ${mintToken("trickler")}`, "Content-Type": "multipart/form-data; boundary=xyz" },
      }),
    ),
  ];
  // Meanwhile, a normal backend call and a normal polling round trip.
  const emitted = await fetch(`${server.url}/api/emit`, {
    method: "POST",
    headers: { "X-API-Key": API_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ event: "hello", data: 1 }),
  });
  assert.equal(emitted.status, 200);
  const sid = await pollingSid();
  const posted = await fetch(eioUrl(server.url, { transport: "polling", sid }), { method: "POST", body: "40" });
  assert.equal(posted.status, 200);
  const answers = await Promise.all(trickles);
  assert.deepEqual(
    answers.map((a) => a.status).filter((s) => s !== 408),
    [],
    "every trickle answered 408",
  );
});
