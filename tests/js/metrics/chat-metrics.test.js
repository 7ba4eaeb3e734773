// The chat's metrics on the appliance: messages stored, the store's group
// flushes (latency and batch size histograms), and the push hand-offs
// queued, sent, retried and dropped, against a test webhook that fails,
// then accepts, then refuses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startChat, chatClient, joinWithUser, ask, closeAll } from "../chat/helpers.js";
import { scrape, moved, settle } from "./lib.js";

let server;
let webhook;
/** The webhook's answer, by the message's text: the first hand-off fails once. */
const failed = new Set();
function answer(raw) {
  if (raw.includes("refuse-me")) return 400;
  if (raw.includes("retry-me") && !failed.has("retry-me")) {
    failed.add("retry-me");
    return 503;
  }
  return 204;
}

before(async () => {
  webhook = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => res.writeHead(answer(raw)).end());
  });
  await new Promise((r) => webhook.listen(0, "127.0.0.1", r));
  server = await startChat({
    env: {
      CONFAB_CHAT__PUSH_WEBHOOK: `http://127.0.0.1:${webhook.address().port}/push`,
      CONFAB_CHAT__PUSH_BACKOFF_MS: "20",
    },
  });
});
after(async () => {
  await server.stop();
  webhook.close();
});

test("messages stored, flushes, and push hand-offs queued, sent, retried and dropped", async () => {
  const alice = await chatClient(server.url);
  const bob = await chatClient(server.url);
  try {
    // Bob is online but not viewing the chat: each message is pushed to him.
    const chatId = (await joinWithUser(alice.chat, bob.userId)).response.chatHeaderId;
    const before = await scrape(server.url);
    const texts = ["retry-me", "send-me", "refuse-me"];
    const sends = texts.length;
    for (const message of texts) {
      await ask(alice.socket, "createMessage", { message, chatHeaderId: chatId, messageType: 0 });
    }
    // The first hand-off is retried (503, then 204), the second sent, the third refused (400).
    await settle(server.url, 'confab_push_dropped_total{reason="refused"}', 1);
    const after = await settle(server.url, "confab_push_sent_total", 2);
    assert.equal(moved(before, after, "confab_chat_messages_stored_total"), sends);
    assert.equal(moved(before, after, "confab_push_queued_total"), sends);
    assert.equal(moved(before, after, "confab_push_sent_total"), 2);
    assert.equal(moved(before, after, "confab_push_retried_total"), 1);
    assert.equal(moved(before, after, 'confab_push_dropped_total{reason="given_up"}'), 0);
    assert.equal(moved(before, after, 'confab_push_dropped_total{reason="queue_full"}'), 0);
    // Every durable write waited for a flush: at least one flush, serving
    // at least the messages' writers; the buckets end at the count.
    const flushes = moved(before, after, "confab_store_flush_seconds_count");
    assert.ok(flushes >= 1, `flushes: ${flushes}`);
    assert.equal(moved(before, after, "confab_store_flush_batch_size_count"), flushes);
    assert.ok(moved(before, after, "confab_store_flush_batch_size_sum") >= sends);
    assert.equal(after.series.get('confab_store_flush_seconds_bucket{le="+Inf"}'), after.series.get("confab_store_flush_seconds_count"));
    assert.equal(after.families.get("confab_store_flush_seconds").type, "histogram");
    assert.equal(after.families.get("confab_store_flush_batch_size").type, "histogram");
  } finally {
    closeAll(alice, bob);
  }
});
