// The benchmark's Node peer: socket.io 4.8 on Node's http server, with the
// behaviour every server of bench/ has:
// - CONNECT needs auth.token, any non-empty string;
// - `join` (room name) joins the room and acks `true`;
// - `chat` {room, text, ts} is broadcast as `chat` to the whole room,
//   sender included, and acked `true`;
// - `echo` is acked with its own arguments.
// PORT (default 3000) picks the port; prints `ready node <port>` once listening.
// REDIS_URL (unset: one process) puts the server in a cluster with
// @socket.io/redis-adapter 8 (the classic pub/sub adapter) on that Redis,
// with a publisher and a subscriber connection as the adapter's README does.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

async function joinCluster(url) {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on("error", (err) => console.error("redis:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token === "string" && token.length > 0) next();
  else next(new Error("unauthorized"));
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("chat", (msg, ack) => {
    if (msg && typeof msg.room === "string") io.to(msg.room).emit("chat", msg);
    if (typeof ack === "function") ack(true);
  });
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
});

(process.env.REDIS_URL ? joinCluster(process.env.REDIS_URL) : Promise.resolve()).then(() => {
  httpServer.listen(port, "127.0.0.1", 4096, () => {
    console.log(`ready node ${port}`);
  });
});
