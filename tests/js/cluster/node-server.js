// A Node socket.io server with @socket.io/redis-adapter 8.x, in the test's
// own process, for mixed-cluster tests: the test drives its `io` directly
// (socketsJoin, fetchSockets, emitWithAck, ...). Clients joining room R send
// `join-room` (R, ack) as on the testbed.
import http from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { redisClient } from "./redis.js";

/** Starts it on a free loopback port; resolves to { io, url, close }. */
export async function startNodeServer(redisUrl, opts = {}) {
  const pub = await redisClient(redisUrl);
  const sub = pub.duplicate();
  sub.on("error", () => {});
  await sub.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, opts) });
  io.on("connection", (socket) => {
    socket.on("join-room", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack({ rooms: [...socket.rooms] });
    });
  });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  const close = async () => {
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  };
  return { io, url, close };
}
