// A session's attendance report as the session page shows it, and its CSV's address and file name.
import { test } from "node:test";
import assert from "node:assert/strict";

import { correctionBody, correctionText, csvFileName, csvPath, groupCsvPath, memberRows, minutesText, signOffText }
  from "../src/program/attendance.js";

const UTC = { locale: "en-GB", timeZone: "UTC" };
const FRAN = "11111111-1111-4111-8111-111111111111";

const REPORT = {
  session: { id: "s-1" },
  signed_off: { by: FRAN, at: "2025-03-04T19:40:00+00:00", note: "All well" },
  members: [
    { user_id: FRAN, display_name: "Fran", role: "facilitator", status: "present", minutes_present: 60,
      minutes_camera_on: 58, minutes_waiting: 0, first_joined: "2025-03-04T17:58:00+00:00",
      last_left: "2025-03-04T19:00:00+00:00", late: false, left_early: false,
      stretches: [{ ended: "ended" }], corrections: [] },
    { user_id: "r", display_name: "Robin", role: "participant", status: "present", minutes_present: 41,
      minutes_camera_on: 0, minutes_waiting: 3, minutes_late: 12, first_joined: "2025-03-04T18:12:00+00:00",
      last_left: null, late: true, left_early: true, stretches: [{ ended: "connection_lost" }, { ended: null }],
      corrections: [{ status: "present", minutes_present: 55, note: "Camera trouble; was there" }] },
    { user_id: "a", display_name: "Alex", role: "participant", status: "absent", minutes_present: 0,
      minutes_camera_on: 0, minutes_waiting: 0, first_joined: null, last_left: null, late: null, left_early: null,
      stretches: [] },
  ],
};

test("the CSV's addresses", () => {
  assert.equal(csvPath("a b"), "/api/sessions/a%20b/attendance?format=csv");
  assert.equal(groupCsvPath("g", "2025-03-03T00:00:00+00:00", "2025-03-10T00:00:00+00:00"),
    "/api/groups/g/attendance?from=2025-03-03T00%3A00%3A00%2B00%3A00&to=2025-03-10T00%3A00%3A00%2B00%3A00&format=csv");
});

test("the CSV's file name comes from Content-Disposition, else the date", () => {
  assert.equal(csvFileName('attachment; filename="attendance-s-1.csv"'), "attendance-s-1.csv");
  assert.equal(csvFileName("attachment; filename*=UTF-8''a%20b.csv"), "a b.csv");
  assert.equal(csvFileName(null, "2025-03-04T18:00:00+00:00"), "attendance-2025-03-04.csv");
  assert.equal(csvFileName(""), "attendance.csv");
});

test("member rows keep the original figures and put corrections beside them", () => {
  const [fran, robin, alex] = memberRows(REPORT, UTC);
  assert.equal(fran.role, "Facilitator");
  assert.equal(fran.present, "60 min");
  assert.equal(fran.first, "17:58");
  assert.equal(fran.ended, "session ended");
  assert.equal(robin.present, "41 min");
  assert.equal(robin.flags, "late 12 min, left early");
  assert.equal(robin.last, "—");
  assert.equal(robin.ended, "connection lost, still in");
  assert.deepEqual(robin.corrections, ["Corrected to present, 55 min: Camera trouble; was there"]);
  assert.equal(alex.status, "Absent");
  assert.equal(alex.absent, true);
  assert.equal(alex.flags, "");
  assert.deepEqual(alex.corrections, []);
  assert.deepEqual(memberRows(null), []);
});

test("sign-off in words, with the signer's name from the members", () => {
  assert.equal(signOffText(REPORT, UTC), "Signed off by Fran at 19:40. Note: All well");
  assert.equal(signOffText({ ...REPORT, signed_off: { by: { display_name: "Jo" }, at: null, note: null } }),
    "Signed off by Jo.");
  assert.equal(signOffText({ signed_off: null }), null);
});

test("minutes and corrections in words", () => {
  assert.equal(minutesText(1), "1 min");
  assert.equal(minutesText(null), "—");
  assert.equal(correctionText({ note: "n" }), "Corrected: n");
  assert.equal(correctionText({ status: "absent", note: "n", by: { user_id: "f", display_name: "Fran" } }),
    "Corrected to absent by Fran: n");
});

test("correctionBody wants a member and a note", () => {
  assert.deepEqual(correctionBody({ user_id: "r", status: "present", minutes: "55", note: " why " }).body,
    { user_id: "r", status: "present", minutes_present: 55, note: "why" });
  assert.deepEqual(correctionBody({ user_id: "r", status: "", minutes: "", note: "why" }).body,
    { user_id: "r", note: "why" });
  assert.match(correctionBody({ user_id: "r", note: " " }).error, /note/);
  assert.match(correctionBody({ user_id: "", note: "x" }).error, /member/);
  assert.match(correctionBody({ user_id: "r", minutes: "-1", note: "x" }).error, /whole number/);
  assert.match(correctionBody({ user_id: "r", note: "x".repeat(1001) }).error, /1000/);
});
