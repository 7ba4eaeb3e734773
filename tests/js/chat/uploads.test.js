// POST /api/chat/uploadFile and the files it serves back: the seed's
// fetch + FormData upload, images to WebP, the type read from the content,
// the size limits enforced while reading, and who may GET a file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  startChatHttp,
  chatClient,
  joinWithUser,
  ask,
  closeAll,
  http,
  upload,
  mintToken,
  randomUUID,
  PNG,
  ELF,
  MP3,
  MP4,
} from "./helpers.js";

let server;
before(async () => {
  server = await startChatHttp();
});
after(() => server.stop());

const IMAGE_PATH = /^\/uploads\/chat-messages\/images\/[0-9a-f]{32}\.webp$/;

test("an image is answered {success, data: path, message} and kept as WebP, readable by its uploader", async () => {
  const alice = randomUUID();
  const res = await upload(server.url, alice, { data: PNG, name: "cat.png", messageType: 2 });
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.json), ["success", "data", "message"], "the seed's fields, in its order");
  assert.equal(res.json.success, true);
  assert.equal(res.json.message, null);
  assert.match(res.json.data, IMAGE_PATH);
  // Kept under <data_dir>/uploads/, converted.
  const disk = path.join(server.dataDir, res.json.data);
  const kept = fs.readFileSync(disk);
  assert.equal(kept.subarray(0, 4).toString("latin1"), "RIFF");
  assert.equal(kept.subarray(8, 12).toString("latin1"), "WEBP");

  const got = await http(server.url + res.json.data, { user: alice });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "image/webp");
  assert.equal(got.headers.get("x-content-type-options"), "nosniff");
  assert.deepEqual(got.bytes, kept);
  // A token in the query works too (an <img src>).
  const viaQuery = await http(`${server.url}${res.json.data}?token=${mintToken(alice)}`, { token: null });
  assert.equal(viaQuery.status, 200);

  // The seed's other order (messageType first) works as well.
  const typeFirst = await upload(server.url, alice, { data: PNG, name: "cat.png", messageType: 2, typeFirst: true });
  assert.match(typeFirst.json.data, IMAGE_PATH);
});

test("a file is served only to its uploader and the members of a chat whose message names it", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  const eve = await chatClient(server.url);
  try {
    const { response } = await joinWithUser(alice.chat, bob.userId);
    const chatId = response.chatHeaderId;
    const up = await upload(server.url, alice.userId, { data: PNG, name: "cat.png", messageType: 2 });
    const file = server.url + up.json.data;
    // Not shared yet: only alice.
    assert.equal((await http(file, { user: alice.userId })).status, 200);
    const early = await http(file, { user: bob.userId });
    assert.equal(early.status, 403);
    assert.equal(early.json.success, false);

    // Eve cannot share a file she cannot read, in her own chat with bob.
    const eveChat = (await joinWithUser(eve.chat, bob.userId)).response.chatHeaderId;
    assert.deepEqual(
      await ask(eve.socket, "createMessage", { message: up.json.data, chatHeaderId: eveChat, messageType: 2 }),
      { error: "this file is not yours to share" },
    );
    // A path nobody uploaded, or the wrong kind, is refused.
    const ghost = "/uploads/chat-messages/images/0123456789abcdef0123456789abcdef.webp";
    assert.deepEqual(
      await ask(alice.socket, "createMessage", { message: ghost, chatHeaderId: chatId, messageType: 2 }),
      { error: "unknown file: upload it first" },
    );
    assert.deepEqual(
      await ask(alice.socket, "createMessage", { message: up.json.data, chatHeaderId: chatId, messageType: 4 }),
      { error: "messageType does not match the uploaded file" },
    );

    // The seed's flow: upload, then createMessage with the path.
    const sent = await ask(alice.socket, "createMessage", {
      message: up.json.data,
      chatHeaderId: chatId,
      messageType: 2,
      caption: "Check out this image!",
    });
    assert.equal(sent.chatMessage.message, up.json.data);
    assert.equal((await http(file, { user: bob.userId })).status, 200, "a member of the chat now");
    assert.equal((await http(file, { user: eve.userId })).status, 403, "not a member");
    assert.equal((await http(file, { token: null })).status, 401);
    assert.equal((await http(file, { token: "not.a.jwt" })).status, 401);
    assert.equal((await http(file, { user: bob.userId, token: mintToken(bob.userId, { secret: "another-secret-another-secret-0000" }) })).status, 401);
    assert.equal((await http(`${server.url}/uploads/chat-messages/images/0123456789abcdef0123456789abcdef.webp`, { user: alice.userId })).status, 404);
    assert.equal((await http(`${server.url}/uploads/chat-messages/images/..%2f..%2fdb%2fconf`, { user: alice.userId })).status, 404);
  } finally {
    closeAll(alice, bob, eve);
  }
});

