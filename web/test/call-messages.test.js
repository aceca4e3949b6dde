// What the call screens say: statuses, the line under the call, why it ended, and the recent calls.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  callStatusText, describeCall, durationText, endedText, noteText, relationshipLabel, statusLabel,
} from "../src/calls/messages.js";
import { IDLE, Phase } from "../src/calls/state.js";

const SAM = { user_id: "u-sam", display_name: "Sam" };
const call = (fields) => ({ ...IDLE, callId: "c1", other: SAM, ...fields });

test("statuses and relationships in words", () => {
  assert.equal(statusLabel("online"), "Online");
  assert.equal(statusLabel("in_call"), "In a call");
  assert.equal(statusLabel("offline"), "Offline");
  assert.equal(statusLabel("something-new"), "Offline");
  assert.equal(relationshipLabel("mentor"), "Your mentor");
  assert.equal(relationshipLabel("mentee"), "Your mentee");
});

test("the line under the call follows it", () => {
  assert.equal(callStatusText(call({ phase: Phase.CALLING, callId: null })), "Placing the call…");
  assert.equal(callStatusText(call({ phase: Phase.CALLING })), "Calling Sam…");
  assert.equal(callStatusText(call({ phase: Phase.RINGING })), "Sam is calling you.");
  assert.equal(callStatusText(call({ phase: Phase.ANSWERED, link: "connecting" })), "Connecting…");
  assert.equal(callStatusText(call({ phase: Phase.ANSWERED, link: "connected" })), "You are in a call with Sam.");
  assert.match(callStatusText(call({ phase: Phase.ANSWERED, link: "trouble" })), /Trying to reconnect/);
  assert.match(callStatusText(call({ phase: Phase.ANSWERED, link: "lost" })), /hang up and call again/);
  assert.equal(callStatusText(call({ phase: Phase.ANSWERED, link: "connected", away: "self" })),
    "Your connection dropped. Reconnecting…");
  assert.equal(callStatusText(call({ phase: Phase.ANSWERED, link: "connected", away: "other" })),
    "Sam's connection dropped. Waiting for them to come back…");
});

test("every end reason is said plainly, to the side that hears it", () => {
  const ended = (fields) => endedText(call({ phase: Phase.ENDED, ...fields }));
  assert.equal(ended({ reason: "hangup", bySelf: true, role: "caller" }), "You ended the call.");
  assert.equal(ended({ reason: "hangup", role: "callee" }), "Sam ended the call.");
  assert.equal(ended({ reason: "declined", role: "caller" }), "Sam can't take a call right now. You could try again later.");
  assert.equal(ended({ reason: "declined", bySelf: true, role: "callee" }), "You declined the call.");
  assert.equal(ended({ reason: "cancelled", role: "callee" }), "Sam stopped calling before you answered.");
  assert.equal(ended({ reason: "cancelled", bySelf: true, role: "caller" }), "You stopped the call.");
  assert.equal(ended({ reason: "missed", role: "caller" }), "Sam didn't answer this time. You could try again later.");
  assert.equal(ended({ reason: "missed", role: "callee" }), "You missed a call from Sam.");
  assert.match(ended({ reason: "busy", role: "caller" }), /^Sam is busy right now/);
  assert.equal(ended({ reason: "connection_lost" }), "The call ended because the connection was lost.");
  assert.equal(ended({ reason: "not_placed", message: "You are already in a call; end it first." }),
    "You are already in a call; end it first.");
  assert.equal(ended({ reason: "something-new" }), "The call has ended.");
  assert.equal(endedText(call({ phase: Phase.ENDED, reason: "hangup", other: null })), "The other person ended the call.");
});

test("a call answered on another device is noted, not treated as an end", () => {
  assert.equal(noteText({ ...IDLE, note: "answered_elsewhere" }), "You answered the call on another device.");
  assert.equal(noteText(IDLE), "");
});

test("durations", () => {
  assert.equal(durationText(null), "Under a minute");
  assert.equal(durationText(59), "Under a minute");
  assert.equal(durationText(60), "1 minute");
  assert.equal(durationText(61 * 60), "1 hour 1 minute");
  assert.equal(durationText(2 * 3600 + 1), "2 hours");
  assert.equal(durationText(25 * 60), "25 minutes");
});

test("recent calls say who called whom and how it went", () => {
  const names = (id) => (id === "u-sam" ? "Sam" : null);
  const base = { id: "c", invited_at: "2026-12-01T06:39:39.826252", answered_at: null, ended_at: null };
  assert.deepEqual(describeCall({ ...base, caller_id: "me", callee_id: "u-sam", outcome: "hangup",
    answered_at: "x", duration_seconds: 600 }, "me", names),
  { who: "Sam", direction: "You called Sam", detail: "10 minutes" });
  assert.deepEqual(describeCall({ ...base, caller_id: "u-sam", callee_id: "me", outcome: "missed" }, "me", names),
    { who: "Sam", direction: "Sam called you", detail: "Missed" });
  assert.equal(describeCall({ ...base, caller_id: "u-sam", callee_id: "me", outcome: "cancelled" }, "me", names).detail,
    "Missed");
  assert.equal(describeCall({ ...base, caller_id: "me", callee_id: "u-sam", outcome: "declined" }, "me", names).detail,
    "Declined");
  assert.equal(describeCall({ ...base, caller_id: "me", callee_id: "u-gone", outcome: null }, "me", names).direction,
    "You called Someone");
  assert.equal(describeCall({ ...base, caller_id: "me", callee_id: "u-sam", outcome: null }, "me", names).detail,
    "In progress");
});
