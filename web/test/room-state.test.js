// The group room as this member sees it: every protocol event, the effects it asks for, and the selectors.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  INITIAL, JOIN_RETRIES, JOIN_RETRY_MS, Phase, canShareScreen, chatShown, gridShape, handPlace, handRaised,
  heldMembers, initialState, isFacilitator, lobbyCount, mutedByFacilitator, nameOf, screenSharer, selfParticipant,
  stageFocus, step,
} from "../src/room/state.js";

const ROOM = "87ef3290-c5ae-4668-8c7e-56d6406ac2c6";
const person = (id, name, extra = {}) => ({ user_id: id, display_name: name, role: "participant", audio: true,
  video: true, hand: false, peer_id: `peer-${id}`, connected: true, muted: { audio: false, video: false }, ...extra });
const FRAN = person("fran", "Fran", { role: "facilitator" });
const ROBIN = person("robin", "Robin");
const SAM = person("sam", "Sam");
const MEDIA = { mode: "mesh", ice_servers: [], ice_transport_policy: "all", mesh_limit: 4 };

function entry(self = FRAN, participants = [FRAN, ROBIN], room = {}) {
  return {
    ok: true,
    status: "joined",
    room: { room_id: ROOM, participants, locked: false, lobby_enabled: true, hands: [], session_id: "s1",
      ...(self.role === "facilitator" ? { lobby: [] } : {}), ...room },
    self: { peer_id: self.peer_id, user_id: self.user_id, role: self.role },
    media: MEDIA,
    chat: { last_seq: 0, conversation: `room:${ROOM}` },
  };
}

