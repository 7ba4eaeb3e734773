// Shared by the chat end-to-end tests: the chat example server on a fresh
// data directory, the seed's ChatClient with its hooks recorded, and waits.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
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
