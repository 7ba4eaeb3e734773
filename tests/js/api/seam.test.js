// SEAM (seed 000): operation progress to the socket named by X-Socket-ID,
// `data:changed` with `initiatorSocketId` to everyone on the success of a
// mutation, read-only operations without broadcast, the user room when the
// header is absent or names a socket that is gone or someone else's.
//
// The client code is the seed's: the connection with `auth.token`, its
// handlers, and the `apiClient` wrapper that sends `X-Socket-ID`. The
// backend it calls is played twice: by a tiny Node backend that reports
// through confab's `POST /api/operations` (with the header's socket id), and
// by the `seam_backend` example, whose Rust handlers use the `Operation`
// extractor.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import { startConfab, call, example, ISO } from "./lib.js";
import { close, connected, connectError, sleep } from "../client/helpers.js";

/** Resolves once `cond()` is true; fails after `ms`. */
async function until(cond, what, ms = 4000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const QUIET = 300;

/** The payload of a JWT (the backend reads the user from it, as SEAM's auth middleware). */
const claims = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());

/**
 * One browser tab running the seed's client code: `localStorage` holds the
 * token, `socket` and `apiClient` are as printed, and what the handlers do
 * is recorded.
 */
function openTab(BASE_URL, jwt) {
  const store = new Map([["jwt_token", jwt]]);
  const localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const seen = { progress: [], changed: [], refreshed: [], loader: [], notifications: [], errors: [], connectErrors: [] };

  // --- the seed's connection setup ---
  const socket = io(BASE_URL, {
    auth: { token: localStorage.getItem("jwt_token") },
    forceNew: true,
    reconnection: false,
  });
  socket.on("connect", () => {});
  socket.on("connect_error", (err) => seen.connectErrors.push(err.message));

  // --- the seed's apiClient: Authorization and X-Socket-ID on every call ---
  const apiClient = {
    async request(method, url, body) {
      const response = await fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${localStorage.getItem("jwt_token")}`,
          "Content-Type": "application/json",
          "X-Socket-ID": socket.id, // ties this HTTP call to this socket
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      return response.json();
    },
    get: (url) => apiClient.request("GET", url),
    post: (url, body) => apiClient.request("POST", url, body),
    put: (url, body) => apiClient.request("PUT", url, body),
    delete: (url) => apiClient.request("DELETE", url),
  };

  // --- the seed's handlers ---
  socket.on("operation:progress", ({ operation, status, message, data, timestamp }) => {
    seen.progress.push({ operation, status, message, data, timestamp });
    if (status === "start" || status === "processing") seen.loader.push(`show:${message}`);
    if (status === "success") {
      seen.loader.push("hide");
      seen.notifications.push(message);
    }
    if (status === "error") {
      seen.loader.push("hide");
      seen.errors.push(message);
    }
  });
  socket.on("data:changed", (payload) => {
    seen.changed.push(payload);
    const { operation, data, initiatorSocketId } = payload;
    // Skip if this client was the one who made the change.
    if (initiatorSocketId === socket.id) return;
    seen.refreshed.push({ operation, data });
  });
  return { socket, apiClient, seen, localStorage };
}

async function openConnected(url, jwt) {
  const tab = openTab(url, jwt);
  await connected(tab.socket);
  return tab;
}

/**
 * A tiny SEAM backend: each route runs an operation and reports it through
 * confab's HTTP API, with the user from the token and the socket id from
 * the request's X-Socket-ID, as SEAM's controllers do with emitProgress.
 */
function startBackend(confab) {
  let nextId = 1;
  const report = async (req, operation, status, message, data) => {
    const user = claims(req.headers.authorization.slice("Bearer ".length)).idUser;
    const body = { operation, status, message, userId: user };
    if (data !== undefined) body.data = data;
    const socketId = req.headers["x-socket-id"];
    if (socketId) body.socketId = socketId;
    const res = await confab.api("POST", "/api/operations", { key: true, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const routes = {
    "POST /api/v1/users": async (req, body) => {
      await report(req, "users:create", "start", "Creando usuario...");
      await report(req, "users:create", "processing", "Guardando usuario...");
      const user = { id: nextId++, ...body };
      await report(req, "users:create", "success", "Usuario creado", user);
      return [201, user];
    },
    "PUT /api/v1/roles": async (req) => {
      await report(req, "roles:update", "start", "Actualizando rol...");
      await report(req, "roles:update", "error", "Rol no encontrado");
      return [404, { error: "Rol no encontrado" }];
    },
    "GET /api/v1/users": async (req) => {
      await report(req, "users:fetchAll", "start", "Cargando usuarios...");
      await report(req, "users:fetchAll", "success", "Usuarios cargados", [{ id: 1 }]);
      return [200, [{ id: 1 }]];
    },
    "POST /api/v1/auth/login": async (req) => {
      await report(req, "auth:login", "success", "Bienvenido", { ok: true });
      return [200, { ok: true }];
    },
  };
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const route = routes[`${req.method} ${req.url}`];
    try {
      const [status, out] = route ? await route(req, raw ? JSON.parse(raw) : undefined) : [404, { error: "no route" }];
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(out));
    } catch (err) {
      res.writeHead(500, { "Content-Type": "application/json" }).end(JSON.stringify({ error: String(err) }));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }),
    ),
  );
}

describe("seam: a Node backend reporting through POST /api/operations", () => {
  let confab, backend, tokens;
  before(async () => {
    confab = await startConfab("seam");
    backend = await startBackend(confab);
    tokens = { ana: confab.token(42), otro: confab.token(7) };
  });
  after(async () => {
    backend?.close();
    await confab?.stop();
  });

  test("the handshake refusals are the seed's texts", async () => {
    const none = io(confab.url, { forceNew: true, reconnection: false });
    const bad = io(confab.url, { forceNew: true, reconnection: false, auth: { token: "not.a.token" } });
    try {
      const [missing, invalid] = await Promise.all([connectError(none), connectError(bad)]);
      assert.equal(missing.message, "Token requerido para conectarse");
      assert.equal(invalid.message, "Token inválido o expirado");
    } finally {
      close(none, bad);
    }
  });

  test("a mutation: progress to the asking tab only, data:changed to every client", async () => {
    const tab = await openConnected(confab.url, tokens.ana);
    const otherTab = await openConnected(confab.url, tokens.ana); // same user, another tab
    const stranger = await openConnected(confab.url, tokens.otro);
    try {
      const created = await tab.apiClient.post(`${backend.url}/api/v1/users`, { name: "Ada" });
      assert.deepEqual(created, { id: 1, name: "Ada" });
      await until(() => tab.seen.progress.length === 3, "three progress events");
      assert.deepEqual(
        tab.seen.progress.map(({ operation, status, message, data }) => ({ operation, status, message, data })),
        [
          { operation: "users:create", status: "start", message: "Creando usuario...", data: null },
          { operation: "users:create", status: "processing", message: "Guardando usuario...", data: null },
          { operation: "users:create", status: "success", message: "Usuario creado", data: { id: 1, name: "Ada" } },
        ],
      );
      for (const p of tab.seen.progress) {
        assert.match(p.timestamp, ISO);
        assert.ok(Math.abs(Date.parse(p.timestamp) - Date.now()) < 60_000, "timestamp is now");
      }
      assert.deepEqual(tab.seen.loader, ["show:Creando usuario...", "show:Guardando usuario...", "hide"]);
      assert.deepEqual(tab.seen.notifications, ["Usuario creado"]);

      const changed = {
        operation: "users:create",
        message: "Usuario creado",
        data: { id: 1, name: "Ada" },
        initiatorSocketId: tab.socket.id,
      };
      for (const t of [tab, otherTab, stranger]) {
        await until(() => t.seen.changed.length === 1, "data:changed");
        assert.deepEqual(t.seen.changed[0], changed);
      }
      // The initiator skips its own change; the others refresh.
      assert.deepEqual(tab.seen.refreshed, []);
      assert.deepEqual(otherTab.seen.refreshed, [{ operation: "users:create", data: { id: 1, name: "Ada" } }]);
      assert.deepEqual(stranger.seen.refreshed, [{ operation: "users:create", data: { id: 1, name: "Ada" } }]);
      await sleep(QUIET);
      assert.deepEqual(otherTab.seen.progress, [], "another tab of the same user gets no progress");
      assert.deepEqual(stranger.seen.progress, []);
      assert.equal(tab.seen.changed.length, 1);
    } finally {
      close(tab.socket, otherTab.socket, stranger.socket);
    }
  });

  test("an error: the message to the asking tab, no data:changed", async () => {
    const tab = await openConnected(confab.url, tokens.ana);
    const other = await openConnected(confab.url, tokens.otro);
    try {
      assert.deepEqual(await tab.apiClient.put(`${backend.url}/api/v1/roles`, { id: 9 }), { error: "Rol no encontrado" });
      await until(() => tab.seen.progress.length === 2, "start and error");
      assert.deepEqual(
        tab.seen.progress.map((p) => [p.operation, p.status, p.message]),
        [
          ["roles:update", "start", "Actualizando rol..."],
          ["roles:update", "error", "Rol no encontrado"],
        ],
      );
      assert.deepEqual(tab.seen.errors, ["Rol no encontrado"]);
      await sleep(QUIET);
      assert.deepEqual([tab.seen.changed, other.seen.changed, other.seen.progress], [[], [], []]);
    } finally {
      close(tab.socket, other.socket);
    }
  });

  test("read-only operations (:fetchAll, auth:login) report progress but never broadcast", async () => {
    const tab = await openConnected(confab.url, tokens.ana);
    const other = await openConnected(confab.url, tokens.otro);
    try {
      assert.deepEqual(await tab.apiClient.get(`${backend.url}/api/v1/users`), [{ id: 1 }]);
      assert.deepEqual(await tab.apiClient.post(`${backend.url}/api/v1/auth/login`, {}), { ok: true });
      await until(() => tab.seen.progress.length === 3, "progress of both");
      assert.deepEqual(
        tab.seen.progress.map((p) => [p.operation, p.status, p.data]),
        [
          ["users:fetchAll", "start", null],
          ["users:fetchAll", "success", [{ id: 1 }]],
          ["auth:login", "success", { ok: true }],
        ],
      );
      await sleep(QUIET);
      assert.deepEqual([tab.seen.changed, other.seen.changed], [[], []]);
    } finally {
      close(tab.socket, other.socket);
    }
  });

  test("without X-Socket-ID, progress goes to every socket of the user (user:{idUser})", async () => {
    const a = await openConnected(confab.url, tokens.ana);
    const b = await openConnected(confab.url, tokens.ana);
    const stranger = await openConnected(confab.url, tokens.otro);
    try {
      // A call without the header (e.g. made before the socket connected).
      const res = await fetch(`${backend.url}/api/v1/users`, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens.ana}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name: "Bob" }),
      });
      assert.equal(res.status, 201);
      for (const t of [a, b]) {
        await until(() => t.seen.progress.length === 3, "progress in the user room");
        assert.deepEqual(t.seen.progress.map((p) => p.status), ["start", "processing", "success"]);
      }
      await until(() => stranger.seen.changed.length === 1, "data:changed");
      assert.equal(stranger.seen.changed[0].initiatorSocketId, null);
      await sleep(QUIET);
      assert.deepEqual(stranger.seen.progress, []);
    } finally {
      close(a, b, stranger);
    }
  });

  test("a socket id that is gone, or someone else's, falls back to the user room", async () => {
    const a = await openConnected(confab.url, tokens.ana);
    const gone = await openConnected(confab.url, tokens.ana);
    const stranger = await openConnected(confab.url, tokens.otro);
    try {
      const goneId = gone.socket.id;
      close(gone.socket);
      await sleep(100);
      const stale = await confab.api("POST", "/api/operations", {
        key: true,
        body: { operation: "users:update", status: "start", message: "m", socketId: goneId, userId: 42 },
      });
      assert.deepEqual(stale.body, { ok: true, delivered: "user", room: "user:42", broadcast: false });
      const foreign = await confab.api("POST", "/api/operations", {
        key: true,
        body: { operation: "users:update", status: "processing", message: "m", socketId: stranger.socket.id, userId: 42 },
      });
      assert.equal(foreign.body.delivered, "user");
      await until(() => a.seen.progress.length === 2, "both in the user room");
      assert.deepEqual(a.seen.progress.map((p) => p.status), ["start", "processing"]);
      const own = await confab.api("POST", "/api/operations", {
        key: true,
        body: { operation: "users:update", status: "success", socketId: a.socket.id, userId: 42 },
      });
      assert.deepEqual(own.body, { ok: true, delivered: "socket", room: a.socket.id, broadcast: true });
      await sleep(QUIET);
      assert.deepEqual(stranger.seen.progress, [], "never to another user's socket");
    } finally {
      close(a, stranger);
    }
  });

  test("the socket id may come as the X-Socket-ID header of the API call", async () => {
    const a = await openConnected(confab.url, tokens.ana);
    const b = await openConnected(confab.url, tokens.ana);
    try {
      const res = await confab.api("POST", "/api/operations", {
        key: true,
        headers: { "X-Socket-ID": a.socket.id },
        body: { operation: "users:delete", status: "start", message: "Eliminando", userId: "42" },
      });
      assert.equal(res.body.delivered, "socket");
      await until(() => a.seen.progress.length === 1, "progress");
      await sleep(QUIET);
      assert.deepEqual(b.seen.progress, []);
    } finally {
      close(a, b);
    }
  });
});

describe("seam: Rust handlers with the Operation extractor (seam_backend example)", () => {
  let backend, tokens;
  before(async () => {
    backend = await startConfab("seam", { command: example("seam_backend") });
    tokens = { ana: backend.token(42), otro: backend.token(7) };
  });
  after(async () => {
    await backend?.stop();
  });

  // The seed's "Complete Setup Example": one BASE_URL for the socket and the API.
  function completeSetup(BASE_URL, jwt) {
    const tab = openTab(BASE_URL, jwt);
    const { socket } = tab;
    const api = {
      async request(method, path, body) {
        const res = await fetch(`${BASE_URL}/api/v1${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${jwt}`,
            "Content-Type": "application/json",
            "X-Socket-ID": socket.id,
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        return res.json();
      },
      get: (path) => api.request("GET", path),
      post: (path, body) => api.request("POST", path, body),
    };
    return { ...tab, api };
  }

  test("start, processing, success to the asking socket; data:changed to all; fetchAll quiet", async () => {
    const tab = completeSetup(backend.url, tokens.ana);
    const sibling = completeSetup(backend.url, tokens.ana);
    const other = completeSetup(backend.url, tokens.otro);
    try {
      await Promise.all([connected(tab.socket), connected(sibling.socket), connected(other.socket)]);
      const user = await tab.api.post("/users", { name: "Grace" });
      assert.deepEqual(user, { id: 1, name: "Grace", createdBy: "42" });
      await until(() => tab.seen.progress.length === 3, "progress");
      assert.deepEqual(
        tab.seen.progress.map((p) => [p.operation, p.status, p.message, p.data]),
        [
          ["users:create", "start", "Creando usuario...", null],
          ["users:create", "processing", "Guardando usuario...", null],
          ["users:create", "success", "Usuario creado", user],
        ],
      );
      for (const t of [tab, sibling, other]) {
        await until(() => t.seen.changed.length === 1, "data:changed");
        assert.deepEqual(t.seen.changed[0], {
          operation: "users:create",
          message: "Usuario creado",
          data: user,
          initiatorSocketId: tab.socket.id,
        });
      }
      assert.deepEqual(await tab.api.get("/users"), [user]);
      await until(() => tab.seen.progress.length === 5, "fetchAll progress");
      assert.deepEqual(tab.seen.progress.slice(3).map((p) => [p.operation, p.status]), [
        ["users:fetchAll", "start"],
        ["users:fetchAll", "success"],
      ]);
      await sleep(QUIET);
      assert.equal(tab.seen.changed.length, 1, "no data:changed for a read");
      assert.deepEqual([sibling.seen.progress, other.seen.progress], [[], []]);
    } finally {
      close(tab.socket, sibling.socket, other.socket);
    }
  });

  test("an error reported by the handler reaches the asking socket", async () => {
    const tab = completeSetup(backend.url, tokens.ana);
    try {
      await connected(tab.socket);
      assert.deepEqual(await tab.api.post("/users", { name: "" }), { error: "El nombre es obligatorio" });
      await until(() => tab.seen.progress.length === 2, "start and error");
      assert.deepEqual(tab.seen.progress.map((p) => p.status), ["start", "error"]);
      assert.deepEqual(tab.seen.errors, ["El nombre es obligatorio"]);
    } finally {
      close(tab.socket);
    }
  });

  test("the extractor refuses a request without a valid token (401 JSON)", async () => {
    const none = await call(backend.url, "GET", "/api/v1/users");
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, { error: "Token requerido para conectarse" });
    const bad = await call(backend.url, "GET", "/api/v1/users", { bearer: "x.y.z" });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { error: "Token inválido o expirado" });
  });
});
