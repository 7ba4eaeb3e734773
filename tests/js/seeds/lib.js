// Shared by the seed tests: start the `confab` appliance with a seed's
// profile (its own temp data dir and secret), mint tokens with `confab token`
// (same environment, same secret), and sign JWTs by hand for the refusals.
import { mkdtempSync, rmSync } from "node:fs";
import { execFile } from "node:child_process";
import { createHmac, createSign, randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { startServer, binary } from "../harness.js";

/**
 * Starts `confab --profile <profile>` on a loopback port with a fresh data
 * directory and secret; `settings` adds or overrides environment variables.
 * Resolves to the harness server plus { secret, dataDir, env, token(), stop() }.
 */
export async function startConfab(profile, settings = {}) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `confab-${profile}-`));
  const secret = randomBytes(24).toString("hex");
  const env = {
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    CONFAB_DATA_DIR: dataDir,
    CONFAB_IDENTITY__SECRET: secret,
    ...settings,
  };
  const args = ["--profile", profile];
  let server;
  try {
    server = await startServer(env, { command: "confab", args });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...server,
    profile,
    secret,
    dataDir,
    env,
    /** `confab --profile <p> token <user> [--name] [--ttl] [--role]...`, same environment. */
    token: (user, opts = {}) => mintToken(args, env, user, opts),
    /** A token signed by hand with this server's secret (HS256 unless `alg`). */
    sign: (claims, opts = {}) => signJwt(claims, { secret, ...opts }),
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `confab ... token` and resolves with the token it prints. */
export function mintToken(profileArgs, settings, user, { name, ttl, roles = [] } = {}) {
  const args = [...profileArgs, "token", String(user)];
  if (name !== undefined) args.push("--name", name);
  if (ttl !== undefined) args.push("--ttl", ttl);
  for (const role of roles) args.push("--role", role);
  const env = { ...process.env, ...settings };
  delete env.CONFAB_TEST_SERVER;
  return new Promise((resolve, reject) => {
    execFile(binary("confab"), args, { env }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`confab token failed: ${err.message}\n${stderr}`));
      resolve(stdout.trim());
    });
  });
}

const b64url = (text) => Buffer.from(text).toString("base64url");

/** Now, in JWT seconds. */
export const nowSecs = () => Math.floor(Date.now() / 1000);

/**
 * A compact JWS made by hand: `alg` HS256/HS384/HS512 with `secret`,
 * RS256 with `privateKey` (a node:crypto key), or `none` (empty signature).
 * `header` adds header fields.
 */
export function signJwt(claims, { secret, alg = "HS256", privateKey, header = {} } = {}) {
  const input = `${b64url(JSON.stringify({ alg, typ: "JWT", ...header }))}.${b64url(JSON.stringify(claims))}`;
  let signature;
  if (alg === "none") signature = "";
  else if (alg.startsWith("HS")) signature = createHmac(`sha${alg.slice(2)}`, secret).update(input).digest("base64url");
  else if (alg.startsWith("RS")) signature = createSign(`RSA-SHA${alg.slice(2)}`).update(input).sign(privateKey, "base64url");
  else throw new Error(`signJwt: no signer for ${alg}`);
  return `${input}.${signature}`;
}

/** The header and claims of a compact JWS (no verification). */
export function decodeJwt(token) {
  const [header, claims] = token.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
  return { header, claims };
}

/** fetch with a 5 s timeout. */
export function fetchWithTimeout(url, init = {}) {
  return fetch(url, { signal: AbortSignal.timeout(5000), ...init });
}

/**
 * A server-side emit through the appliance's HTTP API, as a backend would
 * send it (`POST /api/emit {rooms, except, event, data}`, authorized by a
 * token with the admin role). Resolves to { status, text }: a 404 means the
 * appliance serves no such API (yet).
 */
export async function apiEmit(server, body) {
  const admin = await server.token("api-admin", { roles: ["admin"] });
  const res = await fetchWithTimeout(`${server.url}/api/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${admin}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** The reason a server-side emit test cannot run, or null. */
export function noApiEmit({ status }) {
  return status === 404 ? "confab serves no POST /api/emit (HTTP API not there yet)" : null;
}

/** A CORS preflight for the polling handshake at `enginePath` (e.g. "/socket.io/"). */
export async function preflight(url, enginePath, origin) {
  const res = await fetchWithTimeout(`${url}${enginePath}?EIO=4&transport=polling`, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "GET" },
  });
  await res.arrayBuffer();
  return res;
}

/** The polling handshake at `enginePath` with an Origin header; resolves to the response (body read). */
export async function pollingHandshake(url, enginePath, origin) {
  const res = await fetchWithTimeout(`${url}${enginePath}?EIO=4&transport=polling`, { headers: { Origin: origin } });
  res.bodyText = await res.text();
  return res;
}

/** Whether `text` is an ISO 8601 time within `ms` of now. */
export function isRecentIso(text, ms = 10_000) {
  if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(text)) return false;
  const t = Date.parse(text);
  return Number.isFinite(t) && Math.abs(Date.now() - t) <= ms;
}

/** Sleeps until a token with this `exp` is past it by a clear second (no leeway). */
export async function untilExpired(exp) {
  const wait = (exp + 1) * 1000 - Date.now() + 150;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
