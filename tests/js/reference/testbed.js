// The testbed contract (tests/TESTBED.md) served by the official Node
// `socket.io` server. It is the reference the end-to-end tests are checked
// against: `CONFAB_TEST_SERVER=node npm test`.
//
// Only node:http and socket.io are used; everything is configured from the
// same CONFAB_* environment variables as confab's examples/testbed.rs.
import http from "node:http";
import { Server } from "socket.io";

const env = process.env;
const num = (name, fallback) => {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`testbed: bad ${name}=${raw}`);
    process.exit(2);
  }
  return n;
};

const host = env.CONFAB_HOST || "127.0.0.1";
const port = num("CONFAB_PORT", 3000);
const enginePath = env.CONFAB_PATH || "/socket.io/";

/** socket.io's `cors` option from CONFAB_CORS_ORIGINS (unset: no CORS headers at all). */
function corsOption() {
  const raw = (env.CONFAB_CORS_ORIGINS || "").trim();
  if (!raw) return undefined;
  if (raw === "*") return { origin: "*" };
  const origins = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  return { origin: origins, credentials: true };
}

/** socket.io's `connectionStateRecovery` from CONFAB_RECOVERY__* (off unless enabled). */
function recoveryOption() {
  if (env.CONFAB_RECOVERY__ENABLED !== "true") return undefined;
  return {
    maxDisconnectionDuration: num("CONFAB_RECOVERY__MAX_DISCONNECTION_DURATION_MS", 120000),
    skipMiddlewares: env.CONFAB_RECOVERY__SKIP_MIDDLEWARES !== "false",
  };
}

/**
 * engine.io's `allowRequest`, as the confab testbed's hook: confab's default
 * Origin check (an Origin not on CONFAB_CORS_ORIGINS is refused), then the
 * test's own refusal, `?refuse=<message>`.
 */
function allowRequest(req, callback) {
  const allowed = corsOption()?.origin;
  const origin = req.headers.origin;
  if (origin && Array.isArray(allowed) && !allowed.includes(origin)) return callback("Origin not allowed", false);
  const refuse = new URL(req.url, "http://localhost").searchParams.get("refuse");
  callback(refuse, !refuse);
}

// ---- HTTP routes, beside Socket.IO on the same server ----------------------

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const asList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** An existing namespace, or undefined (io.of() would create it). */
const existingNsp = (name) => io._nsps.get(name || "/");

async function handleHttp(req, res) {
  const url = new URL(req.url, "http://localhost");
  try {
    if (url.pathname === "/api/health" && req.method === "GET") {
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === "/api/emit" && req.method === "POST") {
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return sendJson(res, 400, { ok: false, error: "invalid JSON" });
      }
      if (!body || typeof body.event !== "string") {
        return sendJson(res, 400, { ok: false, error: "missing event" });
      }
      const nsp = existingNsp(body.nsp);
      if (!nsp) return sendJson(res, 404, { ok: false, error: "unknown namespace" });
      let op = nsp;
      const rooms = asList(body.rooms);
      const except = asList(body.except);
      if (rooms.length) op = op.to(rooms);
      if (except.length) op = op.except(except);
      if (Number.isFinite(body.ackTimeoutMs)) {
        try {
          const replies = await op.timeout(body.ackTimeoutMs).emitWithAck(body.event, body.data);
          return sendJson(res, 200, { ok: true, replies });
        } catch {
          return sendJson(res, 200, { ok: false, error: "timeout" });
        }
      }
      op.emit(body.event, body.data);
      return sendJson(res, 200, { ok: true });
    }
    if ((url.pathname === "/api/rooms" || url.pathname === "/api/disconnect") && req.method === "POST") {
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return sendJson(res, 400, { ok: false, error: "invalid JSON" });
      }
      const nsp = existingNsp(body?.nsp);
      if (!nsp) return sendJson(res, 404, { ok: false, error: "unknown namespace" });
      const select = () => {
        let op = nsp;
        if (asList(body.rooms).length) op = op.in(asList(body.rooms));
        if (asList(body.except).length) op = op.except(asList(body.except));
        return op;
      };
      if (url.pathname === "/api/disconnect") {
        select().disconnectSockets(Boolean(body.close));
      } else {
        if (asList(body.join).length) select().socketsJoin(asList(body.join));
        if (asList(body.leave).length) select().socketsLeave(asList(body.leave));
      }
      return sendJson(res, 200, { ok: true });
    }
    if (url.pathname === "/api/sockets" && req.method === "GET") {
      const name = url.searchParams.get("nsp") || "/";
      const nsp = existingNsp(name);
      if (!nsp) return sendJson(res, 404, { ok: false, error: "unknown namespace" });
      const sockets = [...nsp.sockets.values()].map((s) => ({
        id: s.id,
        nsp: s.nsp.name,
        rooms: [...s.rooms],
        transport: s.conn.transport.name,
      }));
      return sendJson(res, 200, sockets);
    }
    return sendJson(res, 404, { ok: false, error: "not found" });
  } catch (err) {
    console.error("testbed: http error", err);
    return sendJson(res, 500, { ok: false, error: String(err) });
  }
}

