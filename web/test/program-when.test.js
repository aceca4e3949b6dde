// Program times in the reader's zone: pinned to en-GB and explicit zones here.
import { test } from "node:test";
import assert from "node:assert/strict";

import { formatSpan, formatWhen, isoUtc, localMoment, opensMessage, upcoming, weekOf } from "../src/program/when.js";

const UK = { locale: "en-GB", timeZone: "Europe/London" };
const NOW = new Date("2025-03-04T12:00:00Z"); // a Tuesday

test("formatWhen says today and tomorrow, else the day", () => {
  assert.equal(formatWhen("2025-03-04T18:00:00+00:00", { ...UK, now: NOW }), "today at 18:00");
  assert.equal(formatWhen("2025-03-05T08:30:00+00:00", { ...UK, now: NOW }), "tomorrow at 8:30");
  assert.equal(formatWhen("2025-03-07T18:00:00+00:00", { ...UK, now: NOW }), "Friday 7 March at 18:00");
  assert.equal(formatWhen("not a time", { ...UK, now: NOW }), "");
});

test("formatWhen uses the reader's zone, not UTC", () => {
  const ny = { locale: "en-GB", timeZone: "America/New_York", now: NOW };
  // 02:00 UTC on Wednesday is 21:00 on Tuesday in New York
  assert.equal(formatWhen("2025-03-05T02:00:00+00:00", ny), "today at 21:00");
});

test("formatSpan names the end's day only when it differs", () => {
  assert.equal(formatSpan("2025-03-04T18:00:00+00:00", "2025-03-04T19:30:00+00:00", UK),
    "Tuesday 4 March, 18:00 to 19:30");
  assert.equal(formatSpan("2025-03-04T23:00:00+00:00", "2025-03-05T00:30:00+00:00", UK),
    "Tuesday 4 March, 23:00 to Wednesday 5 March, 0:30");
});

test("opensMessage gives the opening in local time, or says none is scheduled", () => {
  assert.equal(opensMessage("2025-03-04T17:50:00+00:00", { ...UK, now: NOW }),
    "This group's room is not open yet. It opens today at 17:50 (your time).");
  assert.match(opensMessage(null), /no session is scheduled/);
  assert.match(opensMessage("9999-12-31T23:59:59.999999+00:00"), /no session is scheduled/);
});

test("upcoming splits live, next and later, skipping cancelled and past ones", () => {
  const sessions = [
    { id: "c", status: "scheduled", starts_at: "2025-03-06T18:00:00+00:00", ends_at: "2025-03-06T19:00:00+00:00" },
    { id: "x", status: "cancelled", starts_at: "2025-03-05T18:00:00+00:00", ends_at: "2025-03-05T19:00:00+00:00" },
    { id: "b", status: "scheduled", starts_at: "2025-03-04T18:00:00+00:00", ends_at: "2025-03-04T19:00:00+00:00" },
    { id: "l", status: "open", starts_at: "2025-03-04T11:30:00+00:00", ends_at: "2025-03-04T12:30:00+00:00" },
    { id: "p", status: "ended", starts_at: "2025-03-03T18:00:00+00:00", ends_at: "2025-03-03T19:00:00+00:00" },
  ];
  const { live, next, later } = upcoming(sessions, NOW);
  assert.deepEqual(live.map((s) => s.id), ["l"]);
  assert.equal(next.id, "b");
  assert.deepEqual(later.map((s) => s.id), ["c"]);
  assert.deepEqual(upcoming(undefined, NOW), { live: [], next: null, later: [] });
});

test("weekOf runs Monday to Monday with offsets", () => {
  const { start, end, from, to } = weekOf(new Date(2025, 2, 6, 15), 0); // Thursday 6 March, local
  assert.equal(start.getDay(), 1);
  assert.equal(start.getDate(), 3);
  assert.equal(end.getDate(), 10);
  assert.match(from, /\+00:00$/);
  assert.match(to, /\+00:00$/);
  assert.equal(weekOf(new Date(2025, 2, 9), 1).start.getDate(), 10); // Sunday belongs to the week before
  assert.equal(weekOf(new Date(2025, 2, 3), -1).start.getDate(), 24);
});

test("localMoment reads the page's date and time inputs", () => {
  const d = localMoment("2025-03-04", "18:30");
  assert.equal(d.getHours(), 18);
  assert.equal(d.getMinutes(), 30);
  assert.equal(localMoment("2025-03-04", ""), null);
  assert.equal(localMoment("", "18:30"), null);
  assert.equal(isoUtc(new Date("2025-03-04T18:30:00Z")), "2025-03-04T18:30:00.000+00:00");
});
