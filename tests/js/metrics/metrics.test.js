// GET /metrics (Prometheus text format) on the testbed: after a known
// workload every family exists and moved by exactly what the workload did,
// the output holds to the exposition format, and `metrics.key` is required
// when set. The chat families (messages stored, flushes, pushes) are in
// chat-metrics.test.js, against the appliance.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, serverKind } from "../harness.js";
import { connect, close, once, ask, sleep } from "../client/helpers.js";
import { parse } from "./prometheus.js";
import { scrape, moved, settle } from "./lib.js";

const skip = serverKind === "node" ? "confab's metrics (the Node reference has none)" : false;

let server;
before(async () => {
  if (skip) return;
  server = await startServer({ CONFAB_CORS_ORIGINS: "http://ok.example" });
});
after(() => server?.stop());

/** Resolves once `socket` runs on WebSocket (socket.io-client upgrades by itself). */
function upgraded(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return Promise.resolve();
  return once(engine, "upgrade");
}

test("the parser refuses what the format does not allow", () => {
  const ok = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n";
  assert.equal(parse(ok).series.get("a_total"), 1);
  assert.throws(() => parse("a_total 1\n"), /without HELP and TYPE/);
  assert.throws(() => parse(ok + "a_total 2\n"), /duplicate series/);
  assert.throws(() => parse(ok + "# TYPE a_total counter\n"), /second TYPE/);
  assert.throws(() => parse('# HELP b B.\n# TYPE b gauge\nb{x="1"} 1\n' + ok + 'b{x="2"} 1\n'), /split/);
});

test("after N clients, M events, acks and one broadcast to K sockets, each family moved by that", { skip }, async () => {
  const [N, M, K] = [4, 5, 3];
  // Refused, each counted under its reason: an unknown sid, an unknown
  // transport, an Origin not allowed, a CONNECT to a namespace that does
  // not exist. Each is scraped around alone: the refused client's closing
  // requests may meet its gone session later (an unknown sid too).
  const eio = `${server.url}/socket.io/?EIO=4`;
  const refusals = {
    unknown_sid: async () => assert.equal((await fetch(`${eio}&transport=polling&sid=nope`)).status, 400),
    unknown_transport: async () => assert.equal((await fetch(`${eio}&transport=carrier-pigeon`)).status, 400),
    origin: async () =>
      assert.equal((await fetch(`${eio}&transport=polling`, { headers: { Origin: "http://evil.example" } })).status, 403),
    connect_refused: () => assert.rejects(connect(`${server.url}/nope`, { transports: ["polling"] })),
  };
  for (const [reason, refuse] of Object.entries(refusals)) {
    const ahead = await scrape(server.url);
    await refuse();
    const behind = await scrape(server.url);
    assert.equal(moved(ahead, behind, `confab_handshakes_refused_total{reason="${reason}"}`), 1, reason);
  }
  // The refused connection closes: wait for it to be gone.
  await settle(server.url, 'confab_connections{transport="polling"}', 0);
  const before = await scrape(server.url);

  const clients = await Promise.all(Array.from({ length: N }, () => connect(server.url)));
  try {
    await Promise.all(clients.map(upgraded));
    // K clients join one room (K events, K ack answers).
    for (const c of clients.slice(0, K)) await ask(c, "join-room", "metrics-room");
    // The last one broadcasts to it (1 event, 1 ack answer, K deliveries).
    const heard = clients.slice(0, K).map((c) => once(c, "news"));
    await ask(clients[N - 1], "to-room", { room: "metrics-room", event: "news", data: "hi" });
    await Promise.all(heard);
    // M echoes with acks (M events, M ack answers).
    const payload = "x".repeat(1000);
    for (let i = 0; i < M; i++) await ask(clients[0], "echo", payload);
    // Two server emits that wait for an ack: one answered, one timed out
    // (2 events, 2 ack answers, 2 emits with an ack).
    clients[1].on("question", (_data, reply) => reply("yes"));
    const answered = await ask(clients[1], "ask", { event: "question", data: 1, timeoutMs: 5000 });
    assert.equal(answered.ok, true);
    const unanswered = await ask(clients[2], "ask", { event: "unheard", data: 1, timeoutMs: 100 });
    assert.equal(unanswered.ok, false);
    const after = await scrape(server.url);
    const events = K + 1 + M + 2;
    assert.equal(after.series.get('confab_connections{transport="websocket"}'), N);
    assert.equal(after.series.get('confab_connections{transport="polling"}'), 0);
    assert.equal(moved(before, after, "confab_upgrades_total"), N);
    assert.equal(after.series.get('confab_sockets{namespace="/"}'), N);
    assert.equal(after.series.get('confab_sockets{namespace="/admin"}'), 0);
    assert.equal(after.series.get('confab_rooms{namespace="/"}'), 1);
    assert.equal(moved(before, after, "confab_events_received_total"), events);
    // Every event got its ack answer, K broadcast copies, 2 emits with an ack.
    assert.equal(moved(before, after, "confab_events_sent_total"), events + K + 2);
    assert.equal(moved(before, after, "confab_broadcasts_total"), 1);
    assert.equal(moved(before, after, "confab_deliveries_total"), K);
    assert.equal(after.series.get("confab_acks_pending"), 0);
    assert.equal(moved(before, after, "confab_acks_timed_out_total"), 1);
    assert.ok(moved(before, after, "confab_bytes_received_total") > M * payload.length);
    assert.ok(moved(before, after, "confab_bytes_sent_total") > M * payload.length);
    for (const reason of ["bad_request", "payload_too_large"]) {
      assert.equal(moved(before, after, `confab_handshakes_refused_total{reason="${reason}"}`), 0, reason);
    }
    for (const name of [
      "confab_outbound_overflows_total",
      "confab_malformed_packets_total",
      "confab_rate_limited_events_total",
      "confab_rate_limited_connections_total",
    ]) {
      assert.equal(moved(before, after, name), 0, name);
    }
    for (const [name, family] of after.families) {
      assert.ok(family.help, `${name} has a HELP text`);
    }
  } finally {
    close(...clients);
  }
  // Closed: the gauges come back down.
  const last = await settle(server.url, 'confab_connections{transport="websocket"}', 0);
  assert.equal(last.series.get('confab_sockets{namespace="/"}'), 0);
  assert.equal(last.series.get('confab_rooms{namespace="/"}'), 0);
});

