// Shared by the chat end-to-end tests: the chat example server on a fresh
// data directory, the seed's ChatClient with its hooks recorded, and waits.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID, createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startServer } from "../harness.js";
import { connect, connected, close, ask, sleep, QUIET_MS } from "../client/helpers.js";
import { ChatClient } from "./seed-client.js";

export { ask, sleep, close, connect, QUIET_MS, randomUUID };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** examples/chat, built by the test command. */
const CHAT_SERVER = path.join(root, "target", "debug", "examples", "chat");

/** A new, empty data directory (removed by `stop`). */
export function tempDataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "confab-chat-"));
}

/**
 * Starts examples/chat on `dataDir` (a fresh one by default). `stop()` ends
 * it with SIGTERM and removes the directory unless `keep`; `kill()` ends it
 * with SIGKILL, as a crash would, and keeps the directory.
 */
export async function startChat({ dataDir = tempDataDir(), env = {} } = {}) {
  const server = await startServer({ CONFAB_DATA_DIR: dataDir, ...env }, { command: CHAT_SERVER });
  const kill = () =>
    new Promise((resolve) => {
      if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
      server.child.once("exit", resolve);
      server.child.kill("SIGKILL");
    });
  const stop = async ({ keep = false } = {}) => {
    await server.stop();
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { ...server, dataDir, kill, stop };
}

/**
 * The seed's ChatClient for a new user (or `userId`), connected, with every
 * hook recorded: `rec.message`, `rec.typing`, ... are arrays of what each
 * hook got, and `rec.next("message")` waits for the next one.
 */
export async function chatClient(url, userId = randomUUID()) {
  const chat = new ChatClient(url, userId, "dev-token");
  const rec = record(chat);
  await connected(chat.socket);
  return { chat, rec, userId, socket: chat.socket };
}

const HOOKS = {
  message: "onMessageReceived",
  typing: "onTyping",
  clientStatus: "onUserStatusChanged",
  onMemberJoin: "onMemberJoined",
  messageUpdated: "onMessageUpdated",
  messageDeleted: "onMessageDeleted",
  messageHasBeenRead: "onMessagesRead",
};

function record(chat) {
  const rec = { waiters: [] };
  for (const [event, hook] of Object.entries(HOOKS)) {
    rec[event] = [];
    chat[hook] = (data) => {
      rec[event].push(data);
      const i = rec.waiters.findIndex((w) => w.event === event && w.after < rec[event].length);
      if (i >= 0) rec.waiters.splice(i, 1)[0].resolve(data);
    };
  }
  /** Resolves with the next emission of `event` (or one already past `after`). */
  rec.next = (event, ms = 3000, after = rec[event].length) =>
    new Promise((resolve, reject) => {
      if (rec[event].length > after) return resolve(rec[event][after]);
      const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
      rec.waiters.push({
        event,
        after,
        resolve: (data) => {
          clearTimeout(timer);
          resolve(data);
        },
      });
    }).catch((err) => {
      throw err;
    });
  return rec;
}

/** Resolves once `rec[event]` has `n` entries. */
export async function until(rec, event, n, ms = 3000) {
  const deadline = Date.now() + ms;
  while (rec[event].length < n) {
    if (Date.now() > deadline) throw new Error(`only ${rec[event].length} of ${n} "${event}"`);
    await sleep(20);
  }
  return rec[event];
}

/** The seed's joinRoomWithUser as a promise of its (response, error). */
export function joinWithUser(chat, otherUserId) {
  return new Promise((resolve) => chat.joinRoomWithUser(otherUserId, (response, error) => resolve({ response, error })));
}

export function closeAll(...clients) {
  close(...clients.map((c) => c?.socket ?? c));
}

/** The HMAC secret the chat server is started with by `startChatHttp`. */
export const SECRET = "chat-http-test-secret-0123456789abcdef";

/** An HS256 token for `sub`, as the identity layer's verifier accepts. */
export function mintToken(sub, { name, secret = SECRET, ttl = 3600 } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT" });
  const body = b64({ sub, name, iat: now, exp: now + ttl });
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** examples/chat with the HTTP endpoints' secret set. */
export function startChatHttp({ env = {}, ...rest } = {}) {
  return startChat({ ...rest, env: { CONFAB_IDENTITY__SECRET: SECRET, ...env } });
}

/** GET or POST with the user's bearer token; resolves to {status, headers, json|bytes}. */
export async function http(url, { user, token = user && mintToken(user), method = "GET", body, headers = {} } = {}) {
  const res = await fetch(url, {
    method,
    body,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const type = res.headers.get("content-type") ?? "";
  const out = { status: res.status, headers: res.headers };
  if (type.startsWith("application/json")) out.json = await res.json();
  else out.bytes = Buffer.from(await res.arrayBuffer());
  return out;
}

/** POST /api/chat/uploadFile as the seed's client does (file first, then messageType). */
export function upload(base, user, { data, name, messageType, blob, typeFirst = false, token } = {}) {
  const form = new FormData();
  if (typeFirst) form.append("messageType", String(messageType));
  form.append("file", blob ?? new Blob([data]), name);
  if (!typeFirst && messageType !== undefined) form.append("messageType", String(messageType));
  return http(`${base}/api/chat/uploadFile`, { user, token, method: "POST", body: form });
}

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000" +
    "1ff89993d1d0000000049454e44ae426082",
  "hex",
);

/** The first bytes of an x86-64 ELF executable (what `infer` needs to see one). */
export const ELF = Buffer.concat([Buffer.from("7f454c46020101000000000000000000020003000100000000", "hex"), Buffer.alloc(100)]);

/** An MP3 start: an ID3v2 tag, then a frame header. */
export const MP3 = Buffer.concat([Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1"), Buffer.from("fffb9000", "hex"), Buffer.alloc(400)]);

/** An MP4 start: an `ftyp` box (isom). */
export const MP4 = Buffer.concat([
  Buffer.from("00000020", "hex"),
  Buffer.from("ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "latin1"),
  Buffer.alloc(600),
]);
