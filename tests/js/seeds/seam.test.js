// SEAM API (seed 000) against `confab --profile seam`, with the client code
// the seed prints: `io(BASE_URL, { auth: { token } })`, its `connect` /
// `connect_error` handlers, the automatic `user:{idUser}` room, and the
// reconnect handler that swaps `socket.auth.token` on `reconnect_attempt`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab, decodeJwt, nowSecs, apiEmit, noApiEmit, untilExpired } from "./lib.js";
import { connected, connectError, close, ask, once, collect, quiet } from "../client/helpers.js";

const MISSING = "Token requerido para conectarse";
const INVALID = "Token inválido o expirado";

/**
 * The seed's connection setup (`io(BASE_URL, { auth: { token } })`), with
 * test hygiene only: a fresh Manager, and no retries unless asked for.
 */
function seamSocket(url, token, extra = {}) {
  return io(url, { auth: { token }, forceNew: true, reconnection: false, timeout: 5000, ...extra });
}

/** The seed's handlers, recording what they would have logged. */
function withSeedHandlers(socket) {
  const log = [];
  socket.on("connect", () => log.push(["connect", socket.id]));
  socket.on("disconnect", (reason) => log.push(["disconnect", reason]));
  socket.on("connect_error", (err) => log.push(["connect_error", err.message]));
  return log;
}

let server;
before(async () => {
  server = await startConfab("seam");
});
after(async () => {
  await server?.stop();
});

