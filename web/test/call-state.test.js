// The call state as this device sees it: every step, and the effects it asks for.
import { test } from "node:test";
import assert from "node:assert/strict";

import { IDLE, Phase, isUp, mediaOf, step } from "../src/calls/state.js";

const SAM = { user_id: "5b0c6f39-7a43-4d1b-9d35-0f2d3f0b6e11", display_name: "Sam" };
const CALL = "0b9d2f5e-8a66-4b4e-9d1a-3c7e2a1f4d22";
const MEDIA = { mode: "p2p", ice_servers: [{ urls: ["turn:turn.example.org"], username: "u", credential: "c" }],
  ice_transport_policy: "relay" };

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

const types = (effects) => effects.map((e) => (e.type === "emit" ? `emit ${e.event}` : e.type));

function calling() {
  return run(IDLE, { type: "dial", contact: SAM },
    { type: "invite_ack", ack: { ok: true, call_id: CALL, state: "ringing", media: MEDIA } }).state;
}

function ringing() {
  return run(IDLE, { type: "incoming", data: { call_id: CALL, from: SAM, ring_seconds: 45 } }).state;
}

function answeredAsCaller() {
  return run(calling(), { type: "accepted", data: { call_id: CALL, peer_id: "callee-1", answered_by: "callee-1" },
    selfPeer: "caller-1" }).state;
}

function answeredAsCallee() {
  return run(ringing(), { type: "accept" },
    { type: "accept_ack", ack: { ok: true, call_id: CALL, peer_id: "caller-1", media: MEDIA } }).state;
}

test("dialling opens the camera and sends the invite", () => {
  const { state, effects } = run(IDLE, { type: "dial", contact: SAM });
  assert.equal(state.phase, Phase.CALLING);
  assert.equal(state.role, "caller");
  assert.deepEqual(state.other, SAM);
  assert.equal(state.callId, null);
  assert.deepEqual(types(effects), ["open_media", "emit call:invite"]);
  assert.deepEqual(effects[1].payload, { user_id: SAM.user_id });
  assert.equal(effects[1].ack, "invite_ack");
  assert.ok(isUp(state));
});

test("the invite's acknowledgement gives the call id and the media settings", () => {
  const state = calling();
  assert.equal(state.callId, CALL);
  assert.deepEqual(state.media, { iceServers: MEDIA.ice_servers, iceTransportPolicy: "relay" });
});

test("a busy callee ends the call at once, without an error", () => {
  const { state, effects } = run(IDLE, { type: "dial", contact: SAM },
    { type: "invite_ack", ack: { ok: true, call_id: CALL, state: "ended", reason: "busy", media: MEDIA } });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "busy");
  assert.ok(types(effects).includes("stop_media"));
  // The call:ended that follows changes nothing.
  assert.equal(step(state, { type: "ended", data: { call_id: CALL, reason: "busy" } }).state, state);
});

test("a refused invite keeps the server's sentence", () => {
  const { state } = run(IDLE, { type: "dial", contact: SAM }, { type: "invite_ack",
    ack: { ok: false, error: { code: "conflict", message: "You are already in a call; end it first." } } });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "not_placed");
  assert.equal(state.message, "You are already in a call; end it first.");
});

test("the caller offers when the call is accepted", () => {
  const { state, effects } = run(calling(), { type: "accepted",
    data: { call_id: CALL, peer_id: "callee-1", answered_by: "callee-1" }, selfPeer: "caller-1" });
  assert.equal(state.phase, Phase.ANSWERED);
  assert.equal(state.remotePeer, "callee-1");
  assert.equal(state.link, "connecting");
  assert.deepEqual(effects.find((e) => e.type === "peer"), { type: "peer", offer: true });
  assert.ok(types(effects).includes("remember"));
});

test("events of another call are ignored", () => {
  const state = calling();
  for (const type of ["accepted", "ended", "reconnecting", "resumed"]) {
    const next = step(state, { type, data: { call_id: "another", peer_id: "x", answered_by: "x", reason: "hangup",
      user_id: SAM.user_id }, selfPeer: "caller-1" });
    assert.equal(next.state, state, type);
    assert.deepEqual(next.effects, [], type);
  }
});

