// The facilitator console's check-ins and support signals, as a reducer of protocol events.
import { test } from "node:test";
import assert from "node:assert/strict";

import { INITIAL, badgeText, isFlagged, latestByUser, openSupport, ratingText, step } from "../src/program/checkins.js";

const ROBIN = "5b0c6f39-7a43-4d1b-9d35-0f2d3f0b6e11";
const SAM = "0b9d2f5e-8a66-4b4e-9d1a-3c7e2a1f4d22";
const ROOM = "7f3c1b2a-0000-4000-8000-000000000001";

function run(state, ...events) {
  const effects = [];
  for (const event of events) {
    const next = step(state, event);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const checkin = (id, userId, rating, at, extra = {}) => ({ type: "checkin", data: { room_id: ROOM, id, user_id: userId,
  display_name: userId === ROBIN ? "Robin" : "Sam", rating, note: null, at, ...extra } });

test("low ratings are flagged: the server's word first, else 1 or 2", () => {
  assert.equal(isFlagged({ rating: 1 }), true);
  assert.equal(isFlagged({ rating: 2 }), true);
  assert.equal(isFlagged({ rating: 3 }), false);
  assert.equal(isFlagged({ rating: 4, flagged: true }), true);
  assert.equal(isFlagged({ rating: "x" }), false);
  assert.equal(ratingText(2), "2 of 5 (Hard)");
  assert.equal(ratingText(9), "No rating");
});

test("a check-in is kept once, announced once, and the latest per person wins", () => {
  const { state, effects } = run(INITIAL,
    checkin("a", ROBIN, 4, "2025-03-04T17:55:00+00:00"),
    checkin("a", ROBIN, 4, "2025-03-04T17:55:00+00:00"),
    checkin("b", ROBIN, 2, "2025-03-04T17:58:00+00:00", { note: "rough day" }),
    checkin("c", SAM, 5, "2025-03-04T17:57:00+00:00"));
  assert.equal(state.checkins.length, 3);
  assert.deepEqual(effects.map((e) => e.type), ["announce", "announce", "announce"]);
  assert.equal(effects[1].text, "Robin checked in: 2 of 5 (Hard), flagged.");
  const latest = latestByUser(state);
  assert.equal(latest.get(ROBIN).rating, 2);
  assert.equal(latest.get(ROBIN).flagged, true);
  assert.equal(latest.get(ROBIN).note, "rough day");
  assert.equal(latest.get(SAM).flagged, false);
});

test("malformed check-ins are ignored", () => {
  const { state } = run(INITIAL, { type: "checkin", data: null }, checkin("z", ROBIN, 0, "t"),
    checkin("y", ROBIN, 6, "t"), { type: "checkin", data: { rating: 3 } });
  assert.equal(state.checkins.length, 0);
});

test("seeded check-ins merge with live ones without an announcement", () => {
  const { state, effects } = run(INITIAL,
    { type: "seed_checkins", list: [{ id: "a", user_id: ROBIN, rating: 1, at: "2025-03-04T17:00:00+00:00" }] },
    checkin("a", ROBIN, 1, "2025-03-04T17:00:00+00:00"));
  assert.equal(state.checkins.length, 1);
  assert.equal(state.checkins[0].flagged, true);
  assert.equal(effects.length, 0);
});

test("a support request chimes, counts in the badge, and an acknowledgement clears it", () => {
  const request = { type: "support_requested", data: { room_id: ROOM, id: "s1", user_id: ROBIN,
    display_name: "Robin", note: null, at: "2025-03-04T18:10:00+00:00" } };
  let { state, effects } = run(INITIAL, request, request);
  assert.deepEqual(effects.map((e) => e.type), ["chime", "announce"]);
  assert.equal(effects[1].text, "Robin asked for support.");
  assert.equal(openSupport(state).length, 1);
  assert.equal(badgeText(state), "1 open");
  ({ state, effects } = run(state, { type: "support_acknowledged", data: { room_id: ROOM, id: "s1", by: SAM } }));
  assert.equal(openSupport(state).length, 0);
  assert.equal(badgeText(state), "");
  assert.equal(state.support[0].acknowledged, true);
  ({ state, effects } = run(state, { type: "support_acknowledged", data: { room_id: ROOM, id: "s1", by: SAM } }));
  assert.equal(effects.length, 0);
});

test("seeded open support requests chime once; acknowledged ones do not", () => {
  const { effects, state } = run(INITIAL,
    { type: "seed_support", list: [{ id: "s1", user_id: ROBIN, at: "t1", acknowledged_at: "t2" }] },
    { type: "seed_support", list: [{ id: "s2", user_id: SAM, at: "t3" }, { id: "s1", user_id: ROBIN }] });
  assert.deepEqual(effects.map((e) => e.type), ["chime"]);
  assert.equal(state.support.length, 2);
  assert.deepEqual(openSupport(state).map((s) => s.id), ["s2"]);
});
