// Image uploads decode within a memory budget counted from the image's
// header ([chat] image_decode_budget), a few at a time
// (image_decode_concurrency, then 503 with Retry-After), through the
// `confab` appliance: PNG bombs are refused before a pixel is decoded, and
// the server's peak memory (VmHWM, from /proc) says so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startServer } from "../harness.js";
import { upload, tempDataDir, SECRET, randomUUID } from "./helpers.js";
import { zeroPng, decodedBytes } from "./png.js";

const MiB = 1024 * 1024;
/**
 * The peak a refused bomb may leave: far under one bomb decoded (512 MiB
 * to 1.5 GiB) and under one default budget (256 MiB); the idle debug
 * server takes about 45 MiB.
 */
const PEAK_BOUND = 160 * MiB;

async function startAppliance(env = {}) {
  const dataDir = tempDataDir();
  const server = await startServer(
    { CONFAB_DATA_DIR: dataDir, CONFAB_IDENTITY__SECRET: SECRET, RUST_LOG: "warn", ...env },
    { command: "confab" },
  );
  const stop = async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { ...server, dataDir, stop };
}

/** The server's peak and current resident memory, in bytes. */
function memory(server) {
  const status = fs.readFileSync(`/proc/${server.child.pid}/status`, "utf8");
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)[1]) * 1024;
  return { peak: kb("VmHWM"), rss: kb("VmRSS") };
}

const image = (user, data, url) => upload(url, user, { data, name: "image.png", messageType: 2 });

let server;
before(async () => {
  server = await startAppliance();
});
after(() => server?.stop());

test("a 16384×16384 16-bit PNG (1.6 MB, 1.5 GiB decoded) is refused 413 before it is decoded", async () => {
  const bomb = zeroPng(16384, 16384, { depth: 16, color: 2 });
  assert.ok(bomb.length < 2 * MiB && decodedBytes(16384, 16384, { depth: 16, color: 2 }) === 1.5 * 1024 * MiB);
  const res = await image(randomUUID(), bomb, server.url);
  assert.equal(res.status, 413);
  assert.equal(res.json.success, false);
  assert.equal(res.json.data, null);
  assert.match(res.json.message, /^the image is too large to convert: it needs \d+ bytes of memory, 268435456 are allowed$/);
  const { peak } = memory(server);
  assert.ok(peak < PEAK_BOUND, `peak resident memory ${peak} bytes`);
});

test("six 8-bit PNG bombs at once (0.5 MB each, 512 MiB each decoded): each refused, memory bounded", async () => {
  const bomb = zeroPng(11585, 11585, { depth: 8, color: 6 });
  assert.ok(decodedBytes(11585, 11585) > 511 * MiB);
  const answers = await Promise.all(Array.from({ length: 6 }, () => image(randomUUID(), bomb, server.url)));
  for (const res of answers) {
    assert.equal(res.status, 413, JSON.stringify(res.json));
    assert.match(res.json.message, /too large to convert/);
  }
  const { peak } = memory(server);
  assert.ok(peak < PEAK_BOUND, `peak resident memory ${peak} bytes`);
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, "uploads", "tmp")), [], "nothing left behind");
});

test("an image within the budget still converts (3000×2000 scaled into 1920×1920)", async () => {
  const res = await image(randomUUID(), zeroPng(3000, 2000, { color: 2 }), server.url);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.match(res.json.data, /^\/uploads\/chat-messages\/images\/[0-9a-f]{32}\.webp$/);
  const kept = fs.readFileSync(path.join(server.dataDir, res.json.data));
  assert.equal(kept.subarray(8, 12).toString("latin1"), "WEBP");
});

test("a budget set lower refuses what the default takes", async () => {
  const small = await startAppliance({ CONFAB_CHAT__IMAGE_DECODE_BUDGET: String(8 * MiB) });
  try {
    const photo = zeroPng(3000, 2000, { color: 2 });
    const res = await image(randomUUID(), photo, small.url);
    assert.equal(res.status, 413);
    assert.match(res.json.message, /8388608 are allowed$/);
    const fits = await image(randomUUID(), zeroPng(400, 300, { color: 2 }), small.url);
    assert.equal(fits.status, 200, JSON.stringify(fits.json));
  } finally {
    await small.stop();
  }
});

test("past its conversion slots an image is answered 503 with Retry-After, and the slot frees again", async () => {
  const busy = await startAppliance({ CONFAB_CHAT__IMAGE_DECODE_CONCURRENCY: "1", CONFAB_CHAT__IMAGE_DECODE_WAIT_MS: "0" });
  try {
    // Each takes the only slot for seconds (48 MiB decoded, scaled,
    // encoded); they arrive together.
    const photo = zeroPng(4000, 4000, { color: 2 });
    const answers = await Promise.all(Array.from({ length: 4 }, () => image(randomUUID(), photo, busy.url)));
    const statuses = answers.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 503), String(statuses));
    assert.ok(statuses.includes(200), String(statuses));
    const refused = answers.filter((r) => r.status === 503);
    assert.ok(refused.length >= 1, String(statuses));
    for (const res of refused) {
      assert.equal(res.headers.get("retry-after"), "1");
      assert.deepEqual(res.json, { success: false, data: null, message: "the server is busy converting images, try again in 1 s" });
    }
    const later = await image(randomUUID(), zeroPng(400, 300, { color: 2 }), busy.url);
    assert.equal(later.status, 200, JSON.stringify(later.json));
  } finally {
    await busy.stop();
  }
});