test("an incoming call rings; accepting opens the camera and answers, then waits for the offer", () => {
  const state = ringing();
  assert.equal(state.phase, Phase.RINGING);
  assert.equal(state.role, "callee");
  assert.equal(state.ringSeconds, 45);
  assert.ok(!isUp(state), "ringing does not take the screen");

  const accepting = run(state, { type: "accept" });
  assert.equal(accepting.state.answering, true);
  assert.deepEqual(types(accepting.effects), ["open_media", "emit call:accept"]);
  assert.deepEqual(accepting.effects[1].payload, { call_id: CALL });
  // A second click does nothing.
  assert.deepEqual(step(accepting.state, { type: "accept" }).effects, []);

  const { state: answered, effects } = run(accepting.state,
    { type: "accept_ack", ack: { ok: true, call_id: CALL, peer_id: "caller-1", media: MEDIA } });
  assert.equal(answered.phase, Phase.ANSWERED);
  assert.equal(answered.remotePeer, "caller-1");
  assert.deepEqual(effects.find((e) => e.type === "peer"), { type: "peer", offer: false });
});

test("the call:accepted of our own answer does not move us before its acknowledgement", () => {
  const accepting = run(ringing(), { type: "accept" }).state;
  const next = step(accepting, { type: "accepted", data: { call_id: CALL, peer_id: "caller-1",
    answered_by: "me-1" }, selfPeer: "me-1" });
  assert.equal(next.state, accepting);
});

test("another device answering stops the ringing here", () => {
  const { state, effects } = run(ringing(), { type: "accepted",
    data: { call_id: CALL, peer_id: "caller-1", answered_by: "other-device" }, selfPeer: "me-1" });
  assert.equal(state.phase, Phase.IDLE);
  assert.equal(state.note, "answered_elsewhere");
  assert.deepEqual(types(effects), ["stop_media"]);
  assert.equal(step(state, { type: "dismiss" }).state, IDLE);
});

test("the same call:incoming sent again after reconnecting changes nothing", () => {
  const state = ringing();
  assert.equal(step(state, { type: "incoming", data: { call_id: CALL, from: SAM } }).state, state);
});

test("a call to a device already in a call does not ring it", () => {
  const state = answeredAsCaller();
  const next = step(state, { type: "incoming", data: { call_id: "another", from: SAM } });
  assert.equal(next.state, state);
});

test("declining ends the ringing and tells the server", () => {
  const { state, effects } = run(ringing(), { type: "decline" });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "declined");
  assert.equal(state.bySelf, true);
  assert.deepEqual(types(effects).slice(0, 1), ["emit call:decline"]);
});

test("ringing that ends (cancelled, missed) shows why", () => {
  for (const reason of ["cancelled", "missed", "connection_lost"]) {
    const { state, effects } = run(ringing(), { type: "ended", data: { call_id: CALL, reason } });
    assert.equal(state.phase, Phase.ENDED);
    assert.equal(state.reason, reason);
    assert.equal(state.bySelf, false);
    assert.deepEqual(types(effects), ["close_peer", "stop_media", "forget"]);
  }
});

test("hanging up ends the call here at once; the server's call:ended is then ignored", () => {
  const { state, effects } = run(answeredAsCaller(), { type: "hangup" });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "hangup");
  assert.equal(state.bySelf, true);
  assert.deepEqual(types(effects), ["emit call:hangup", "close_peer", "stop_media", "forget"]);
  assert.equal(step(state, { type: "ended", data: { call_id: CALL, reason: "hangup" } }).state, state);
});

test("hang up while calling cancels, and while ringing declines", () => {
  assert.deepEqual(types(run(calling(), { type: "hangup" }).effects)[0], "emit call:cancel");
  assert.deepEqual(types(run(ringing(), { type: "hangup" }).effects)[0], "emit call:decline");
});

test("cancelling before the invite is acknowledged cancels the call once it has an id", () => {
  const dialled = run(IDLE, { type: "dial", contact: SAM }).state;
  const cancelled = run(dialled, { type: "cancel" });
  assert.equal(cancelled.state.phase, Phase.ENDED);
  assert.ok(!types(cancelled.effects).includes("emit call:cancel"));
  const late = step(cancelled.state, { type: "invite_ack", ack: { ok: true, call_id: CALL, state: "ringing" } });
  assert.equal(late.state, cancelled.state);
  assert.deepEqual(late.effects, [{ type: "emit", event: "call:cancel", payload: { call_id: CALL }, ack: null }]);
});

test("the other side hanging up ends the call with their reason", () => {
  const { state } = run(answeredAsCallee(), { type: "ended", data: { call_id: CALL, reason: "hangup" } });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.bySelf, false);
});

test("the media link's state is kept for the status line", () => {
  const { state } = run(answeredAsCaller(), { type: "link", link: "connected" });
  assert.equal(state.link, "connected");
  assert.equal(step(state, { type: "link", link: "connected" }).state, state);
});