// The request listener must exist before socket.io attaches: engine.io takes
// over "request" and hands every request outside its path to the listeners
// that were there before it.
const httpServer = http.createServer((req, res) => {
  handleHttp(req, res);
});

const io = new Server(httpServer, {
  path: enginePath,
  serveClient: false,
  pingInterval: num("CONFAB_PING_INTERVAL_MS", 25000),
  pingTimeout: num("CONFAB_PING_TIMEOUT_MS", 20000),
  connectTimeout: num("CONFAB_CONNECT_TIMEOUT_MS", 45000),
  maxHttpBufferSize: num("CONFAB_MAX_PAYLOAD", 1000000),
  cors: corsOption(),
  allowRequest,
  connectionStateRecovery: recoveryOption(),
});

// ---- events shared by `/` and `/admin` --------------------------------------

function commonHandlers(socket) {
  socket.on("echo", (...args) => {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args.pop();
      last(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });
  socket.on("whoami", (ack) => {
    if (typeof ack !== "function") return;
    ack({
      id: socket.id,
      nsp: socket.nsp.name,
      auth: socket.handshake.auth,
      query: socket.handshake.query,
    });
  });
}

// ---- namespace `/` -----------------------------------------------------------

const main = io.of("/");
main.on("connection", (socket) => {
  commonHandlers(socket);

  socket.on("join-room", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ rooms: [...socket.rooms] });
  });

  socket.on("leave-room", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack({ rooms: [...socket.rooms] });
  });

  socket.on("to-room", (msg, ack) => {
    const { room, event, data } = msg || {};
    socket.to(room).emit(event, data);
    if (typeof ack === "function") ack(true);
  });

  socket.on("ask", (msg, ack) => {
    const { event, data, timeoutMs } = msg || {};
    // socket.timeout(undefined) would register a plain ack (no error first).
    const ms = Number.isFinite(timeoutMs) ? timeoutMs : 5000;
    socket.timeout(ms).emit(event, data, (err, ...reply) => {
      if (typeof ack !== "function") return;
      if (err) ack({ ok: false, error: "timeout" });
      else ack({ ok: true, reply });
    });
  });

  socket.on("ask-room", (msg, ack) => {
    const { room, event, data, timeoutMs } = msg || {};
    main.to(room).timeout(timeoutMs).emit(event, data, (err, replies) => {
      if (typeof ack === "function") ack({ ok: !err, replies });
    });
  });

  socket.on("server-disconnect", () => {
    socket.disconnect();
  });

  socket.on("server-close", () => {
    socket.conn.close();
  });

  socket.on("disconnect", (reason) => {
    main.to("observers").emit("left", { id: socket.id, reason });
  });
});

// ---- namespace `/admin` --------------------------------------------------------

const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "let-me-in") return next();
  const err = new Error("unauthorized");
  err.data = { reason: "bad token" };
  next(err);
});
admin.on("connection", (socket) => {
  commonHandlers(socket);
});

// ---- start ---------------------------------------------------------------------

httpServer.listen(port, host, () => {
  const { port: actual } = httpServer.address();
  process.stdout.write(`confab listening on http://${host}:${actual}\n`);
});

const shutdown = () => {
  io.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