// Runs events from a state, returning the final state and every effect along the way.
function run(state, ...events) {
  const effects = [];
  for (const event of events) {
    const next = step(state, event);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const types = (effects) => effects.map((e) => e.type);
const said = (effects) => effects.filter((e) => e.type === "announce").map((e) => e.text);
const connecting = () => run(INITIAL, { type: "prejoin_done" }).state;
const joinedAs = (self = FRAN, participants = [FRAN, ROBIN], room = {}) =>
  run(connecting(), { type: "join_ack", ack: entry(self, participants, room) }).state;

test("the pre-join comes first; joining is asked for once it is done", () => {
  assert.equal(INITIAL.phase, Phase.PREJOIN);
  const { state, effects } = run(INITIAL, { type: "prejoin_done" });
  assert.equal(state.phase, Phase.CONNECTING);
  assert.deepEqual(types(effects), ["join"]);
  // Nothing from the server is taken before: the join was never sent.
  assert.equal(step(INITIAL, { type: "join_ack", ack: entry() }).state, INITIAL);
  assert.equal(step(INITIAL, { type: "ended" }).state, INITIAL);
});

test("entering: the roster, the media to start, and a facilitator's first look at the people", () => {
  const { state, effects } = run(connecting(), { type: "join_ack", ack: entry() });
  assert.equal(state.phase, Phase.JOINED);
  assert.deepEqual(state.self, { user_id: "fran", peer_id: "peer-fran", role: "facilitator" });
  assert.equal(state.participants.length, 2);
  assert.equal(isFacilitator(state), true);
  assert.deepEqual(types(effects), ["enter"]);
  assert.deepEqual(effects[0].media, MEDIA);
  assert.deepEqual(effects[0].participants.map((p) => p.user_id), ["fran", "robin"]);
  assert.equal(state.panel.tab, "people");
  // A participant starts on the chat.
  assert.equal(joinedAs(ROBIN).panel.tab, "chat");
});

test("waiting in the lobby, then admitted; roster events on the way are applied on top of the entry", () => {
  let { state } = run(connecting(), { type: "join_ack",
    ack: { ok: true, status: "waiting", room: { room_id: ROOM }, self: { peer_id: "p-r", user_id: "robin" } } });
  assert.equal(state.phase, Phase.WAITING);
  assert.equal(state.self.role, null);
  ({ state } = run(state, { type: "participant_joined", participant: SAM }));
  assert.equal(state.participants.length, 0, "kept for the entry, not shown yet");
  const admitted = run(state, { type: "admitted", payload: entry(ROBIN, [FRAN, ROBIN]) });
  assert.equal(admitted.state.phase, Phase.JOINED);
  assert.deepEqual(admitted.state.participants.map((p) => p.user_id), ["fran", "robin", "sam"]);
  assert.deepEqual(admitted.effects[0].participants.map((p) => p.user_id), ["fran", "robin"],
    "the media offers to the entry's roster: Sam came later and offers to us");
  assert.deepEqual(admitted.state.early, []);
  // The bound on kept events.
  let busy = state;
  for (let i = 0; i < 250; i += 1) busy = step(busy, { type: "participant_left", userId: `x${i}` }).state;
  assert.equal(busy.early.length, 200);
});

test("a join refused: the agreement, a room not open yet, a final and a retryable refusal", () => {
  const agreement = run(connecting(), { type: "join_ack",
    ack: { ok: false, error: { code: "agreement_required" }, agreement: { version: 2, text: "Be kind." } } });
  assert.equal(agreement.state.phase, Phase.AGREEMENT);
  assert.equal(agreement.state.agreement.version, 2);
  const accepted = run(agreement.state, { type: "agreement_accepted" });
  assert.equal(accepted.state.phase, Phase.CONNECTING);
  assert.deepEqual(types(accepted.effects), ["join"]);

  const later = run(connecting(), { type: "join_ack",
    ack: { ok: false, error: { code: "room_not_open" }, opens_at: "2030-01-01T10:00:00Z" } });
  assert.equal(later.state.phase, Phase.OVER);
  assert.deepEqual(later.state.over, { reason: "not_open", message: "", retry: true, opensAt: "2030-01-01T10:00:00Z" });
  assert.deepEqual(types(later.effects), ["stop_media"], "nothing stays live while the page waits for the opening");
  // Trying again (the person's press, or "Join now" at the opening time) goes through the pre-join, which opens
  // the devices again; the connection stayed up for it.
  const again = run(later.state, { type: "retry" });
  assert.equal(again.state.phase, Phase.PREJOIN);
  assert.equal(again.state.over, null);
  assert.deepEqual(types(again.effects), ["prejoin"]);
  const rejoined = run(again.state, { type: "prejoin_done" });
  assert.equal(rejoined.state.phase, Phase.CONNECTING);
  assert.deepEqual(types(rejoined.effects), ["join"]);

  const full = run(connecting(),
    { type: "join_ack", ack: { ok: false, error: { code: "room_full", message: "Full." } } });
  assert.equal(full.state.over.retry, true);
  assert.equal(full.state.over.message, "Full.");
  for (const code of ["room_locked", "room_full", "unavailable", "busy"]) {
    const refusedNow = run(connecting(), { type: "join_ack", ack: { ok: false, error: { code } } });
    assert.equal(refusedNow.state.over.retry, true, code);
    assert.deepEqual(types(refusedNow.effects), ["stop_media"], `${code}: the camera and microphone stop`);
  }
  const refused = run(connecting(), { type: "join_ack", ack: { ok: false, error: { code: "not_authorized" } } });
  assert.equal(refused.state.over.retry, false);
  assert.equal(refused.state.over.message, "You cannot join this room right now.");
  assert.deepEqual(types(refused.effects), ["stop_media", "disconnect"]);
  assert.equal(step(refused.state, { type: "retry" }).state, refused.state, "a final refusal is not retried");

  // Offline or timed out: the next connect joins again; nothing changes.
  const offline = connecting();
  assert.equal(step(offline, { type: "join_ack", ack: { ok: false, error: { code: "offline" } } }).state, offline);
});

test("a reconnect joins again: the fresh entry restarts the media", () => {
  const state = joinedAs();
  const { state: again, effects } = run(state, { type: "join_ack", ack: entry() });
  assert.equal(again.phase, Phase.JOINED);
  assert.deepEqual(types(effects), ["enter"]);
  assert.equal(again.panel.tab, "people");
});

test("the visit ends: denied, removed, ended, superseded; media closed and stopped", () => {
  for (const reason of ["ended", "removed", "superseded"]) {
    const { state, effects } = run(joinedAs(ROBIN), { type: reason });
    assert.equal(state.phase, Phase.OVER);
    assert.equal(state.over.reason, reason);
    assert.match(state.over.message, /\w/);
    assert.deepEqual(types(effects), ["out", "stop_media", "disconnect"]);
  }
  const waiting = run(connecting(), { type: "join_ack", ack: { ok: true, status: "waiting", self: { user_id: "r" } } });
  const denied = run(waiting.state, { type: "denied" });
  assert.equal(denied.state.over.message, "A facilitator did not let you in this time.");
  // Once over, later events change nothing.
  assert.equal(step(denied.state, { type: "ended" }).state, denied.state);
});

test("sent back to the lobby: out of the room, the reason kept", () => {
  const { state, effects } = run(joinedAs(ROBIN), { type: "sent_to_lobby" });
  assert.equal(state.phase, Phase.WAITING);
  assert.match(state.waitingNote, /moved you to the waiting room/);
  assert.deepEqual(state.participants, []);
  assert.deepEqual(types(effects), ["out", "announce"]);
  assert.deepEqual(said(effects), [state.waitingNote], "said aloud: the room around the person is gone");
});

test("arriving in the lobby is said once; a reconnect that keeps the place says nothing", () => {
  const ack = { ok: true, status: "waiting", room: { room_id: ROOM }, self: { peer_id: "p-r", user_id: "robin" } };
  const first = run(connecting(), { type: "join_ack", ack });
  assert.deepEqual(said(first.effects), ["You are in the waiting room. A facilitator will let you in."]);
  assert.deepEqual(run(first.state, { type: "join_ack", ack }).effects, []);
});

test("a join with no answer on a live connection is asked again, a bounded number of times, then offered again", () => {
  const timeout = { type: "join_ack", ack: { ok: false, error: { code: "timeout" } } };
  let state = connecting();
  for (let i = 1; i <= JOIN_RETRIES; i += 1) {
    const next = run(state, timeout);
    state = next.state;
    assert.equal(state.phase, Phase.CONNECTING);
    assert.deepEqual(next.effects, [{ type: "join", delayMs: JOIN_RETRY_MS * i }]);
  }
  const gaveUp = run(state, timeout);
  assert.equal(gaveUp.state.phase, Phase.OVER);
  assert.equal(gaveUp.state.over.retry, true);
  assert.match(gaveUp.state.over.message, /did not answer/);
  assert.deepEqual(types(gaveUp.effects), ["stop_media"]);
  // An answer in between starts the count again.
  let counted = run(connecting(), timeout, timeout).state;
  assert.equal(counted.joinTries, 2);
  counted = run(counted, { type: "join_ack", ack: entry() }).state;
  assert.equal(counted.joinTries, 0);
  // A connection that is down is not asked on: its next connect joins.
  const offline = connecting();
  assert.equal(step(offline, { type: "join_ack", ack: { ok: false, error: { code: "offline" } } }).state, offline);
});

test("the roster: joined, updated (a new connection closes the old mesh link), left", () => {
  let { state, effects } = run(joinedAs(), { type: "participant_joined", participant: SAM });
  assert.deepEqual(state.participants.map((p) => p.user_id), ["fran", "robin", "sam"]);
  assert.deepEqual(effects, []);
  ({ state, effects } = run(state, { type: "participant_updated", participant: { ...SAM, peer_id: "peer-sam-2" } }));
  assert.deepEqual(effects, [{ type: "close_peer", peerId: "peer-sam" }]);
  ({ state, effects } = run(state, { type: "participant_updated", participant: { ...SAM, peer_id: "peer-sam-2",
    audio: false } }));
  assert.deepEqual(effects, [], "a change of microphone closes nothing");
  ({ state } = run(state, { type: "hands", queue: ["sam"] }, { type: "speakers", userIds: ["sam"] }));
  assert.equal(state.speaker, "sam");
  ({ state, effects } = run(state, { type: "participant_left", userId: "sam" }));
  assert.deepEqual(state.participants.map((p) => p.user_id), ["fran", "robin"]);
  assert.deepEqual(state.hands, []);
  assert.equal(state.speaker, null);
  assert.deepEqual(types(effects), ["close_peer", "member_left"]);
  // Our own departure is not ours to apply (the end of the visit comes as its own event).
  assert.equal(step(state, { type: "participant_left", userId: "fran" }).state, state);
});

test("arrivals in the lobby: a chime and an announcement for a facilitator, once per person", () => {
  const state = joinedAs();
  const one = run(state, { type: "lobby", waiting: [{ user_id: "sam", display_name: "Sam", since: 1 }] });
  assert.deepEqual(types(one.effects), ["chime", "announce"]);
  assert.deepEqual(said(one.effects), ["Sam is waiting to join."]);
  assert.equal(lobbyCount(one.state), 1);
  const two = run(one.state, { type: "lobby", waiting: [{ user_id: "sam", display_name: "Sam" },
    { user_id: "ana", display_name: "Ana" }, { user_id: "bo", display_name: "Bo" }] });
  assert.deepEqual(said(two.effects), ["Ana and Bo are waiting to join."]);
  const gone = run(two.state, { type: "lobby", waiting: [] });
  assert.deepEqual(gone.effects, []);
  assert.equal(lobbyCount(gone.state), 0);
  // A participant has no lobby to hear about.
  assert.equal(lobbyCount(run(joinedAs(ROBIN), { type: "lobby", waiting: [{ user_id: "x" }] }).state), 0);
});

test("the hand queue: places and announcements, one's own said as one's own", () => {
  let { state, effects } = run(joinedAs(ROBIN, [FRAN, ROBIN, SAM]), { type: "hands", queue: ["sam"] });
  assert.deepEqual(said(effects), ["Sam raised their hand."]);
  ({ state, effects } = run(state, { type: "hands", queue: ["sam", "robin"] }));
  assert.deepEqual(said(effects), ["Your hand is raised, 2nd in line."]);
  assert.equal(handRaised(state), true);
  assert.equal(handPlace(state, "robin"), 2);
  assert.equal(handPlace(state, "fran"), 0);
  ({ state, effects } = run(state, { type: "hands", queue: ["robin"] }));
  assert.deepEqual(said(effects), ["Sam lowered their hand."]);
  ({ effects } = run(state, { type: "hands", queue: [] }));
  assert.deepEqual(said(effects), ["Your hand is lowered."]);
});

test("a facilitator's mute: the local track goes off, and the selectors say who is held", () => {
  let state = joinedAs(ROBIN);
  const { effects } = run(state, { type: "muted", kind: "audio" });
  assert.deepEqual(effects, [{ type: "mute_local", kind: "audio" }]);
  assert.deepEqual(run(state, { type: "muted", kind: "screen" }).effects, []);
  ({ state } = run(state, { type: "participant_updated",
    participant: { ...ROBIN, audio: false, muted: { audio: true, video: false } } }));
  assert.equal(mutedByFacilitator(state, "audio"), true);
  assert.equal(mutedByFacilitator(state, "video"), false);
  assert.deepEqual(heldMembers(state), [{ user_id: "robin", audio: true, video: false }]);
  assert.equal(selfParticipant(state).audio, false);
});

test("settings, lock and the room's state after a store outage", () => {
  let { state } = run(joinedAs(), { type: "locked", locked: true },
    { type: "settings", data: { lobby_enabled: false, self_unmute_allowed: false } });
  assert.equal(state.locked, true);
  assert.equal(state.lobbyEnabled, false);
  assert.equal(state.selfUnmuteAllowed, false);
  const after = run(state, { type: "room_state", room: { participants: [FRAN], hands: [], locked: false } });
  assert.deepEqual(after.state.participants.map((p) => p.user_id), ["fran"]);
  assert.equal(after.state.locked, false);
  assert.deepEqual(types(after.effects), ["prune_peers"]);
});

test("screen share: allowed for facilitators always, participants when the group says; pinned on the stage", () => {
  assert.equal(canShareScreen(joinedAs()), true);
  const robin = joinedAs(ROBIN);
  assert.equal(canShareScreen(robin), false);
  const allowed = run(robin, { type: "settings", data: { screen_share_allowed: true } }).state;
  assert.equal(canShareScreen(allowed), true);
  assert.equal(canShareScreen(joinedAs(ROBIN, [FRAN, ROBIN], { screen_share_allowed: true })), true,
    "the entry payload's room carries it too");
  // The group stops allowing it while Robin shares: the share ends (the camera back as it was before the share).
  assert.deepEqual(run(allowed, { type: "settings", data: { screen_share_allowed: false } }).effects,
    [{ type: "screen_ended", keepOff: false }]);

  // Fran shares: announced to the others, pinned large whatever the layout.
  const sharing = run(allowed, { type: "participant_updated", participant: { ...FRAN, screen: true } });
  assert.deepEqual(said(sharing.effects), ["Fran is sharing their screen."]);
  assert.equal(screenSharer(sharing.state).user_id, "fran");
  assert.deepEqual(stageFocus(sharing.state), { layout: "speaker", userId: "fran", screen: true });
  // Our own share ended by the server (a facilitator turned our video off): the local share stops.
  const mine = run(allowed, { type: "participant_updated", participant: { ...ROBIN, screen: true } }).state;
  assert.deepEqual(run(mine, { type: "participant_updated", participant: { ...ROBIN, screen: false, video: false,
    muted: { audio: false, video: true } } }).effects, [{ type: "screen_ended", keepOff: true }],
  "a facilitator's video mute keeps the camera off");
  // Ended by the settings (the server's update has no mute): the camera comes back as it was.
  assert.deepEqual(run(mine, { type: "participant_updated", participant: { ...ROBIN, screen: false } }).effects,
    [{ type: "screen_ended", keepOff: false }]);
});

test("room:state checks our own record as an update does: a share the room no longer has ends", () => {
  const allowed = joinedAs(ROBIN, [FRAN, ROBIN], { screen_share_allowed: true });
  const mine = run(allowed, { type: "participant_updated", participant: { ...ROBIN, screen: true } }).state;
  const same = run(mine, { type: "room_state", room: { participants: [FRAN, { ...ROBIN, screen: true }] } });
  assert.deepEqual(types(same.effects), ["prune_peers"]);
  const ended = run(mine, { type: "room_state", room: { participants: [FRAN, { ...ROBIN, screen: false }] } });
  assert.deepEqual(ended.effects, [{ type: "prune_peers" }, { type: "screen_ended", keepOff: false }]);
  const disallowed = run(mine, { type: "room_state",
    room: { participants: [FRAN, { ...ROBIN, screen: true }], screen_share_allowed: false } });
  assert.equal(disallowed.state.screenShareAllowed, false);
  assert.deepEqual(types(disallowed.effects), ["prune_peers", "screen_ended"]);
  // A facilitator's share is not the group's to stop.
  const fran = run(joinedAs(FRAN, [FRAN, ROBIN], { screen_share_allowed: true }), { type: "room_state",
    room: { participants: [FRAN, ROBIN], screen_share_allowed: false } });
  assert.deepEqual(types(fran.effects), ["prune_peers"]);
});

test("the stage: grid by default; the speaker view follows who spoke last among the others", () => {
  let state = joinedAs(FRAN, [FRAN, ROBIN, SAM]);
  assert.deepEqual(stageFocus(state), { layout: "grid", userId: null, screen: false });
  ({ state } = run(state, { type: "layout", layout: "speaker" }));
  assert.deepEqual(stageFocus(state), { layout: "speaker", userId: "robin", screen: false }, "no one spoke yet");
  ({ state } = run(state, { type: "speakers", userIds: ["fran", "sam"] }));
  assert.equal(stageFocus(state).userId, "sam", "one's own voice does not take the stage");
  ({ state } = run(state, { type: "speakers", userIds: [] }));
  assert.equal(stageFocus(state).userId, "sam", "silence keeps the last speaker");
  assert.equal(step(state, { type: "layout", layout: "mosaic" }).state, state);
});

test("the side panel and unread chat: counted only while the chat is not shown", () => {
  let state = joinedAs(ROBIN);
  assert.equal(chatShown(state), true);
  const fromFran = { conversation: `room:${ROOM}`, seq: 1, sender_id: "fran", display_name: "Fran", body: "Hi" };
  assert.equal(step(state, { type: "chat_message", message: fromFran }).state.unread, 0);
  ({ state } = run(state, { type: "panel", open: false }));
  const arrived = run(state, { type: "chat_message", message: fromFran },
    { type: "chat_message", message: { ...fromFran, seq: 2 } },
    { type: "chat_message", message: { ...fromFran, seq: 3, sender_id: "robin" } });
  assert.equal(arrived.state.unread, 2, "one's own message is not unread");
  assert.deepEqual(said(arrived.effects), ["New message from Fran.", "New message from Fran."]);
  const people = run(arrived.state, { type: "panel", open: true, tab: "people" }).state;
  assert.equal(people.unread, 2, "the people tab does not show the chat");
  const read = run(people, { type: "panel", tab: "chat" }).state;
  assert.equal(read.unread, 0);
  assert.deepEqual(read.panel, { open: true, tab: "chat" });
  assert.equal(step(read, { type: "panel", tab: "files" }).state.panel.tab, "chat");
  assert.equal(initialState({ panelOpen: false }).panel.open, false);
});

test("messages the history brought after a reconnect count as unread while the chat is not shown", () => {
  const folded = run(joinedAs(ROBIN), { type: "panel", open: false }).state;
  const caught = [
    { seq: 4, sender_id: "fran", display_name: "Fran", body: "One" },
    { seq: 5, sender_id: "robin", display_name: "Robin", body: "Mine" },
    { seq: 6, sender_id: "fran", display_name: "Fran", body: null, deleted: true },
    { seq: 7, sender_id: "sam", display_name: "Sam", body: "Two" },
  ];
  const { state, effects } = run(folded, { type: "chat_caught_up", messages: caught });
  assert.equal(state.unread, 2, "not one's own, nor a deleted one");
  assert.deepEqual(said(effects), ["2 new messages in the chat."]);
  assert.deepEqual(run(folded, { type: "chat_caught_up", messages: caught.slice(0, 1) }).effects.map((e) => e.text),
    ["1 new message in the chat."]);
  assert.deepEqual(run(folded, { type: "chat_caught_up", messages: [caught[1]] }).effects, []);
  // Shown: read there, not counted.
  const open = joinedAs(ROBIN);
  assert.equal(step(open, { type: "chat_caught_up", messages: caught }).state, open);
});

test("names: from the roster, else the lobby, else Someone", () => {
  const state = run(joinedAs(), { type: "lobby", waiting: [{ user_id: "ana", display_name: "Ana" }] }).state;
  assert.equal(nameOf(state, "robin"), "Robin");
  assert.equal(nameOf(state, "ana"), "Ana");
  assert.equal(nameOf(state, "ghost"), "Someone");
});

test("gridShape: the column count that makes the tiles largest in the box", () => {
  assert.deepEqual(gridShape(1, 1200, 700), { cols: 1, rows: 1 });
  assert.deepEqual(gridShape(2, 1200, 700), { cols: 2, rows: 1 }, "side by side on a wide screen");
  assert.deepEqual(gridShape(2, 360, 500), { cols: 1, rows: 2 }, "one above the other on a phone");
  assert.deepEqual(gridShape(4, 1200, 700), { cols: 2, rows: 2 });
  assert.deepEqual(gridShape(6, 1200, 700), { cols: 3, rows: 2 });
  assert.deepEqual(gridShape(0, 1200, 700), { cols: 1, rows: 1 });
  assert.deepEqual(gridShape(5, 0, 0), { cols: 3, rows: 2 }, "before the box is measured: near square");
});