test("the type is read from the content: an executable renamed .jpg is refused, as image or as file", async () => {
  const user = randomUUID();
  for (const messageType of [2, 3]) {
    const res = await upload(server.url, user, { data: ELF, name: "holiday.jpg", messageType });
    assert.equal(res.status, 415, `messageType ${messageType}`);
    assert.deepEqual(res.json, { success: false, data: null, message: "the file's content does not match its name (.jpg)" });
  }
  // Not an image, whatever it is called.
  const text = await upload(server.url, user, { data: Buffer.from("just some text"), name: "photo", messageType: 2 });
  assert.equal(text.status, 415);
  assert.match(text.json.message, /not an image/);
  // A PNG is no audio, even named .mp3 (and the name lies, too).
  const png = await upload(server.url, user, { data: PNG, name: "song.mp3", messageType: 1 });
  assert.equal(png.status, 415);
  const pngUnnamed = await upload(server.url, user, { data: PNG, name: "song", messageType: 1 });
  assert.match(pngUnnamed.json.message, /not an audio file/);
  // A PNG claiming to be a JPEG is not trusted either.
  assert.equal((await upload(server.url, user, { data: PNG, name: "cat.jpg", messageType: 2 })).status, 415);
  // Nothing was left behind.
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, "uploads", "tmp")), []);
});

test("audio, video and other files are kept as they are, with their type from the content", async () => {
  const user = randomUUID();
  const audio = await upload(server.url, user, { data: MP3, name: "voice.mp3", messageType: 1 });
  assert.equal(audio.status, 200);
  assert.match(audio.json.data, /^\/uploads\/chat-messages\/audio\/[0-9a-f]{32}\.mp3$/);
  const video = await upload(server.url, user, { data: MP4, name: "clip.mp4", messageType: 4 });
  assert.match(video.json.data, /^\/uploads\/chat-messages\/videos\/[0-9a-f]{32}\.mp4$/);
  const got = await http(server.url + video.json.data, { user });
  assert.equal(got.headers.get("content-type"), "video/mp4");
  assert.deepEqual(got.bytes, MP4);
  // A video seeks: ranges are served.
  const range = await http(server.url + video.json.data, { user, headers: { Range: "bytes=4-11" } });
  assert.equal(range.status, 206);
  assert.equal(range.bytes.toString("latin1"), "ftypisom");

  // Any honest file: stored as what its content is (HTML here, whatever
  // the name), served as a download, never as something a browser runs.
  const html = Buffer.from("<!doctype html><script>alert(1)</script>");
  const doc = await upload(server.url, user, { data: html, name: "page.txt", messageType: 3 });
  assert.equal(doc.status, 200);
  assert.match(doc.json.data, /^\/uploads\/chat-messages\/files\/[0-9a-f]{32}\.html$/);
  const served = await http(server.url + doc.json.data, { user });
  assert.equal(served.headers.get("content-type"), "application/octet-stream");
  assert.match(served.headers.get("content-disposition"), /^attachment; filename\*=UTF-8''page\.txt$/);
  assert.match(served.headers.get("content-security-policy"), /sandbox/);
});

