// Shared by the server-API tests: the `confab` binary (or another program
// built on the appliance) started with a seed's profile in a fresh data
// directory, tokens minted by `confab token`, and calls to its HTTP API.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, binary } from "../harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..", "..");

/** A secret long enough not to be warned about; the key backends use. */
export const SECRET = "confab-api-tests-secret-0123456789abcdefghij";
export const API_KEY = "api-key-for-tests-1";

/** An example program of this repository (target/debug/examples/<name>). */
export const example = (name) => path.join(root, "target", "debug", "examples", name);

/**
 * Starts confab with `profile` (or none) and the test secret and API key.
 * Resolves to { url, token(id, {roles}), api(method, path, opts), restart(), stop(), dataDir }.
 * `opts.command` runs another program with the same settings (e.g. an example).
 */
export async function startConfab(profile, opts = {}) {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "confab-api-"));
  const settings = {
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    CONFAB_DATA_DIR: dataDir,
    CONFAB_IDENTITY__SECRET: SECRET,
    CONFAB_API__KEYS: API_KEY,
    ...(opts.command && profile ? { CONFAB_PROFILE: profile } : {}),
    ...opts.env,
  };
  const profileArgs = profile ? ["--profile", profile] : [];
  const launch = () =>
    opts.command
      ? startServer(settings, { command: opts.command, args: [] })
      : startServer(settings, { command: "confab", args: profileArgs });
  let server = await launch();
  const env = { ...process.env, ...settings };
  delete env.CONFAB_TEST_SERVER;
  const handle = {
    dataDir,
    get url() {
      return server.url;
    },
    /** A token for `id` signed with the test secret, in the profile's claims. */
    token(id, { roles = [], ttl } = {}) {
      const args = [...profileArgs, "token", String(id), ...roles.flatMap((r) => ["--role", r])];
      if (ttl) args.push("--ttl", ttl);
      return execFileSync(binary("confab"), args, { env }).toString().trim();
    },
    /** Calls the HTTP API; resolves to { status, body } (body parsed if JSON). */
    api: (method, urlPath, callOpts = {}) => call(server.url, method, urlPath, callOpts),
    /**
     * Stops and starts again on the same data directory (a new port);
     * `{ kill: true }` stops it with SIGKILL, giving it no time to tidy up.
     */
    async restart({ kill = false } = {}) {
      if (kill) {
        const exited = new Promise((resolve) => server.child.once("exit", resolve));
        server.child.kill("SIGKILL");
        await exited;
      } else {
        await server.stop();
      }
      server = await launch();
      return handle;
    },
    async stop() {
      await server.stop();
      if (!opts.keepDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * An HTTP call. `key: true` sends the test API key as X-API-Key, `bearer` a
 * token (or key) as Authorization, `body` JSON (a string is sent as is).
 */
export async function call(base, method, urlPath, { body, key, bearer, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h["X-API-Key"] = key === true ? API_KEY : key;
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) h["Content-Type"] ??= "application/json";
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

/** An ISO 8601 timestamp as JavaScript's toISOString prints it, give or take the fraction. */
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Resolves once `cond()` holds, polling every 20 ms; rejects after `ms`. */
export async function until(cond, what, ms = 4000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
