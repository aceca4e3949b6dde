// The facilitator's acts as the requests they send, and the actions a person's menu offers at each moment.
import { test } from "node:test";
import assert from "node:assert/strict";

import { admitAll, admitAllSummary, askedKind, moderationRequests, personActions } from "../src/room/moderation.js";

const ROOM = "87ef3290-c5ae-4668-8c7e-56d6406ac2c6";
const state = { locked: false, lobbyEnabled: true, hands: ["robin"],
  lobby: [{ user_id: "sam", display_name: "Sam" }, { user_id: "ana", display_name: "Ana" }] };
const robin = { user_id: "robin", role: "participant", audio: true, video: true, screen: false };

test("each act is one request naming the room and the person", () => {
  assert.deepEqual(moderationRequests(state, ROOM, "mute-audio", "robin"),
    [{ event: "room:mute", payload: { room_id: ROOM, user_id: "robin", kind: "audio" } }]);
  assert.deepEqual(moderationRequests(state, ROOM, "ask-unmute-video", "robin"),
    [{ event: "room:ask_unmute", payload: { room_id: ROOM, user_id: "robin", kind: "video" } }]);
  assert.equal(moderationRequests(state, ROOM, "send-to-lobby", "robin")[0].event, "room:send_to_lobby");
  assert.equal(moderationRequests(state, ROOM, "remove", "robin")[0].event, "room:remove");
  assert.equal(moderationRequests(state, ROOM, "lower-hand", "robin")[0].event, "hand:lower");
  assert.deepEqual(moderationRequests(state, ROOM, "end"), [{ event: "room:end", payload: { room_id: ROOM } }]);
  assert.deepEqual(moderationRequests(state, ROOM, "dance", "robin"), []);
});

test("the switches flip what the room has now; admit all admits everyone waiting, in order", () => {
  assert.deepEqual(moderationRequests(state, ROOM, "lock")[0].payload, { room_id: ROOM, locked: true });
  assert.deepEqual(moderationRequests({ ...state, locked: true }, ROOM, "lock")[0].payload,
    { room_id: ROOM, locked: false });
  assert.deepEqual(moderationRequests(state, ROOM, "lobby")[0].payload, { room_id: ROOM, enabled: false });
  assert.deepEqual(moderationRequests(state, ROOM, "admit-all").map((r) => [r.event, r.payload.user_id]),
    [["room:admit", "sam"], ["room:admit", "ana"]]);
  assert.equal(askedKind("ask-unmute-audio"), "audio");
  assert.equal(askedKind("mute-audio"), null);
});

test("a person's menu offers what fits the moment", () => {
  const names = (p, s = state) => personActions(s, p).map((a) => a.action);
  assert.deepEqual(names(robin), ["mute-audio", "mute-video", "lower-hand", "send-to-lobby", "remove"]);
  assert.deepEqual(names({ ...robin, audio: false, video: false }, { ...state, hands: [] }),
    ["ask-unmute-audio", "ask-unmute-video", "send-to-lobby", "remove"]);
  const sharing = personActions(state, { ...robin, screen: true }).find((a) => a.action === "mute-video");
  assert.equal(sharing.label, "Stop their screen share");
  assert.deepEqual(names({ ...robin, role: "facilitator" }, { ...state, hands: [] }), ["mute-audio", "mute-video"],
    "a facilitator is neither sent to the waiting room nor removed");
  assert.equal(personActions(state, robin).find((a) => a.action === "remove").danger, true);
});

test("admit all goes on past someone who left the waiting room, and stops at any other refusal", async () => {
  const lobby = ["sam", "ana", "bo", "cy"].map((id) => ({ user_id: id, display_name: id }));
  const requests = moderationRequests({ ...state, lobby }, ROOM, "admit-all");
  const sent = [];
  const answers = { sam: { ok: true }, ana: { ok: false, error: { code: "not_found", message: "Not waiting." } },
    bo: { ok: true }, cy: { ok: true } };
  const all = await admitAll(requests, async (event, payload) => {
    sent.push([event, payload.user_id]);
    return answers[payload.user_id];
  });
  assert.deepEqual(sent.map(([, id]) => id), ["sam", "ana", "bo", "cy"]);
  assert.deepEqual(all, { admitted: 3, gone: 1, left: 0, error: null });
  assert.equal(admitAllSummary(all), "Admitted 3 people. 1 person had already left the waiting room.");

  const full = { ok: false, error: { code: "room_full", message: "The room is full." } };
  const stopped = await admitAll(requests, async (event, payload) => (payload.user_id === "bo" ? full
    : answers[payload.user_id]));
  assert.deepEqual(stopped, { admitted: 1, gone: 1, left: 2, error: full.error });
  assert.equal(admitAllSummary(stopped),
    "Admitted 1 person. 1 person had already left the waiting room. The room is full. 2 people still wait.");
  assert.equal(admitAllSummary({ admitted: 0, gone: 2, left: 0, error: null }),
    "No one was admitted. 2 people had already left the waiting room.");
  assert.equal(admitAllSummary({ admitted: 0, gone: 0, left: 1, error: { code: "timeout", message: "No answer" } }),
    "No one was admitted. No answer. 1 person still waits.");
});
