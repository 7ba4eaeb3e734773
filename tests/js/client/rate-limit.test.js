// The per-connection event rate limit (CONFAB_EVENT_RATE_*): a token bucket
// of BURST events refilled at PER_SEC; an event over it is refused (its ack
// gets {error: "rate limited"}, without an ack an `exception` event); a
// client refused STRIKES times within 10 s is disconnected by the server.
// A bystander on its own connection is never touched.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../harness.js";
import { connect, close, once } from "./helpers.js";

const BURST = 20;
const PER_SEC = 1;
const STRIKES = 30;

let server;
let bystander;
before(async () => {
  server = await startServer({
    CONFAB_EVENT_RATE_BURST: String(BURST),
    CONFAB_EVENT_RATE_PER_SEC: String(PER_SEC),
    CONFAB_EVENT_RATE_STRIKES: String(STRIKES),
  });
  bystander = await connect(server.url, { transports: ["websocket"] });
});
after(async () => {
  close(bystander);
  await server?.stop();
});

async function bystanderStillServed(value) {
  assert.equal(await bystander.timeout(5000).emitWithAck("echo", value), value);
  assert.equal(bystander.connected, true);
}

test("events past the burst are refused with an error ack; the bystander is served", async () => {
  const flooder = await connect(server.url);
  try {
    const n = BURST + 10;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => flooder.timeout(5000).emitWithAck("echo", i)),
    );
    const refused = answers.filter((a) => a?.error === "rate limited").length;
    const echoed = answers.filter((a, i) => a === i).length;
    assert.equal(refused + echoed, n, JSON.stringify(answers));
    // The bucket refills by one a second: a slow run may pass a few more.
    assert.ok(echoed >= BURST && refused >= 5, `echoed ${echoed}, refused ${refused}`);
    assert.equal(flooder.connected, true, "refusals alone do not disconnect");
    await bystanderStillServed("after the burst");
  } finally {
    close(flooder);
  }
});

test("a client that keeps flooding gets exceptions, then a server disconnect", async () => {
  const flooder = await connect(server.url, { transports: ["websocket"] });
  try {
    const exceptions = [];
    flooder.on("exception", (e) => exceptions.push(e));
    const gone = once(flooder, "disconnect", 10_000);
    for (let i = 0; i < BURST + STRIKES + 20; i++) flooder.emit("echo", i);
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    assert.ok(exceptions.length >= 1, "refused events without an ack got an exception");
    assert.deepEqual(exceptions[0], { status: "error", message: "rate limited", event: "echo" });
    await bystanderStillServed("after the flood");
  } finally {
    close(flooder);
  }
});
