// The audit log as the console reads it: the query from the filter form, and each entry as words.
import { test } from "node:test";
import assert from "node:assert/strict";

import { actorText, auditQuery, auditRow, dayStart, detailText, formatTime, parseServerTime }
  from "../src/admin/audit.js";

const ACTOR = "0623b9d6-2a26-4454-a043-e9d61a489e7f";
const GROUP = "87ef3290-c5ae-4668-8c7e-56d6406ac2c6";
const ROBIN = "bc235ee5-bcb4-4358-bac5-96782637c6e0";
const names = { users: new Map([[ACTOR, "Admin"], [ROBIN, "Robin"]]), groups: new Map([[GROUP, "Monday group"]]) };

test("auditQuery carries the filters, and days run from the reader's midnight to the midnight after the last", () => {
  const { query } = auditQuery({ actor: ACTOR, action: " group.* ", from: "2026-03-02", to: "2026-03-04",
    cursor: "YTE5", limit: 50 });
  const params = new URLSearchParams(query);
  assert.equal(params.get("actor"), ACTOR);
  assert.equal(params.get("action"), "group.*");
  assert.equal(params.get("from"), new Date(2026, 2, 2).toISOString());
  assert.equal(params.get("to"), new Date(2026, 2, 5).toISOString());
  assert.equal(params.get("limit"), "50");
  assert.equal(params.get("cursor"), "YTE5");
  assert.equal(auditQuery({}).query, "limit=50");
  assert.equal(auditQuery({ action: "*" }).query, "action=*&limit=50");
});

test("auditQuery refuses what the server would", () => {
  assert.match(auditQuery({ actor: "not-an-id" }).error, /Choose a person/);
  assert.match(auditQuery({ action: "room.*.join" }).error, /ending in \*/);
  assert.match(auditQuery({ action: "x".repeat(65) }).error, /such as user.create/);
  assert.match(auditQuery({ from: "2026-03-05", to: "2026-03-01" }).error, /before the first/);
  assert.ok(auditQuery({ from: "2026-03-05", to: "2026-03-05" }).query, "one day is a range");
  assert.match(auditQuery({ from: "March" }).error, /first day is not a date/);
  assert.equal(dayStart("2026-02-30"), new Date(2026, 1, 30).toISOString(), "rolls like the Date it is");
  assert.equal(dayStart(""), null);
});

test("server times read as UTC whether or not they carry an offset", () => {
  assert.equal(parseServerTime("2026-12-01T06:39:39.826252+00:00").toISOString(), "2026-12-01T06:39:39.826Z");
  assert.equal(parseServerTime("2026-12-01T06:39:39.826252").toISOString(), "2026-12-01T06:39:39.826Z");
  assert.equal(parseServerTime("nonsense"), null);
  assert.equal(parseServerTime(null), null);
  assert.equal(formatTime("2026-12-01T06:39:39+00:00", { locale: "en-GB", timeZone: "America/New_York" }),
    "1 Dec 2026, 1:39:39");
  assert.equal(formatTime("", {}), "");
});

test("detail is key: value text, with people and groups named", () => {
  assert.equal(detailText({ fields: ["capacity", "name"] }), "fields: capacity, name");
  assert.equal(detailText({ user_id: ROBIN, role: "participant" }, names), "user id: Robin; role: participant");
  assert.equal(detailText({ group_id: GROUP, with_note: true }, names), "group id: Monday group; with note: yes");
  assert.equal(detailText({ method: "GET", route: "/api/users" }), "method: GET; route: /api/users");
  assert.equal(detailText({ odd: { a: 1 }, none: null }), 'odd: {"a":1}; none: none');
  assert.equal(detailText(null), "");
});

test("each entry becomes the table's words", () => {
  const row = auditRow({ id: 7, at: "2026-12-01T06:39:39+00:00", actor_id: ACTOR, action: "group.member.add",
    target_type: "group", target_id: GROUP, outcome: "success", source: "127.0.0.1",
    detail: { user_id: ROBIN, role: "participant" } }, names, { locale: "en-GB", timeZone: "UTC" });
  assert.deepEqual(row, { id: 7, at: "2026-12-01T06:39:39+00:00", time: "1 Dec 2026, 6:39:39", actor: "Admin",
    action: "group.member.add", target: "Monday group", outcome: "Success", source: "127.0.0.1",
    detail: "user id: Robin; role: participant" });
  const cli = auditRow({ id: 1, at: "x", actor_id: null, action: "user.create", target_type: "user",
    target_id: "3f0c9d2e-7a51-4c8e-9b1d-5e2a6f4c1b70", outcome: "success", source: "cli", detail: { role: "admin" } },
  names);
  assert.equal(cli.actor, "Command line");
  assert.equal(cli.source, "command line");
  assert.equal(cli.target, "user 3f0c9d2e");
  assert.equal(cli.time, "");
  assert.equal(actorText({ actor_id: null, source: "10.0.0.1" }), "No one signed in");
  assert.equal(actorText({ actor_id: "ffffffff-0000" }, names), "person ffffffff");
  const refused = auditRow({ id: 2, at: "", actor_id: ROBIN, action: "room.join", target_type: "extra_session",
    target_id: "abc", outcome: "agreement_required", source: "::1", detail: null }, names);
  assert.equal(refused.outcome, "agreement required");
  assert.equal(refused.target, "extra session abc");
  assert.equal(refused.detail, "");
});
