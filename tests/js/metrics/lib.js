// Scraping /metrics in the tests: parsed strictly, read as deltas.
import assert from "node:assert/strict";
import { parse } from "./prometheus.js";
import { sleep } from "../client/helpers.js";

/** Scrapes and parses; fails the test on a format error. */
export async function scrape(url, headers = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

/** `after - before` of one series (0 when absent before). */
export const moved = (before, after, key) => {
  assert.ok(after.series.has(key), `no series ${key}`);
  return after.series.get(key) - (before.series.get(key) ?? 0);
};

/** Scrapes until `key` reads `value` (a closing connection is gone a moment after the client's close); the last scrape. */
export async function settle(url, key, value) {
  let last;
  for (let i = 0; i < 100; i++) {
    last = await scrape(url);
    if (last.series.get(key) === value) break;
    await sleep(50);
  }
  assert.equal(last.series.get(key), value, key);
  return last;
}