test("a pending ack is counted until it is answered", { skip }, async () => {
  const client = await connect(server.url);
  try {
    let reply;
    const asked = once(client, "slow");
    client.on("slow", (_data, r) => (reply = r));
    const answer = ask(client, "ask", { event: "slow", data: 1, timeoutMs: 10_000 });
    await asked;
    await sleep(50);
    assert.equal((await scrape(server.url)).series.get("confab_acks_pending"), 1);
    reply("done");
    assert.equal((await answer).ok, true);
    assert.equal((await scrape(server.url)).series.get("confab_acks_pending"), 0);
  } finally {
    close(client);
  }
});

test("with metrics.key set, a scrape without it is refused (401); with it, as X-API-Key or Bearer, served", { skip }, async () => {
  const keyed = await startServer({ CONFAB_METRICS__KEY: "s3cret" });
  try {
    for (const headers of [{}, { "X-API-Key": "wrong" }, { Authorization: "Bearer wrong" }]) {
      const res = await fetch(`${keyed.url}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
    }
    await scrape(keyed.url, { "X-API-Key": "s3cret" });
    await scrape(keyed.url, { Authorization: "Bearer s3cret" });
  } finally {
    await keyed.stop();
  }
});

test("metrics.enabled = false serves nothing; metrics.path moves them", { skip }, async () => {
  const off = await startServer({ CONFAB_METRICS__ENABLED: "false" });
  const elsewhere = await startServer({ CONFAB_METRICS__PATH: "/internal/prom" });
  try {
    assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
    assert.equal((await fetch(`${elsewhere.url}/metrics`)).status, 404);
    const res = await fetch(`${elsewhere.url}/internal/prom`);
    assert.equal(res.status, 200);
    assert.ok(parse(await res.text()).families.has("confab_connections"));
  } finally {
    await Promise.all([off.stop(), elsewhere.stop()]);
  }
});