test("executables are refused by their content, whatever the name: none, a program's, or a misleading one", async () => {
  const user = randomUUID();
  for (const name of ["tool", "libx.so", "setup.exe", "report.pdf", "notes.txt"]) {
    const res = await upload(server.url, user, { data: ELF, name, messageType: 3 });
    assert.equal(res.status, 415, name);
    assert.equal(res.json.success, false);
  }
  const bare = await upload(server.url, user, { data: ELF, name: "tool", messageType: 3 });
  assert.deepEqual(bare.json, { success: false, data: null, message: "executables are not accepted" });
  // A Windows program (PE, "MZ") too.
  const pe = Buffer.concat([Buffer.from("4d5a90000300000004000000ffff0000", "hex"), Buffer.alloc(200)]);
  assert.equal((await upload(server.url, user, { data: pe, name: "setup", messageType: 3 })).status, 415);
  // A script is text: it stays a file.
  const script = await upload(server.url, user, { data: Buffer.from("#!/bin/sh\necho hi\n"), name: "hi.sh", messageType: 3 });
  assert.equal(script.status, 200, JSON.stringify(script.json));
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, "uploads", "tmp")), []);
});

test("[chat] allow_executables = true: a program is a file like any other when its name is honest", async () => {
  const open = await startChatHttp({ env: { CONFAB_CHAT__ALLOW_EXECUTABLES: "true" } });
  try {
    const user = randomUUID();
    for (const name of ["tool", "libx.so"]) {
      const res = await upload(open.url, user, { data: ELF, name, messageType: 3 });
      assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.data, /^\/uploads\/chat-messages\/files\/[0-9a-f]{32}\.elf$/);
    }
    const disguised = await upload(open.url, user, { data: ELF, name: "holiday.jpg", messageType: 3 });
    assert.deepEqual([disguised.status, disguised.json.message], [415, "the file's content does not match its name (.jpg)"]);
  } finally {
    await open.stop();
  }
});

test("limits: files over 50 MiB are refused while reading (a sparse file, never in memory)", async () => {
  const user = randomUUID();
  const big = path.join(server.dataDir, "big.bin");
  fs.closeSync(fs.openSync(big, "w"));
  fs.truncateSync(big, 50 * 1024 * 1024 + 1);
  try {
    for (const typeFirst of [false, true]) {
      const res = await upload(server.url, user, { blob: await fs.openAsBlob(big), name: "big.bin", messageType: 3, typeFirst });
      assert.equal(res.status, 413);
      assert.deepEqual(res.json, { success: false, data: null, message: "the file is too large (at most 52428800 bytes)" });
    }
    // Audio has the same limit; its content is checked after.
    const audio = await upload(server.url, user, { blob: await fs.openAsBlob(big), name: "big.mp3", messageType: 1, typeFirst: true });
    assert.equal(audio.status, 413);
  } finally {
    fs.rmSync(big);
  }
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, "uploads", "tmp")), []);
});

test("refusals: no token, a bad messageType, no file, an empty file", async () => {
  const user = randomUUID();
  const anonymous = await upload(server.url, undefined, { data: PNG, name: "a.png", messageType: 2 });
  assert.equal(anonymous.status, 401);
  assert.deepEqual(anonymous.json, { success: false, data: null, message: "Authentication token required" });
  assert.equal(anonymous.headers.get("www-authenticate"), "Bearer");
  const forged = await upload(server.url, undefined, { data: PNG, name: "a.png", messageType: 2, token: mintToken(user, { secret: "not-the-server-secret-0000000000" }) });
  assert.deepEqual(forged.json, { success: false, data: null, message: "Invalid or expired token" });
  for (const messageType of [0, 5, "image"]) {
    const res = await upload(server.url, user, { data: PNG, name: "a.png", messageType });
    assert.equal(res.status, 400);
    assert.equal(res.json.message, "invalid messageType (1 to 4)");
  }
  const noType = await upload(server.url, user, { data: PNG, name: "a.png" });
  assert.equal(noType.json.message, "messageType is required");
  const noFile = new FormData();
  noFile.append("messageType", "2");
  const res = await http(`${server.url}/api/chat/uploadFile`, { user, method: "POST", body: noFile });
  assert.deepEqual([res.status, res.json.message], [400, "file is required"]);
  const empty = await upload(server.url, user, { data: Buffer.alloc(0), name: "a.bin", messageType: 3 });
  assert.deepEqual([empty.status, empty.json.message], [400, "the file is empty"]);
  const notForm = await http(`${server.url}/api/chat/uploadFile`, { user, method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(notForm.status, 400);
});
