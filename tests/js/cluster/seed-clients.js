// The seeds' clients, pointed at one node of a cluster (a `startConfab`
// handle): BAASIX's (path /realtime, the token in `auth`) and Ignis's
// (the token in the headers, then `authenticate`).
import { io } from "socket.io-client";
import { connected, once } from "../client/helpers.js";

export async function baasixClient(node, userId) {
  const socket = io(node.url, {
    path: "/realtime",
    transports: ["websocket"],
    auth: { token: node.token(userId) },
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  return socket;
}

export async function ignisClient(node, userId) {
  const socket = io(node.url, {
    extraHeaders: { Authorization: `Bearer ${node.token(userId)}` },
    forceNew: true,
    reconnection: false,
  });
  await connected(socket);
  const authenticated = once(socket, "authenticated");
  socket.emit("authenticate");
  await authenticated;
  return socket;
}
