// Who may call the HTTP API, and what it says to bad input: no credentials
// or bad ones 401, a user's token 403, bad bodies and unknown namespaces
// 400, always as JSON `{error}`.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startConfab, call, API_KEY } from "./lib.js";

let confab;
before(async () => {
  // No leeway, so that a token one second past its `exp` is refused.
  confab = await startConfab(null, { env: { CONFAB_IDENTITY__LEEWAY_SECS: "0" } });
});
after(async () => {
  await confab?.stop();
});

const emit = { event: "hello", data: { a: 1 } };

function assertError(res, status, what) {
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body?.error, "string", `${what}: JSON {error}`);
  assert.deepEqual(Object.keys(res.body), ["error"], what);
}

describe("callers", () => {
  test("no credentials: 401 on every route", async () => {
    for (const [method, path, body] of [
      ["POST", "/api/emit", emit],
      ["GET", "/api/clients"],
      ["POST", "/api/disconnect", { users: ["x"] }],
      ["POST", "/api/operations", { operation: "a:b", status: "start", userId: 1 }],
      ["POST", "/api/items/posts/created", { item: { id: 1 } }],
      ["POST", "/api/files/uploaded", { file: {}, user: "u" }],
      ["POST", "/api/notifications", { userId: "u", title: "t" }],
      ["GET", "/api/notifications?userId=u"],
      ["GET", "/api/notifications/unread-count?userId=u"],
      ["POST", "/api/notifications/1/seen"],
      ["DELETE", "/api/notifications/1"],
    ]) {
      const res = await confab.api(method, path, { body });
      assertError(res, 401, `${method} ${path}`);
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
    }
  });

  test("an API key as X-API-Key or as a bearer; a wrong key is 401", async () => {
    assert.equal((await confab.api("POST", "/api/emit", { key: true, body: emit })).status, 200);
    assert.equal((await confab.api("POST", "/api/emit", { bearer: API_KEY, body: emit })).status, 200);
    assertError(await confab.api("POST", "/api/emit", { key: "nope", body: emit }), 401, "wrong X-API-Key");
    assertError(await confab.api("POST", "/api/emit", { bearer: "nope", body: emit }), 401, "wrong bearer");
    assertError(await confab.api("POST", "/api/emit", { key: `${API_KEY}x`, body: emit }), 401, "longer key");
  });

  test("tokens: admin role 200, a user's 403, expired or forged 401", async () => {
    const admin = confab.token("root", { roles: ["admin"] });
    const user = confab.token("someone", { roles: ["editor"] });
    assert.equal((await confab.api("POST", "/api/emit", { bearer: admin, body: emit })).status, 200);
    assert.equal((await confab.api("GET", "/api/clients", { bearer: admin })).status, 200);
    assertError(await confab.api("POST", "/api/emit", { bearer: user, body: emit }), 403, "user token");
    assertError(await confab.api("GET", "/api/clients", { bearer: user }), 403, "user token");
    assertError(await confab.api("POST", "/api/operations", { bearer: user, body: { operation: "a:b", status: "start", userId: "someone" } }), 403, "user token");
    const forged = admin.slice(0, -3) + (admin.endsWith("AAA") ? "BBB" : "AAA");
    assertError(await confab.api("POST", "/api/emit", { bearer: forged, body: emit }), 401, "forged");
    const expired = confab.token("root", { roles: ["admin"], ttl: "1s" });
    await new Promise((r) => setTimeout(r, 2100));
    assertError(await confab.api("POST", "/api/emit", { bearer: expired, body: emit }), 401, "expired");
    assertError(await confab.api("POST", "/api/emit", { bearer: "not-a-jwt", body: emit }), 401, "garbage");
  });
});

describe("bad input", () => {
  const bad = async (method, path, body, what) =>
    assertError(await confab.api(method, path, { key: true, body }), 400, what ?? `${method} ${path} ${JSON.stringify(body)}`);

  test("emit bodies", async () => {
    await bad("POST", "/api/emit", undefined, "no body");
    await bad("POST", "/api/emit", "{not json", "invalid JSON");
    await bad("POST", "/api/emit", [], "an array");
    await bad("POST", "/api/emit", {}, "no event");
    await bad("POST", "/api/emit", { event: "" });
    await bad("POST", "/api/emit", { event: 42 });
    await bad("POST", "/api/emit", { event: "connect" }, "reserved event");
    await bad("POST", "/api/emit", { event: "disconnect" }, "reserved event");
    await bad("POST", "/api/emit", { event: "x", room: "typo" }, "unknown field");
    await bad("POST", "/api/emit", { event: "x", rooms: [""] }, "empty room");
    await bad("POST", "/api/emit", { event: "x", users: [{}] }, "object user");
    await bad("POST", "/api/emit", { event: "x", nsp: "admin" }, "nsp without /");
    const unknown = await confab.api("POST", "/api/emit", { key: true, body: { event: "x", nsp: "/nope" } });
    assertError(unknown, 400, "unknown namespace");
    assert.match(unknown.body.error, /unknown namespace `\/nope`/);
    assertError(await confab.api("GET", "/api/clients?nsp=/nope", { key: true }), 400, "clients of an unknown namespace");
    assertError(await confab.api("POST", "/api/disconnect", { key: true, body: { nsp: "/nope", users: "u" } }), 400, "disconnect in an unknown namespace");
  });

  test("a JSON body is read whatever its content type", async () => {
    const res = await call(confab.url, "POST", "/api/emit", {
      key: true,
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify(emit),
    });
    assert.equal(res.status, 200);
  });

  test("other routes", async () => {
    await bad("POST", "/api/disconnect", {}, "disconnect everyone by omission");
    await bad("POST", "/api/operations", { operation: "a:b", status: "finished", userId: 1 }, "bad status");
    await bad("POST", "/api/operations", { operation: "a:b", status: "start" }, "no user");
    await bad("POST", "/api/operations", { operation: "", status: "start", userId: 1 }, "no operation");
    await bad("POST", "/api/notifications", { title: "t" }, "no user");
    await bad("POST", "/api/notifications", { userId: "u" }, "nothing to say");
    await bad("POST", "/api/notifications", { userId: "u", message: "a", body: "b" }, "two texts");
    await bad("GET", "/api/notifications?userId=u&limit=0", undefined, "limit 0");
    await bad("GET", "/api/notifications?userId=u&limit=x", undefined, "limit not a number");
    await bad("GET", "/api/notifications?userId=u&colour=red", undefined, "unknown parameter");
    assertError(await confab.api("GET", "/api/notifications/999999", { key: true }), 404, "unknown notification");
    assertError(await confab.api("POST", "/api/notifications/abc/seen", { key: true }), 404, "malformed id");
    assertError(await confab.api("PUT", "/api/emit", { key: true, body: emit }), 405, "method");
  });
});

describe("the default profile", () => {
  test("health stays open; operations use the default read-only list", async () => {
    assert.deepEqual((await call(confab.url, "GET", "/api/health")).body, { ok: true });
    const op = (operation) =>
      confab.api("POST", "/api/operations", { key: true, body: { operation, status: "success", userId: "u" } });
    assert.equal((await op("users:fetchOne")).body.broadcast, false);
    assert.equal((await op("menus:fetchByUri")).body.broadcast, false);
    assert.equal((await op("users:assign")).body.broadcast, true);
  });
});
