// Captures the bytes Node's @socket.io/redis-adapter and
// @socket.io/redis-emitter publish for each request and broadcast type, on a
// private redis-server, into actors/redis/fixtures/node.json: confab-redis's
// unit tests decode them (and re-encode the adapter's, byte for byte).
//
//   node tests/js/cluster/capture-fixtures.js
//
// Two in-process Node servers (A, B) share the Redis; a client on B answers
// acks. Each step names the messages it produced.
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { io as connect } from "socket.io-client";
import { Emitter } from "@socket.io/redis-emitter";
import { startRedis, redisClient, recordAll } from "./redis.js";
import { startNodeServer } from "./node-server.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "..", "..", "..", "actors", "redis", "fixtures", "node.json");

const redis = await startRedis();
const recorder = await recordAll(redis.url);
const a = await startNodeServer(redis.url);
const b = await startNodeServer(redis.url);
b.io.on("connection", (socket) => socket.join("room1"));
b.io.on("ping", (n, callback) => callback({ pong: n }));
const client = connect(b.url, { transports: ["websocket"] });
client.on("q", (n, callback) => callback(Buffer.from([n, 42])));
await new Promise((r) => client.once("connect", r));
const emitterClient = await redisClient(redis.url);
const emitter = new Emitter(emitterClient);

const fixtures = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function step(name, action) {
  const before = recorder.messages.length;
  await action();
  await sleep(300);
  for (const m of recorder.messages.slice(before)) {
    fixtures.push({ step: name, channel: m.channel, hex: m.bytes.toString("hex") });
  }
}

await step("adapter room broadcast", () => a.io.to("room1").emit("hello", 1, "two", { a: [true, null], n: -7, f: 1.5 }));
await step("adapter binary broadcast", () => a.io.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([255]) }));
await step("adapter rooms and except", () => a.io.to(["a", "b"]).except("c").emit("multi", "x"));
await step("adapter namespace broadcast", () => a.io.of("/admin").emit("adm", 300, 70000));
await step("adapter sockets join", () => a.io.in("room1").socketsJoin(["r2", "r3"]));
await step("adapter sockets leave", () => a.io.in("room1").except("r9").socketsLeave("r2"));
await step("adapter fetch sockets", () => a.io.in("room1").fetchSockets());
await step("adapter all rooms", () => a.io.of("/").adapter.allRooms());
await step("adapter server side emit", () => a.io.serverSideEmit("note", { x: 1 }));
await step("adapter server side emit with ack", () => a.io.serverSideEmitWithAck("ping", 5));
await step("adapter broadcast with acks", () => a.io.timeout(2000).emitWithAck("q", 7));
await step("emitter room", () => emitter.to("room1").emit("fromEmitter", { x: 1 }, Buffer.from([9])));
await step("emitter except", () => emitter.except("room1").emit("others"));
await step("emitter namespace", () => emitter.of("/admin").to(["a", "b"]).emit("adm"));
await step("emitter sockets join", () => emitter.in("room1").socketsJoin("r4"));
await step("emitter sockets leave", () => emitter.socketsLeave(["r4"]));
await step("emitter server side emit", () => emitter.serverSideEmit("hi", 1));
await step("adapter disconnect sockets", () => a.io.in("nobody").disconnectSockets(true));
await step("emitter disconnect sockets", () => emitter.in("nobody").disconnectSockets());

mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(fixtures, null, 1) + "\n");
console.log(`${fixtures.length} messages in ${out}`);
client.close();
await emitterClient.quit();
await recorder.close();
await a.close();
await b.close();
await redis.stop();
process.exit(0);
