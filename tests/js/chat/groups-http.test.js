// Group management over HTTP (the appliance, SEAM profile): POST
// /api/chat/groups {name?, members}, POST /api/chat/groups/{id}/participants
// {userIds}, DELETE /api/chat/groups/{id}/participants/{userId}; bearer
// tokens; refusals as JSON with 400, 401, 403, 404; the members hear the
// Syarah events.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startConfab } from "../seeds/lib.js";
import { connected, close, once, sleep } from "../client/helpers.js";
import { http } from "./helpers.js";

let server;
before(async () => {
  server = await startConfab("seam");
});
after(async () => {
  await server?.stop();
});

const api = () => `${server.url}/api/chat/groups`;
const JSON_TYPE = { "content-type": "application/json" };
const post = (url, token, body) =>
  http(url, { token, method: "POST", headers: JSON_TYPE, body: typeof body === "string" ? body : JSON.stringify(body) });

const user = async (id, name) => {
  const token = await server.token(id, { name });
  const socket = io(server.url, { auth: { token }, forceNew: true, reconnection: false });
  await connected(socket);
  // The chat's connection handler records the user, and may still be
  // running when the CONNECT is acknowledged: see postKnown.
  return { socket, token };
};

/** POST, retrying a 404 while the members named may not be recorded yet. */
const postKnown = async (url, token, body) => {
  for (let i = 0; ; i++) {
    const res = await post(url, token, body);
    if (res.status !== 404 || i === 40) return res;
    await sleep(50);
  }
};

const refused = (res, status) => {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.success, false, JSON.stringify(res.json));
  assert.equal(typeof res.json.message, "string");
};

test("create a group, add and remove a member; the members are told", async () => {
  const ann = await user("h1", "Ann");
  const ben = await user("h2", "Ben");
  const cid = await user("h3", "Cid");
  try {
    let told = once(ben.socket, "participantsAdded");
    const created = await postKnown(api(), ann.token, { name: "Crew", members: ["h2"] });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const group = created.json.data;
    assert.equal(group.isGroup, true);
    assert.equal(group.name, "Crew");
    assert.deepEqual(group.admins, ["h1"]);
    assert.deepEqual(group.members.map((m) => m.userId).sort(), ["h1", "h2"]);
    const [first] = await told;
    assert.deepEqual(first.userIds.sort(), ["h1", "h2"]);
    const id = group.chatHeaderId;

    told = once(ben.socket, "participantsAdded");
    const added = await postKnown(`${api()}/${id}/participants`, ann.token, { userIds: ["h3"] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.deepEqual(added.json.data.members.map((m) => m.userId).sort(), ["h1", "h2", "h3"]);
    assert.deepEqual((await told)[0], { chatHeaderId: id, userIds: ["h3"], by: "h1" });

    // Only an admin adds or removes others.
    refused(await post(`${api()}/${id}/participants`, ben.token, { userIds: ["h1"] }), 403);
    refused(await http(`${api()}/${id}/participants/h3`, { token: ben.token, method: "DELETE" }), 403);

    told = once(cid.socket, "participantRemoved");
    const removed = await http(`${api()}/${id}/participants/h3`, { token: ann.token, method: "DELETE" });
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    assert.deepEqual(removed.json.data.members.map((m) => m.userId).sort(), ["h1", "h2"]);
    assert.deepEqual((await told)[0], { chatHeaderId: id, userId: "h3", by: "h1" });

    // A member leaves by removing themselves.
    const left = await http(`${api()}/${id}/participants/h2`, { token: ben.token, method: "DELETE" });
    assert.equal(left.status, 200, JSON.stringify(left.json));
    assert.equal(left.json.data.left, true);
    // No longer a member: no more changes.
    refused(await post(`${api()}/${id}/participants`, ben.token, { userIds: ["h3"] }), 403);
  } finally {
    close(ann.socket, ben.socket, cid.socket);
  }
});

test("a group without a name gets the default one", async () => {
  const ann = await user("h4", "Ann");
  const ben = await user("h5", "Ben");
  try {
    const created = await postKnown(api(), ann.token, { members: ["h5"] });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.data.name, "Group");
  } finally {
    close(ann.socket, ben.socket);
  }
});

test("refusals: 401 without or with a bad token, 400 for bad bodies and ids, 404 for unknown chats and users", async () => {
  const ann = await user("h6", "Ann");
  const ben = await user("h7", "Ben");
  try {
    const noToken = await http(api(), { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ members: ["h7"] }) });
    refused(noToken, 401);
    refused(await post(api(), "not-a-jwt", { members: ["h7"] }), 401);
    refused(await post(api(), ann.token, "{not json"), 400);
    refused(await post(api(), ann.token, { name: "x" }), 400);
    refused(await post(api(), ann.token, { members: [] }), 400);
    refused(await post(api(), ann.token, { members: [{}] }), 400);
    refused(await post(api(), ann.token, { name: 5, members: ["h7"] }), 400);
    refused(await post(api(), ann.token, { name: "x".repeat(101), members: ["h7"] }), 400);
    refused(await post(api(), ann.token, { members: ["nobody-here"] }), 404);
    refused(await post(`${api()}/abc/participants`, ann.token, { userIds: ["h7"] }), 400);
    refused(await post(`${api()}/999999/participants`, ann.token, { userIds: ["h7"] }), 404);
    refused(await http(`${api()}/999999/participants/h7`, { token: ann.token, method: "DELETE" }), 404);

    const created = await postKnown(api(), ann.token, { name: "Pair", members: ["h7"] });
    const id = created.json.data.chatHeaderId;
    refused(await post(`${api()}/${id}/participants`, ann.token, {}), 400);
    refused(await http(`${api()}/${id}/participants/stranger`, { token: ann.token, method: "DELETE" }), 404);
    refused(await http(`${api()}/${id}/participants/h7`, { method: "DELETE" }), 401);
  } finally {
    close(ann.socket, ben.socket);
  }
});