test("the other side dropping and coming back: the caller offers on a new connection", () => {
  let { state } = run(answeredAsCaller(), { type: "reconnecting", data: { call_id: CALL, user_id: SAM.user_id } });
  assert.equal(state.away, "other");
  const back = run(state, { type: "resumed", data: { call_id: CALL, user_id: SAM.user_id, peer_id: "callee-2" } });
  state = back.state;
  assert.equal(state.away, null);
  assert.equal(state.remotePeer, "callee-2");
  assert.deepEqual(back.effects, [{ type: "peer", offer: true }]);
});

test("the caller coming back: the callee makes a new connection and waits for the offer", () => {
  const { state, effects } = run(answeredAsCallee(),
    { type: "reconnecting", data: { call_id: CALL, user_id: SAM.user_id } },
    { type: "resumed", data: { call_id: CALL, user_id: SAM.user_id, peer_id: "caller-2" } });
  assert.equal(state.remotePeer, "caller-2");
  assert.deepEqual(effects, [{ type: "peer", offer: false }]);
});

test("our own reconnecting and resumed events (seen by this person's devices) are not about the other side", () => {
  const state = answeredAsCaller();
  const self = { call_id: CALL, user_id: "me", peer_id: "caller-2" };
  assert.equal(step(state, { type: "reconnecting", data: self }).state, state);
  assert.equal(step(state, { type: "resumed", data: self }).state, state);
});

test("our connection dropping in a call: resume when back, then the caller offers afresh", () => {
  let { state, effects } = run(answeredAsCaller(), { type: "connection_lost" });
  assert.equal(state.phase, Phase.ANSWERED);
  assert.equal(state.away, "self");
  assert.deepEqual(effects, []);

  ({ state, effects } = run(state, { type: "connection_back" }));
  assert.deepEqual(effects, [{ type: "emit", event: "call:resume", payload: { call_id: CALL }, ack: "resume_ack" }]);

  ({ state, effects } = run(state, { type: "resume_ack",
    ack: { ok: true, call_id: CALL, role: "caller", peer_id: "callee-1", media: MEDIA } }));
  assert.equal(state.away, null);
  assert.equal(state.remotePeer, "callee-1");
  assert.deepEqual(effects, [{ type: "open_media" }, { type: "peer", offer: true }]);
});

test("the callee resuming waits for the caller's new offer", () => {
  const { effects } = run(answeredAsCallee(), { type: "connection_lost" }, { type: "connection_back" },
    { type: "resume_ack", ack: { ok: true, call_id: CALL, role: "callee", peer_id: "caller-1", media: MEDIA } });
  assert.deepEqual(effects.at(-1), { type: "peer", offer: false });
});

test("a refused resume ends the call as lost; an offline one waits for the next connect", () => {
  const away = run(answeredAsCaller(), { type: "connection_lost" }).state;
  const offline = step(away, { type: "resume_ack", ack: { ok: false, error: { code: "offline" } } });
  assert.equal(offline.state, away);
  const refused = run(away, { type: "resume_ack", ack: { ok: false, error: { code: "conflict", message: "x" } } });
  assert.equal(refused.state.phase, Phase.ENDED);
  assert.equal(refused.state.reason, "connection_lost");
});

test("away too long ends the call here", () => {
  const { state } = run(answeredAsCaller(), { type: "connection_lost" }, { type: "away_too_long" });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "connection_lost");
});

test("losing the connection while calling ends the call; while ringing, the prompt goes until it rings again", () => {
  assert.equal(run(calling(), { type: "connection_lost" }).state.reason, "connection_lost");
  const { state } = run(ringing(), { type: "connection_lost" });
  assert.equal(state.phase, Phase.IDLE);
  assert.equal(run(state, { type: "incoming", data: { call_id: CALL, from: SAM } }).state.phase, Phase.RINGING);
});

test("after a reload a saved call resumes on the first connect", () => {
  const { state, effects } = run(IDLE,
    { type: "restore", call: { call_id: CALL, role: "callee", other: SAM } }, { type: "connection_back" });
  assert.equal(state.phase, Phase.ANSWERED);
  assert.equal(state.role, "callee");
  assert.equal(state.away, "self");
  assert.equal(effects[0].event, "call:resume");
});

test("a new call can be placed once the last one ended", () => {
  const ended = run(answeredAsCaller(), { type: "hangup" }).state;
  assert.equal(run(ended, { type: "dial", contact: SAM }).state.phase, Phase.CALLING);
  assert.deepEqual(run(calling(), { type: "dial", contact: SAM }).effects, [], "not while one is going on");
});

test("media settings default to no servers and direct connections", () => {
  assert.deepEqual(mediaOf({}), { iceServers: [], iceTransportPolicy: "all" });
  assert.deepEqual(mediaOf({ media: { ice_servers: "x", ice_transport_policy: "nope" } }),
    { iceServers: [], iceTransportPolicy: "all" });
});

