// The per-event accessToken of seed 003 through the chat appliance (SEAM
// profile), as the JSON decoder reads it (issue 10): the frames are written
// by hand, since a client library never escapes a key. A key spelled with an
// escape (`acc\u0065ssToken`) is the same key; a token that is not text, or
// not the connection's user's, refuses the event.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startConfab } from "../seeds/lib.js";
import { Ws, eioUrl, parseOpen, closeAll } from "../raw/lib.js";

let server;
before(async () => {
  server = await startConfab("seam");
});
after(async () => {
  closeAll();
  await server?.stop();
});

/** A raw WebSocket connected to `/` as `user`; `call(raw)` sends `42<id><raw>` and resolves with the ack's first argument. */
async function rawUser(user) {
  const ws = new Ws(eioUrl(server.url, { transport: "websocket" }));
  await ws.opened;
  parseOpen(await ws.next());
  ws.send(`40${JSON.stringify({ token: await server.token(user) })}`);
  assert.match(await ws.next(), /^40\{/);
  let nextId = 0;
  const call = async (raw) => {
    const id = nextId++;
    ws.send(`42${id}${raw}`);
    for (;;) {
      const frame = await ws.next();
      if (typeof frame === "string" && frame.startsWith(`43${id}[`)) return JSON.parse(frame.slice(`43${id}`.length))[0];
    }
  };
  return { ws, call };
}

const INVALID = "Token inválido o expirado";

test("an escaped accessToken key is read as accessToken: a bad token is refused, a good one passes", async () => {
  const alice = await rawUser("1");
  try {
    const bad = await alice.call(String.raw`["findAllChatHeaders",{"acc\u0065ssToken":"not-a-token"}]`);
    assert.deepEqual(bad, { error: INVALID });
    const good = await server.token("1");
    const ok = await alice.call(String.raw`["findAllChatHeaders",{"acc\u0065ssToken":"${good}"}]`);
    assert.equal(ok?.error, undefined, JSON.stringify(ok));
    const plain = await alice.call(JSON.stringify(["findAllChatHeaders", { accessToken: good }]));
    assert.equal(plain?.error, undefined, JSON.stringify(plain));
  } finally {
    alice.ws.close();
  }
});

test("a numeric, object or repeated accessToken is refused", async () => {
  const alice = await rawUser("1");
  try {
    assert.deepEqual(await alice.call(`["findAllChatHeaders",{"accessToken":1}]`), { error: "accessToken must be a string" });
    assert.deepEqual(await alice.call(`["findAllChatHeaders",{"AccessToken":{"t":1}}]`), { error: "accessToken must be a string" });
    const good = await server.token("1");
    assert.deepEqual(await alice.call(`["findAllChatHeaders",{"accessToken":"${good}","AccessToken":"x"}]`), {
      error: "accessToken given more than once",
    });
  } finally {
    alice.ws.close();
  }
});

test("another user's accessToken is refused, even escaped", async () => {
  const alice = await rawUser("1");
  try {
    const bobs = await server.token("2");
    const refused = await alice.call(String.raw`["findAllChatHeaders",{"\u0061ccessToken":"${bobs}"}]`);
    assert.deepEqual(refused, { error: "accessToken names another user than the connection" });
  } finally {
    alice.ws.close();
  }
});
