// Server-side events between the nodes of a mixed cluster (two confab
// testbeds, one Node socket.io server, one private Redis): Node's
// serverSideEmit / serverSideEmitWithAck reach confab's server-side
// handlers and back, in both directions; a node never hears its own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { quiet, collect } from "../client/helpers.js";
import { startMixedCluster } from "./mixed.js";

const skip = process.env.CONFAB_TEST_SERVER === "node" && "a confab cluster needs the confab testbed";

let cluster, nodeN, a, b;
const nodeNotes = [];

before(async () => {
  if (skip) return;
  cluster = await startMixedCluster();
  ({ nodeN, a, b } = cluster);
  // Asked by confab with the asking socket's id; by Node with nothing.
  nodeN.io.on("who", (asker, cb) => cb({ from: "node", asker }));
  nodeN.io.on("note", (note) => nodeNotes.push(note));
});

after(async () => {
  await cluster?.stop();
});

test("a confab node asks the others and hears one answer from each", { skip }, async () => {
  const res = await a.emitWithAck("ask-servers");
  assert.equal(res.complete, true, JSON.stringify(res));
  const from = res.answers.map((x) => x.from).sort();
  assert.deepEqual(from, ["confab", "node"], "confab B and the Node server, not A itself");
  const pids = res.answers.filter((x) => x.from === "confab").map((x) => x.pid);
  assert.equal(pids.length, 1);
  assert.equal(res.answers.find((x) => x.from === "node").asker, a.id, "the argument crossed");
});

test("the Node server's serverSideEmitWithAck is answered by both confab nodes", { skip }, async () => {
  const answers = await nodeN.io.serverSideEmitWithAck("who");
  assert.equal(answers.length, 2);
  assert.ok(answers.every((x) => x.from === "confab"));
  assert.notEqual(answers[0].pid, answers[1].pid);
});

test("serverSideEmit without an ack reaches every other node, never its sender", { skip }, async () => {
  const atA = collect(a, "server-note");
  const atB = collect(b, "server-note");
  nodeN.io.serverSideEmit("note", { n: 1 });
  assert.equal(await a.emitWithAck("note-servers", { n: 2 }), true);
  await quiet([atA, atB], 500);
  assert.deepEqual(atA, [[{ n: 1 }]], "A hears Node's note, not its own");
  assert.deepEqual(
    atB.map(([x]) => x.n).sort(),
    [1, 2],
    "B hears Node's note and A's",
  );
  assert.deepEqual(nodeNotes, [{ n: 2 }], "Node hears A's note");
});
