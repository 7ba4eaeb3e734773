// Starts a real server on a loopback port for one test file and stops it after.
//
// By default the server is confab's testbed example (target/debug/examples/testbed,
// built by the test command). With CONFAB_TEST_SERVER=node the same contract is
// served by the official Node server (reference/testbed.js), which is how the
// expected answers in these tests were checked against the reference.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import readline from "node:readline";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

export const serverKind = process.env.CONFAB_TEST_SERVER === "node" ? "node" : "confab";

/**
 * Starts a server with the given CONFAB_* settings (e.g. { CONFAB_PATH: "/realtime" }).
 * Resolves to { url, port, stop } once it listens.
 *
 * `options.command` runs another program instead of the testbed, whatever
 * CONFAB_TEST_SERVER says: a bare name is a binary of target/debug (e.g.
 * `{ command: "confab", args: ["--profile", "seam"] }`), a path is run as is.
 * `options.stderr: "pipe"` keeps the server's log on `child.stderr` (shown
 * otherwise).
 */
export async function startServer(settings = {}, options = {}) {
  const env = { ...process.env, CONFAB_PORT: "0", CONFAB_HOST: "127.0.0.1", ...settings };
  // The selector is for this harness only: confab's configuration rejects
  // CONFAB_* variables it does not know (UnknownField "test_server").
  delete env.CONFAB_TEST_SERVER;
  const [cmd, args] = options.command
    ? [binary(options.command), options.args ?? []]
    : serverKind === "node"
      ? [process.execPath, [path.join(here, "reference", "testbed.js")]]
      : [path.join(root, "target", "debug", "examples", "testbed"), []];
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", options.stderr ?? "inherit"] });
  const port = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error("server did not start in 30 s")), 30_000);
    lines.on("line", (line) => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited early with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", resolve);
      child.kill("SIGTERM");
    });
  return { url, port, stop, child };
}

/** A program to run: a bare name is a binary of target/debug, a path is as given. */
export function binary(command) {
  return command.includes("/") ? command : path.join(root, "target", "debug", command);
}

/** Resolves with the first emission of `event` on `emitter` (args as an array), or rejects after `ms`. */
export function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}
