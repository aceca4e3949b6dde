// A group's time zone: the names offered, the body of the change, and the confirmation.
import { test } from "node:test";
import assert from "node:assert/strict";

import { isKnownZone, supportedTimeZones, timeThere, timeZoneBody, timeZoneChoices, zoneChangeQuestion }
  from "../src/program/timezones.js";

test("supportedTimeZones reads Intl, or says null when it cannot list them", () => {
  assert.deepEqual(supportedTimeZones({ supportedValuesOf: () => ["Europe/London"] }), ["Europe/London"]);
  assert.equal(supportedTimeZones({}), null);
  assert.equal(supportedTimeZones({ supportedValuesOf: () => { throw new RangeError("no"); } }), null);
  assert.equal(supportedTimeZones(null), null);
  const real = supportedTimeZones();
  if (real) assert.ok(real.includes("America/New_York"));
});

test("timeZoneChoices always holds UTC and the group's zone, sorted, once each", () => {
  assert.deepEqual(timeZoneChoices(["Europe/London", "America/New_York", "Europe/London"], "Asia/Kolkata"),
    ["America/New_York", "Asia/Kolkata", "Europe/London", "UTC"]);
  assert.deepEqual(timeZoneChoices(null, "UTC"), ["UTC"]);
});

test("timeZoneBody checks the name before it goes", () => {
  assert.deepEqual(timeZoneBody(" Europe/London ", "UTC"), { body: { timezone: "Europe/London" } });
  assert.match(timeZoneBody("", "UTC").error, /Choose a time zone/);
  assert.match(timeZoneBody("Mars/Base", "UTC").error, /"Mars\/Base" is not a time zone name/);
  assert.match(timeZoneBody("../etc/passwd", "UTC").error, /not a time zone name/);
  assert.match(timeZoneBody("Europe/London", "Europe/London").error, /already on Europe\/London/);
  // The known-zone check is the caller's to replace (the server decides in the end).
  assert.ok(timeZoneBody("Mars/Base", "UTC", () => true).body);
  assert.equal(isKnownZone("America/New_York"), true);
  assert.equal(isKnownZone("Nowhere/Special"), false);
});

test("the change is confirmed with both zones and what it does to weekly series", () => {
  const question = zoneChangeQuestion("UTC", "America/New_York");
  assert.match(question, /^Change the group's time zone from UTC to America\/New_York\?/);
  assert.match(question, /18:00 stays 18:00 in America\/New_York/);
});

test("timeThere tells the group's clock", () => {
  const now = new Date("2025-07-01T17:05:00Z");
  assert.equal(timeThere("Europe/London", { now, locale: "en-US" }), "6:05 PM");
  assert.equal(timeThere("Not/AZone", { now }), "");
});
