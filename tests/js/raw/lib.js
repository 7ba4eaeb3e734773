// Small raw-protocol helpers for the byte-level tests in this folder:
// plain HTTP (fetch) for the polling transport and the `ws` package for WebSocket.
// Nothing here speaks Socket.IO for you: tests write and read the exact frames.
import { before, after } from "node:test";
import WebSocket from "ws";
import { startServer } from "../harness.js";

export const SEP = "\x1e"; // Engine.IO v4 polling payload separator

/** The Engine.IO URL with the given query (EIO=4 unless `EIO` is given; `EIO: null` omits it). */
export function eioUrl(base, query = {}, path = "/socket.io/") {
  const q = { EIO: "4", ...query };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined) params.set(k, v);
  return `${base}${path}?${params}`;
}

/** A raw HTTP request: resolves to { status, body, headers, contentType }. */
export async function http(url, { method = "GET", body, headers, signal } = {}) {
  const res = await fetch(url, { method, body, headers, signal });
  const text = await res.text();
  return { status: res.status, body: text, headers: res.headers, contentType: res.headers.get("content-type") || "" };
}

/** Parses an open packet `0{...}` and returns the handshake object. */
export function parseOpen(packet) {
  if (typeof packet !== "string" || packet[0] !== "0") throw new Error(`not an open packet: ${JSON.stringify(packet)}`);
  return JSON.parse(packet.slice(1));
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with `what` unless `promise` settles first. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A polling session driven by hand. `open()` does the handshake GET.
 * get()/post() return { status, body, ... }; poll() does a GET and splits a 200 body into packets.
 */
export class Polling {
  constructor(base, { path = "/socket.io/" } = {}) {
    this.base = base;
    this.path = path;
    this.sid = null;
  }
  url(extra = {}) {
    return eioUrl(this.base, { transport: "polling", sid: this.sid, ...extra }, this.path);
  }
  async open() {
    const res = await http(eioUrl(this.base, { transport: "polling" }, this.path));
    if (res.status !== 200) throw new Error(`handshake failed: ${res.status} ${res.body}`);
    this.handshake = parseOpen(res.body);
    this.openBody = res.body;
    this.sid = this.handshake.sid;
    return this.handshake;
  }
  get(opts = {}) {
    return http(this.url(), { method: "GET", ...opts });
  }
  post(body, opts = {}) {
    return http(this.url(), { method: "POST", body, headers: { "content-type": "text/plain;charset=UTF-8" }, ...opts });
  }
  /** GET, expect 200, return the packets of the payload. */
  async poll(opts) {
    const res = await this.get(opts);
    if (res.status !== 200) throw new Error(`poll failed: ${res.status} ${res.body}`);
    return res.body.split(SEP);
  }
  /** POST the packets joined with the separator; expect 200 `ok`. */
  async send(...packets) {
    const res = await this.post(packets.join(SEP));
    if (res.status !== 200 || res.body !== "ok") throw new Error(`post failed: ${res.status} ${res.body}`);
    return res;
  }
  /** Handshake + Socket.IO CONNECT to `/`; returns the Socket.IO socket id. */
  async connect(auth) {
    await this.open();
    await this.send(auth === undefined ? "40" : `40${JSON.stringify(auth)}`);
    const packets = await this.poll();
    const first = packets[0];
    if (!first.startsWith("40{")) throw new Error(`expected 40{...}, got ${JSON.stringify(packets)}`);
    this.socketId = JSON.parse(first.slice(2)).sid;
    return this.socketId;
  }
}

/**
 * A raw WebSocket with a queue of received frames. Text frames arrive as strings, binary ones as Buffers.
 * With `autoPong` (default true) server pings `2` are answered with `3` and not queued.
 */
const openSockets = new Set();

/** Terminates every Ws a test file opened (call it in `after`, before stopping the server). */
export function closeAll() {
  for (const ws of openSockets) ws.close();
  openSockets.clear();
}

export class Ws {
  constructor(url, { autoPong = true } = {}) {
    openSockets.add(this);
    this.url = url;
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this.closeInfo = null;
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("unexpected-response", (req, res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          const err = new Error(`unexpected response ${res.statusCode}`);
          err.statusCode = res.statusCode;
          err.body = body;
          reject(err);
        });
        res.on("error", () => {});
      });
      this.ws.once("error", reject);
    });
    this.opened.catch(() => {});
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${code}) while waiting`));
      });
    });
    this.ws.on("message", (data, isBinary) => {
      const frame = isBinary ? Buffer.from(data) : data.toString();
      if (!isBinary && frame === "2") {
        this.pings++;
        this.lastPingAt = Date.now();
        if (this.autoPong) {
          this.ws.send("3");
          return;
        }
      }
      const w = this.waiters.shift();
      if (w) w.resolve(frame);
      else this.queue.push(frame);
    });
  }
  /** Next received frame (string or Buffer); rejects after `ms` or if the socket closes first. */
  next(ms = 3000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`socket closed (${this.closeInfo.code})`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no frame within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }
  /** Resolves true if no frame arrives within `ms` (the frame, if any, stays queued). */
  async silentFor(ms) {
    await sleep(ms);
    return this.queue.length === 0;
  }
  send(data) {
    this.ws.send(data);
  }
  /** Resolves with { code, reason } once closed, or rejects after `ms`. */
  waitClose(ms = 3000) {
    return within(this.closed, ms, "websocket close");
  }
  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

/**
 * The close codes of a clean server-initiated close: Node sends a Close frame without a status
 * (seen as 1005); 1000 (normal closure) means the same. 1006 (no Close frame) is not clean.
 */
export const CLEAN_CLOSE = [1000, 1005];

/** Opens a WebSocket-only Engine.IO session; resolves to the Ws with `.handshake` set. */
export async function openWs(base, opts = {}, query = {}) {
  const ws = new Ws(eioUrl(base, { transport: "websocket", ...query }), opts);
  await ws.opened;
  const first = await ws.next();
  ws.openPacket = first;
  ws.handshake = parseOpen(first);
  ws.sid = ws.handshake.sid;
  return ws;
}

/** Opens a WebSocket session and connects to namespace `/` (`40` → `40{"sid":...}`). */
export async function connectWs(base, opts = {}) {
  const ws = await openWs(base, opts);
  ws.send("40");
  const reply = await ws.next();
  if (typeof reply !== "string" || !reply.startsWith("40{")) throw new Error(`expected 40{...}, got ${JSON.stringify(reply)}`);
  ws.socketId = JSON.parse(reply.slice(2)).sid;
  return ws;
}

/** Asserts the connection still works end to end: event `echo` with ack id `id` comes back as `43<id>[...]`. */
export async function echoAck(ws, id, value = "still-alive") {
  ws.send(`42${id}${JSON.stringify(["echo", value])}`);
  return ws.next();
}

/**
 * One testbed for a file's tests: started before them, stopped (every
 * socket closed first) after them. `settings` are added to a slow
 * heartbeat, so that no ping gets into the exact payloads tests expect.
 * Tests read `.url`; `onStart(url)` runs once it is up, before any test
 * (a `before` of the test file's own may run first).
 */
export function testbed(settings = {}, onStart = async () => {}) {
  const handle = { url: undefined, server: undefined };
  before(async () => {
    handle.server = await startServer({
      CONFAB_PING_INTERVAL_MS: "20000",
      CONFAB_PING_TIMEOUT_MS: "20000",
      ...settings,
    });
    handle.url = handle.server.url;
    await onStart(handle.url);
  });
  after(async () => {
    closeAll();
    await handle.server.stop();
  });
  return handle;
}
