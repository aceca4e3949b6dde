// Missed calls without a browser: which records count, what is remembered once seen, and the live count.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  createMissedCalls, firstSeen, isMissedFor, missedIds, readSeen, SEEN_PREFIX, seenNow,
} from "../src/calls/missed.js";

const ME = "u-me";
const record = (id, fields) => ({ id, caller_id: "u-sam", callee_id: ME, outcome: "missed", answered_at: null,
  invited_at: "2030-01-01T10:00:00Z", ...fields });

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), data };
}

test("a missed call is one to me that nobody answered", () => {
  assert.equal(isMissedFor(record("a"), ME), true);
  assert.equal(isMissedFor(record("a", { outcome: "cancelled" }), ME), true);
  assert.equal(isMissedFor(record("a", { outcome: "declined" }), ME), false);
  assert.equal(isMissedFor(record("a", { outcome: "hangup", answered_at: "2030-01-01T10:00:05Z" }), ME), false);
  assert.equal(isMissedFor(record("a", { outcome: null }), ME), false);
  assert.equal(isMissedFor(record("a", { callee_id: "u-sam", caller_id: ME }), ME), false);
});

test("without anything seen, every missed record counts; live ones come first", () => {
  const records = [record("b", { invited_at: "2030-01-01T11:00:00Z" }), record("a"), record("c", { outcome: "busy" })];
  assert.deepEqual(missedIds({ records, live: ["z"], seen: null, selfId: ME }), ["z", "b", "a"]);
  assert.deepEqual(missedIds({ records, live: ["b"], seen: null, selfId: ME }), ["b", "a"]);
});

test("once seen, only newer records and unseen live calls count", () => {
  const old = [record("a"), record("b", { invited_at: "2030-01-01T11:00:00Z" })];
  const seen = seenNow({ records: old, live: ["live-1"], seen: null, selfId: ME });
  assert.equal(seen.at, "2030-01-01T11:00:00Z");
  assert.deepEqual(seen.ids.sort(), ["a", "b", "live-1"]);
  // The live call's record arrives later with a newer time: it was already seen.
  const later = [record("live-1", { invited_at: "2030-01-01T12:00:00Z" }),
    record("new", { invited_at: "2030-01-01T12:30:00Z" }), ...old];
  assert.deepEqual(missedIds({ records: later, live: [], seen, selfId: ME }), ["new"]);
  assert.deepEqual(missedIds({ records: later, live: ["live-2", "live-1"], seen, selfId: ME }), ["live-2", "new"]);
});

test("a browser that remembers nothing starts from the newest record, but counts what rang out in the tab", () => {
  const records = [record("live-1", { invited_at: "2030-01-01T12:00:00Z" }), record("b",
    { invited_at: "2030-01-01T11:00:00Z" }), record("a")];
  const seen = firstSeen({ records, live: ["live-1"], selfId: ME });
  assert.equal(seen.at, "2030-01-01T11:00:00Z");
  assert.deepEqual(seen.ids.sort(), ["a", "b"]);
  assert.deepEqual(missedIds({ records, live: ["live-1"], seen, selfId: ME }), ["live-1"]);
  assert.deepEqual(firstSeen({ records: [], selfId: ME }), { at: null, ids: [] });
});

test("a new browser does not count old history; a call missed later counts", async () => {
  const storage = memoryStorage();
  let calls = [record("old-1"), record("old-2", { invited_at: "2030-01-01T09:00:00Z" })];
  const missed = createMissedCalls({ load: async () => ({ calls }), storage, onChange: () => {} });
  await missed.start(ME);
  assert.equal(missed.count, 0);
  assert.equal(readSeen(storage, ME).at, "2030-01-01T10:00:00Z");
  calls = [record("new", { invited_at: "2030-01-01T10:30:00Z" }), ...calls];
  await missed.refresh();
  assert.deepEqual(missed.ids, ["new"]);
});

test("what another tab marks seen clears the count here", async () => {
  const storage = memoryStorage({ [SEEN_PREFIX + ME]: JSON.stringify({ at: "2029-12-31T00:00:00Z", ids: [] }) });
  const calls = [record("a")];
  const here = createMissedCalls({ load: async () => ({ calls }), storage, onChange: () => {} });
  const there = createMissedCalls({ load: async () => ({ calls }), storage, onChange: () => {} });
  await here.start(ME);
  await there.start(ME);
  here.addLive("live-1");
  there.addLive("live-1");
  assert.equal(here.count, 2);
  there.markSeen();
  assert.equal(there.count, 0);
  here.storageChanged(SEEN_PREFIX + "someone-else"); // not this person's memory
  assert.equal(here.count, 2);
  here.storageChanged(SEEN_PREFIX + ME);
  assert.equal(here.count, 0);
});

test("the tracker counts, marks seen per person and survives a broken load", async () => {
  // This browser looked before the first record.
  const storage = memoryStorage({ [SEEN_PREFIX + ME]: JSON.stringify({ at: "2029-12-31T00:00:00Z", ids: [] }) });
  const counts = [];
  let calls = [record("a")];
  let fail = false;
  const missed = createMissedCalls({
    load: async () => {
      if (fail) throw new Error("offline");
      return { calls };
    },
    storage,
    onChange: (n) => counts.push(n),
  });
  await missed.start(ME);
  assert.equal(missed.count, 1);
  missed.addLive("live-1");
  missed.addLive("live-1");
  assert.deepEqual(missed.ids, ["live-1", "a"]);
  missed.markSeen();
  assert.equal(missed.count, 0);
  assert.ok(storage.data.has(SEEN_PREFIX + ME));
  assert.deepEqual(readSeen(storage, ME).ids.sort(), ["a", "live-1"]);

  calls = [record("b", { invited_at: "2030-01-02T10:00:00Z" }), record("a")];
  fail = true;
  await missed.refresh();
  assert.equal(missed.count, 0);
  fail = false;
  await missed.refresh();
  assert.deepEqual(missed.ids, ["b"]);
  assert.deepEqual(counts, [1, 2, 0, 1]);

  // Another person on the same browser starts from their own memory.
  await missed.start("u-other");
  assert.equal(missed.count, 0);
  missed.stop();
  assert.equal(missed.count, 0);
  assert.equal(readSeen(storage, "nobody"), null);
});
