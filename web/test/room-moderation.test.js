// The facilitator's acts as the requests they send, and the actions a person's menu offers at each moment.
import { test } from "node:test";
import assert from "node:assert/strict";

import { askedKind, moderationRequests, personActions } from "../src/room/moderation.js";

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
