// A group's schedule in words, and the bodies the session page sends.
import { test } from "node:test";
import assert from "node:assert/strict";

import { cancellationBody, describeSeries, extraSessionBody, seriesBody, seriesChanges, seriesValues, weekdaysOf }
  from "../src/program/schedule.js";

test("weekdays read from a list or a comma string", () => {
  assert.deepEqual(weekdaysOf({ weekdays: [5, 1, 3] }), [1, 3, 5]);
  assert.deepEqual(weekdaysOf({ weekdays: "1,3,9" }), [1, 3]);
  assert.deepEqual(weekdaysOf({}), []);
});

test("describeSeries says the days, time, length and dates", () => {
  assert.equal(describeSeries({ weekdays: [1, 4], start_time: "18:00:00", duration_minutes: 90,
    starts_on: "2025-03-03", ends_on: null }, "America/New_York"),
  "Mondays and Thursdays at 18:00 for 90 minutes (America/New_York time), from 2025-03-03, no end date");
  assert.equal(describeSeries({ weekdays: "2", start_time: "09:30", duration_minutes: 60, starts_on: "2025-03-04",
    ends_on: "2025-06-24" }), "Tuesdays at 09:30 for 60 minutes, from 2025-03-04 until 2025-06-24");
});

test("seriesBody checks each field and builds the body", () => {
  const good = { weekdays: ["3", "1"], start_time: "18:00", duration_minutes: "90", starts_on: "2025-03-03",
    ends_on: "" };
  assert.deepEqual(seriesBody(good).body, { weekdays: [1, 3], start_time: "18:00", duration_minutes: 90,
    starts_on: "2025-03-03", ends_on: null });
  assert.match(seriesBody({ ...good, weekdays: [] }).error, /at least one day/);
  assert.match(seriesBody({ ...good, start_time: "" }).error, /start time/);
  assert.match(seriesBody({ ...good, duration_minutes: "4" }).error, /5 to 720/);
  assert.match(seriesBody({ ...good, duration_minutes: "721" }).error, /5 to 720/);
  assert.match(seriesBody({ ...good, duration_minutes: "60.5" }).error, /whole number/);
  assert.match(seriesBody({ ...good, starts_on: "" }).error, /first week/);
  assert.match(seriesBody({ ...good, ends_on: "2025-03-01" }).error, /before the first/);
});

test("extraSessionBody turns local inputs into UTC times", () => {
  const { body } = extraSessionBody({ day: "2025-03-04", start: "18:00", end: "19:30" });
  assert.equal(new Date(body.starts_at).getTime(), new Date(2025, 2, 4, 18, 0).getTime());
  assert.equal(new Date(body.ends_at) - new Date(body.starts_at), 90 * 60000);
  assert.match(body.starts_at, /\+00:00$/);
  assert.match(extraSessionBody({ day: "2025-03-04", start: "18:00", end: "18:00" }).error, /after the start/);
  assert.match(extraSessionBody({ day: "", start: "18:00", end: "19:00" }).error, /date/);
  assert.match(extraSessionBody({ day: "2025-03-04", start: "18:00", end: "" }).error, /end time/);
});

test("cancellationBody wants a date", () => {
  assert.deepEqual(cancellationBody("2025-03-05"), { body: { date: "2025-03-05" } });
  assert.match(cancellationBody("").error, /date/);
});

test("seriesValues fills the edit form from a series", () => {
  assert.deepEqual(seriesValues({ weekdays: [4, 1], start_time: "18:00:00", duration_minutes: 90,
    starts_on: "2025-03-03", ends_on: null }),
  { weekdays: [1, 4], start_time: "18:00", duration_minutes: "90", starts_on: "2025-03-03", ends_on: "" });
});

test("seriesChanges sends only what changed, null to make it open-ended, and refuses no change", () => {
  const series = { id: "s", weekdays: [1, 4], start_time: "18:00:00", duration_minutes: 90, starts_on: "2025-03-03",
    ends_on: "2025-06-30" };
  const same = seriesValues(series);
  assert.match(seriesChanges(series, same).error, /Nothing was changed/);
  assert.deepEqual(seriesChanges(series, { ...same, start_time: "18:30", duration_minutes: "60" }).body,
    { start_time: "18:30", duration_minutes: 60 });
  assert.deepEqual(seriesChanges(series, { ...same, weekdays: [4, 2] }).body, { weekdays: [2, 4] });
  assert.deepEqual(seriesChanges(series, { ...same, ends_on: "" }).body, { ends_on: null });
  assert.deepEqual(seriesChanges({ ...series, ends_on: null }, { ...same, ends_on: "2025-07-01" }).body,
    { ends_on: "2025-07-01" });
  assert.match(seriesChanges(series, { ...same, duration_minutes: "900" }).error, /5 to 720/);
  assert.match(seriesChanges(series, { ...same, ends_on: "2025-01-01" }).error, /before the first/);
});
