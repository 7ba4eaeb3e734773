// Small helpers shared by the socket.io-client end-to-end tests.
import { io } from "socket.io-client";
import { once as harnessOnce } from "../harness.js";

/**
 * harness.once, with a no-op catch attached: awaiting it still throws, but a
 * wait left pending by a test that already failed does not turn into an
 * unhandled rejection after the test ended.
 */
export function once(emitter, event, ms) {
  const p = harnessOnce(emitter, event, ms);
  p.catch(() => {});
  return p;
}

/** How long a test waits before concluding that something was NOT delivered. */
export const QUIET_MS = 300;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens a client (a fresh Manager unless opts.forceNew === false) and resolves
 * once it is connected; rejects with the connect_error. Reconnection is off
 * unless asked for, so a failing test never leaves a client retrying.
 */
export async function connect(url, opts = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
  try {
    await connected(socket);
  } catch (err) {
    close(socket);
    throw err;
  }
  return socket;
}

/** Resolves when `socket` connects, rejects on connect_error or after `ms`. */
export function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no connect within ${ms} ms`));
    }, ms);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    };
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** Resolves with the connect_error a socket gets (rejects if it connects instead). */
export function connectError(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect_error within ${ms} ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("connected, expected connect_error"));
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

/** emitWithAck with a client-side timeout so a missing ack fails fast. */
export function ask(socket, event, ...args) {
  return socket.timeout(3000).emitWithAck(event, ...args);
}

/** Emits with an ack callback and resolves with ALL the ack's arguments (emitWithAck keeps only the first). */
export function ackArgs(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(3000).emit(event, ...args, (err, ...reply) => (err ? reject(err) : resolve(reply)));
  });
}

/** Disconnects sockets and closes their Managers (so the test process can exit). */
export function close(...sockets) {
  for (const s of sockets) {
    if (!s) continue;
    try {
      s.disconnect();
    } catch {}
    try {
      s.io.disconnect();
    } catch {}
  }
}

/** Records every emission of `event` on `socket` into an array. */
export function collect(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args));
  return got;
}

/** Asserts nothing (yet) arrived: waits QUIET_MS, then returns the collected list. */
export async function quiet(list, ms = QUIET_MS) {
  await sleep(ms);
  return list;
}

export async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Buffer -> plain byte array, for deepEqual on binary payloads. */
export const bytes = (b) => [...new Uint8Array(b)];
