// Check-in sharing in words, and a mentee's history as a mentor reads it.
import { test } from "node:test";
import assert from "node:assert/strict";

import { checkinHistory, menteesOf, sharingDoneText, sharingLabel } from "../src/program/sharing.js";

test("the switch and its confirmation name the mentor", () => {
  assert.equal(sharingLabel({ mentor_id: "m", display_name: "Morgan" }), "Let Morgan see my check-ins");
  assert.equal(sharingDoneText({ display_name: "Morgan" }, true), "Morgan can now see your check-ins.");
  assert.equal(sharingDoneText({ display_name: "Morgan" }, false), "Morgan can no longer see your check-ins.");
  assert.equal(sharingLabel({}), "Let your mentor see my check-ins");
});

test("menteesOf keeps the mentees among the contacts, by name", () => {
  const contacts = [
    { user_id: "3", display_name: "Sam", relationship: "mentee" },
    { user_id: "1", display_name: "Morgan", relationship: "mentor" },
    { user_id: "2", display_name: "Alex", relationship: "mentee" },
    null,
  ];
  assert.deepEqual(menteesOf(contacts).map((c) => c.user_id), ["2", "3"]);
  assert.deepEqual(menteesOf(undefined), []);
});

test("a 403 reads 'Not shared with you' with the server's reason; other refusals their message", () => {
  assert.deepEqual(checkinHistory({ error: { status: 403, message: "Your mentee has not shared their check-ins with you." } }),
    { kind: "not_shared", text: "Not shared with you", detail: "Your mentee has not shared their check-ins with you." });
  assert.deepEqual(checkinHistory({ error: { status: 0, message: "Could not reach Haven." } }),
    { kind: "error", text: "Could not reach Haven." });
});

test("the history is newest first, rated in words, low ratings flagged, notes kept", () => {
  const opts = { now: new Date("2025-03-04T20:00:00Z"), locale: "en-US", timeZone: "UTC" };
  const history = checkinHistory({ data: { checkins: [
    { id: "a", group_id: "g", rating: 4, note: null, at: "2025-03-01T18:00:00+00:00" },
    { id: "b", group_id: "g", rating: 2, note: "Rough week", flagged: true, at: "2025-03-04T18:00:00+00:00" },
  ] } }, opts);
  assert.equal(history.kind, "list");
  assert.deepEqual(history.items, [
    { id: "b", when: "today at 6:00 PM", rating: "2 of 5 (Hard)", flagged: true, note: "Rough week" },
    { id: "a", when: "Saturday, March 1 at 6:00 PM", rating: "4 of 5 (Good)", flagged: false, note: null },
  ]);
  assert.equal(checkinHistory({ data: { checkins: [] } }).kind, "empty");
});