describe("SEAM connection setup", () => {
  test("`confab token` writes the user id to the idUser claim", async () => {
    const { header, claims } = decodeJwt(await server.token("42"));
    assert.equal(header.alg, "HS256");
    assert.equal(claims.idUser, "42");
    assert.ok(claims.exp > nowSecs(), "exp in the future");
  });

  test("io(url, { auth: { token } }) connects; only `connect` fires", async () => {
    const socket = seamSocket(server.url, await server.token("42"));
    const log = withSeedHandlers(socket);
    try {
      await connected(socket);
      assert.ok(typeof socket.id === "string" && socket.id.length > 0, "socket.id set");
      assert.deepEqual(log, [["connect", socket.id]]);
    } finally {
      close(socket);
    }
  });

  test("a token with a numeric idUser (socket.user.idUser = 42) connects as user 42", async () => {
    const token = server.sign({ idUser: 42, exp: nowSecs() + 3600 });
    const socket = seamSocket(server.url, token);
    try {
      await connected(socket);
      // user:42 is its own room (admitted), user:43 another user's (refused).
      assert.deepEqual(await ask(socket, "join", "user:42"), { success: true });
      const other = await ask(socket, "join", "user:43");
      assert.equal(other.success, false);
      assert.equal(typeof other.message, "string");
    } finally {
      close(socket);
    }
  });

  test("connect_error without a token: 'Token requerido para conectarse'", async () => {
    // localStorage.getItem('jwt_token') is null before login.
    for (const opts of [{ auth: { token: null } }, {}]) {
      const socket = io(server.url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
      try {
        const err = await connectError(socket);
        assert.equal(err.message, MISSING, JSON.stringify(opts));
        assert.ok(err.message.includes("Token"), "the seed's redirect test matches");
        assert.equal(socket.connected, false);
      } finally {
        close(socket);
      }
    }
  });

  test("connect_error with a bad or expired token: 'Token inválido o expirado'", async () => {
    const tokens = {
      garbage: "not-a-jwt",
      "wrong key": server.sign({ idUser: "42", exp: nowSecs() + 3600 }, { secret: "another-secret" }),
      "expired two minutes ago": server.sign({ idUser: "42", exp: nowSecs() - 120 }),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const socket = seamSocket(server.url, token);
      try {
        const err = await connectError(socket);
        assert.equal(err.message, INVALID, what);
        assert.ok(err.message.includes("Token"));
      } finally {
        close(socket);
      }
    }
  });
});

describe("SEAM user rooms: user:{idUser}, automatic", () => {
  test("a server-side emit to user:{idUser} reaches every socket of that user, without a join", async (t) => {
    const [a1, a2, b] = [
      seamSocket(server.url, await server.token("42")),
      seamSocket(server.url, await server.token("42")),
      seamSocket(server.url, await server.token("43")),
    ];
    try {
      await Promise.all([connected(a1), connected(a2), connected(b)]);
      const gotA1 = once(a1, "operation:progress");
      const gotA2 = once(a2, "operation:progress");
      const gotB = collect(b, "operation:progress");
      const data = { operation: "users:create", status: "start", message: "Creando", data: null, timestamp: new Date().toISOString() };
      const res = await apiEmit(server, { rooms: ["user:42"], event: "operation:progress", data });
      const skip = noApiEmit(res);
      if (skip) return t.skip(skip);
      assert.ok(res.status >= 200 && res.status < 300, `POST /api/emit: ${res.status} ${res.text}`);
      assert.deepEqual(await gotA1, [data]);
      assert.deepEqual(await gotA2, [data]);
      await quiet();
      assert.deepEqual(gotB, [], "user 43 is not in user:42");
    } finally {
      close(a1, a2, b);
    }
  });

  test("without a server-side emit: both tabs of user 42 are admitted to user:42, user 43 is not", async () => {
    const [a1, a2, b] = [
      seamSocket(server.url, await server.token("42")),
      seamSocket(server.url, await server.token("42")),
      seamSocket(server.url, await server.token("43")),
    ];
    try {
      await Promise.all([connected(a1), connected(a2), connected(b)]);
      assert.deepEqual(await ask(a1, "join", "user:42"), { success: true });
      assert.deepEqual(await ask(a2, "join", "user:42"), { success: true });
      const refused = await ask(b, "join", "user:42");
      assert.equal(refused.success, false);
      assert.ok(refused.message, "a refusal says why");
      // The own user room is kept: leaving it is a no-op, not an exit.
      assert.deepEqual(await ask(a1, "leave", "user:42"), { success: true, rooms: [] });
    } finally {
      close(a1, a2, b);
    }
  });
});

describe("SEAM reconnection re-checks the token", () => {
  // The seed's reconnect logic, with `localStorage` as a plain object.
  function seedReconnectingClient(url, storage) {
    const socket = io(url, {
      auth: { token: storage.jwt_token },
      forceNew: true,
      timeout: 5000,
      reconnectionDelay: 50,
      reconnectionDelayMax: 100,
    });
    socket.io.on("reconnect_attempt", () => {
      socket.auth.token = storage.jwt_token;
    });
    const errors = [];
    socket.on("connect_error", (err) => {
      errors.push(err.message);
      if (err.message.includes("Token")) {
        socket.io.opts.reconnection = false; // the seed's line
        socket.io.reconnection(false); // what actually stops the Manager
      }
    });
    return { socket, errors };
  }

  test("reconnect_attempt swapping in a fresh token reconnects", async () => {
    const storage = { jwt_token: await server.token("42") };
    const { socket, errors } = seedReconnectingClient(server.url, storage);
    try {
      await connected(socket);
      const firstId = socket.id;
      storage.jwt_token = await server.token("42", { ttl: "2h" });
      const back = once(socket.io, "reconnect", 5000);
      socket.io.engine.close(); // a network interruption
      await back;
      await connected(socket);
      assert.notEqual(socket.id, firstId, "a new socket");
      assert.equal(socket.auth.token, storage.jwt_token, "the swapped token was sent");
      assert.deepEqual(errors, []);
      assert.deepEqual(await ask(socket, "join", "user:42"), { success: true });
    } finally {
      close(socket);
    }
  });

  test("reconnect_attempt swapping in an expired token is refused: 'Token inválido o expirado'", async () => {
    const storage = { jwt_token: await server.token("42") };
    const { socket, errors } = seedReconnectingClient(server.url, storage);
    try {
      await connected(socket);
      storage.jwt_token = server.sign({ idUser: "42", exp: nowSecs() - 120 });
      const refused = once(socket, "connect_error", 5000);
      socket.io.engine.close();
      const [err] = await refused;
      assert.equal(err.message, INVALID);
      assert.equal(socket.connected, false);
      assert.deepEqual(errors, [INVALID]);
    } finally {
      close(socket);
    }
  });

  describe("a token that expires during the disconnection (no leeway, --ttl 2s)", () => {
    let strict;
    before(async () => {
      strict = await startConfab("seam", { CONFAB_IDENTITY__LEEWAY_SECS: "0" });
    });
    after(async () => {
      await strict?.stop();
    });

    test("is accepted while valid, refused on the reconnect after it expired", async () => {
      const storage = { jwt_token: await strict.token("42", { ttl: "2s" }) };
      const { exp } = decodeJwt(storage.jwt_token).claims;
      const { socket, errors } = seedReconnectingClient(strict.url, storage);
      try {
        await connected(socket);
        await untilExpired(exp);
        const refused = once(socket, "connect_error", 5000);
        socket.io.engine.close();
        const [err] = await refused;
        assert.equal(err.message, INVALID);
        assert.deepEqual(errors, [INVALID]);
      } finally {
        close(socket);
      }
    });
  });
});