const TIMEOUT = { ok: false, error: { code: "timeout", message: "Haven did not answer in time. Please try again." } };
const OTHER_CALL = "7c1e9a44-2b5d-4f0e-8e3a-9d6b1c2f3e44";

test("an answer that timed out may have answered the call: it is hung up, not left open", () => {
  const { state, effects } = run(ringing(), { type: "accept" }, { type: "accept_ack", ack: TIMEOUT });
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.reason, "not_answered");
  const hangup = effects.find((e) => e.type === "emit" && e.event === "call:hangup");
  assert.deepEqual(hangup?.payload, { call_id: CALL });
  // A plain refusal (the call had ended) sends nothing more.
  const refused = run(ringing(), { type: "accept" },
    { type: "accept_ack", ack: { ok: false, error: { code: "conflict", message: "over" } } });
  assert.ok(!types(refused.effects).includes("emit call:hangup"));
});

test("an invite that timed out is hung up if it is answered later", () => {
  const timedOut = run(IDLE, { type: "dial", contact: SAM }, { type: "invite_ack", ack: TIMEOUT }).state;
  assert.equal(timedOut.phase, Phase.ENDED);
  assert.equal(timedOut.reason, "not_placed");
  assert.equal(timedOut.strayInvite, true);
  // Dismissing the note, or calling again (refused: our line is busy with the stray call), keeps it in mind.
  const later = run(timedOut, { type: "dismiss" }, { type: "dial", contact: SAM }, { type: "invite_ack",
    ack: { ok: false, error: { code: "conflict", message: "You are already in a call; end it first." } } }).state;
  assert.equal(later.strayInvite, true);
  const { state, effects } = run(later, { type: "accepted",
    data: { call_id: OTHER_CALL, peer_id: "callee-1", answered_by: "callee-1" }, selfPeer: "caller-1" });
  assert.deepEqual(effects, [{ type: "emit", event: "call:hangup", payload: { call_id: OTHER_CALL }, ack: null }]);
  assert.equal(state.strayInvite, false);
  assert.equal(state.phase, Phase.ENDED);
  // Only once; and without a timed-out invite, another call of this person (another device's) is left alone.
  const again = step(state, { type: "accepted", data: { call_id: "x", peer_id: "p", answered_by: "p" } });
  assert.deepEqual(again.effects, []);
  // A call to this person answered on another of their devices (the caller's peer id differs from the answerer's)
  // is not ours to end, stray invite or not.
  assert.deepEqual(step(later, { type: "accepted",
    data: { call_id: OTHER_CALL, peer_id: "caller-9", answered_by: "my-phone" } }).effects, []);
  assert.deepEqual(step(IDLE, { type: "accepted", data: { call_id: "x", peer_id: "p", answered_by: "p" } }).effects,
    []);
});

test("an invite cancelled before its timed-out acknowledgement is kept in mind too", () => {
  const cancelled = run(IDLE, { type: "dial", contact: SAM }, { type: "cancel" }).state;
  assert.equal(step(cancelled, { type: "invite_ack", ack: TIMEOUT }).state.strayInvite, true);
});

test("a stray invite is forgotten after a while, or when our connection drops", () => {
  const timedOut = run(IDLE, { type: "dial", contact: SAM }, { type: "invite_ack", ack: TIMEOUT }).state;
  assert.equal(step(timedOut, { type: "stray_over" }).state.strayInvite, false);
  assert.equal(step(timedOut, { type: "connection_lost" }).state.strayInvite, false);
  const { effects } = run(timedOut, { type: "stray_over" },
    { type: "accepted", data: { call_id: OTHER_CALL, peer_id: "p", answered_by: "p" } });
  assert.deepEqual(effects, []);
});

test("a ring whose call:ended never comes stops after its time, as missed", () => {
  const state = ringing();
  assert.equal(state.ringSeconds, 45);
  assert.equal(step(state, { type: "ring_over", callId: OTHER_CALL }).state, state, "another call's timer");
  const { state: over, effects } = run(state, { type: "ring_over", callId: CALL });
  assert.equal(over.phase, Phase.ENDED);
  assert.equal(over.reason, "missed");
  assert.ok(types(effects).includes("stop_media"));
  // Not while our answer is on its way, nor once answered.
  const answering = run(state, { type: "accept" }).state;
  assert.equal(step(answering, { type: "ring_over", callId: CALL }).state, answering);
  const answered = answeredAsCallee();
  assert.equal(step(answered, { type: "ring_over", callId: CALL }).state, answered);
});
