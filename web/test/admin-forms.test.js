// The program console's forms: what is checked in the page before anything is sent (mirroring the server's bounds in
// docs/protocol.md 4.2 and 4.3), the bodies built, the fields a settings change sends, and the people a picker offers.
import { test } from "node:test";
import assert from "node:assert/strict";

import { characters, checkCapacity, checkDisplayName, checkEmail, checkGroupName, checkPassword, checkTimeZone }
  from "../src/admin/bounds.js";
import { changesQuestion, enrolChoices, groupChanges, groupValues, newGroupBody, newGroupValues, placesFor,
  splitGroups } from "../src/admin/groups.js";
import { menteeChoices, mentorChoices, pairingBody, pairingRows } from "../src/admin/pairings.js";
import { accountsView, filterUsers, isFiltering, namesById, newUserBody, passwordBody, roleChangeBody,
  roleChangeQuestion, suggestPassword, userMatches } from "../src/admin/users.js";

test("emails are trimmed, lower-cased and must look like local@domain.tld", () => {
  assert.deepEqual(checkEmail("  Jo@Example.ORG "), { value: "jo@example.org" });
  assert.match(checkEmail("").error, /Enter the person's email/);
  assert.match(checkEmail("jo@example").error, /such as jo@example.org/);
  assert.match(checkEmail("jo@example.o").error, /such as/);
  assert.match(checkEmail("j o@example.org").error, /such as/);
  assert.match(checkEmail(`${"a".repeat(65)}@example.org`).error, /such as/);
  assert.match(checkEmail(`${"a".repeat(60)}@${"b".repeat(200)}.org`).error, /at most 254/);
});

test("names are counted in characters as the server counts them, trimmed, and refuse invisible characters", () => {
  assert.equal(characters("😀"), 1);
  assert.deepEqual(checkDisplayName("  Jo  "), { value: "Jo" });
  assert.ok(checkDisplayName("😀".repeat(80)).value);
  assert.match(checkDisplayName("😀".repeat(81)).error, /at most 80/);
  assert.match(checkDisplayName("   ").error, /Enter a display name/);
  assert.match(checkDisplayName("Jo\u200bAnn").error, /invisible/);
  assert.match(checkDisplayName("Jo\u0007").error, /invisible/);
  // NFC: a decomposed é is sent composed, as the server stores it.
  assert.equal(checkDisplayName("Re\u0301my").value, "R\u00e9my");
  assert.match(checkGroupName("x".repeat(121)).error, /group name has at most 120/);
  assert.deepEqual(checkGroupName(" Monday group "), { value: "Monday group" });
});

test("passwords go as typed, 8 to 256 characters", () => {
  assert.deepEqual(checkPassword(" spaced pw "), { value: " spaced pw " });
  assert.match(checkPassword("short").error, /at least 8/);
  assert.match(checkPassword("x".repeat(257)).error, /at most 256/);
  assert.deepEqual(passwordBody("long enough"), { body: { password: "long enough" } });
});

test("capacity is a whole number from 2 to 200; a time zone is an IANA name the browser knows", () => {
  assert.deepEqual(checkCapacity(" 12 "), { value: 12 });
  for (const bad of ["", "1", "201", "8.5", "-3", "1e2", "eight"]) assert.ok(checkCapacity(bad).error, bad);
  assert.deepEqual(checkTimeZone("Europe/London"), { value: "Europe/London" });
  assert.match(checkTimeZone("").error, /Choose a time zone/);
  assert.match(checkTimeZone("../etc/passwd").error, /not a time zone name/);
  assert.match(checkTimeZone("Mars/Base", () => false).error, /"Mars\/Base"/);
});

test("newUserBody names the first wrong field, or gives the whole body", () => {
  const good = { email: "Fran@Example.org", display_name: " Fran ", role: "facilitator", password: "fran-password" };
  assert.deepEqual(newUserBody(good), { body: { email: "fran@example.org", display_name: "Fran", role: "facilitator",
    password: "fran-password" } });
  assert.equal(newUserBody({ ...good, email: "nope" }).field, "email");
  assert.equal(newUserBody({ ...good, display_name: "" }).field, "display_name");
  assert.equal(newUserBody({ ...good, role: "owner" }).field, "role");
  assert.equal(newUserBody({ ...good, password: "1234" }).field, "password");
});

test("a role change says what happens to the person's live connections", () => {
  const jo = { id: "u1", display_name: "Jo", role: "participant" };
  assert.deepEqual(roleChangeBody(jo, "mentor"), { body: { role: "mentor" } });
  assert.match(roleChangeBody(jo, "participant").error, /already a participant/);
  assert.match(roleChangeBody(jo, "boss").error, /Choose a role/);
  const q = roleChangeQuestion(jo, "admin");
  assert.match(q, /Make Jo an administrator instead of a participant/);
  assert.match(q, /ends now, and they rejoin as an administrator/);
});

test("the list filter matches name or email in any case, role and status", () => {
  const users = [
    { id: "1", display_name: "Fran Ng", email: "fran@example.org", role: "facilitator", disabled: false },
    { id: "2", display_name: "Robin", email: "robin@example.org", role: "participant", disabled: true },
    { id: "3", display_name: "Morgan", email: "mo@mentors.example", role: "mentor", disabled: false },
  ];
  assert.deepEqual(filterUsers(users, { text: "FRAN" }).map((u) => u.id), ["1"]);
  assert.deepEqual(filterUsers(users, { text: "mentors.ex" }).map((u) => u.id), ["3"]);
  assert.deepEqual(filterUsers(users, { role: "participant" }).map((u) => u.id), ["2"]);
  assert.deepEqual(filterUsers(users, { status: "active" }).map((u) => u.id), ["1", "3"]);
  assert.deepEqual(filterUsers(users, { status: "disabled", text: "rob" }).map((u) => u.id), ["2"]);
  assert.deepEqual(filterUsers(users, {}).length, 3);
  assert.equal(userMatches(users[0], { text: "  " }), true);
  assert.deepEqual(filterUsers(null, {}), []);
  assert.equal(namesById(users).get("3"), "Morgan");
});

test("a filter searches every account once they are read, not just the page on screen", () => {
  const person = (i) => ({ id: String(i), display_name: `Person ${i}`, email: `p${i}@example.org`,
    role: i === 150 ? "mentor" : "participant", disabled: false });
  const everyone = Array.from({ length: 250 }, (_, i) => person(i));
  const page = everyone.slice(100, 200);
  // No filter: the page, with its range and page turns.
  const plain = accountsView({ page, everyone: null, filter: {}, offset: 100, more: true });
  assert.equal(plain.rows.length, 100);
  assert.equal(plain.count, "Showing accounts 101 to 200.");
  assert.equal(plain.pager, true);
  assert.equal(plain.needEveryone, false);
  // A filter before every account is read: the page's matches meanwhile, and every account is asked for.
  const waiting = accountsView({ page, everyone: null, filter: { text: "person 2" }, offset: 100, more: true });
  assert.equal(waiting.needEveryone, true);
  assert.equal(waiting.pager, false);
  assert.equal(waiting.count, "Searching every account… 0 accounts match the filter among accounts 101 to 200.");
  // Once read: matches from all 250, on any page.
  const found = accountsView({ page, everyone, filter: { text: "person 2" }, offset: 100, more: true });
  assert.deepEqual(found.rows.map((u) => u.id), ["2", ...Array.from({ length: 10 }, (_, i) => String(20 + i)),
    ...Array.from({ length: 50 }, (_, i) => String(200 + i))]);
  assert.equal(found.count, "61 accounts match the filter, of 250 accounts.");
  assert.equal(found.needEveryone, false);
  assert.deepEqual(accountsView({ page, everyone, filter: { role: "mentor" } }).rows.map((u) => u.id), ["150"]);
  // A list that fits one page is every account already.
  const small = accountsView({ page: everyone.slice(0, 3), filter: { text: "person 1" }, offset: 0, more: false });
  assert.equal(small.needEveryone, false);
  assert.equal(small.count, "1 account matches the filter, of 3 accounts.");
  assert.equal(isFiltering({ text: "  " }), false);
});

test("suggested passwords are four groups of four readable characters, drawn fairly", () => {
  let n = 0;
  const counting = (size) => Uint8Array.from({ length: size }, () => (n++ * 37) % 256);
  const pw = suggestPassword(counting);
  assert.match(pw, /^[a-zA-Z2-9]{4}(-[a-zA-Z2-9]{4}){3}$/);
  assert.doesNotMatch(pw, /[01lIoO]/);
  // Bytes of 224 and above (which would favour the alphabet's start) are drawn again.
  const high = () => Uint8Array.from({ length: 16 }, () => 255);
  let calls = 0;
  const mixed = (size) => (calls++ === 0 ? high() : Uint8Array.from({ length: size }, () => 0));
  assert.equal(suggestPassword(mixed), "aaaa-aaaa-aaaa-aaaa");
  assert.ok(checkPassword(pw).value);
});

test("a new group's body holds every field, checked", () => {
  const values = { ...newGroupValues("Europe/London"), name: " Monday group ", capacity: "10" };
  assert.deepEqual(newGroupBody(values), { body: { name: "Monday group", capacity: 10, timezone: "Europe/London",
    lobby_enabled: true, self_unmute_allowed: true, screen_share_allowed: false } });
  assert.equal(newGroupBody({ ...values, capacity: "500" }).field, "capacity");
  assert.equal(newGroupBody({ ...values, name: "" }).field, "name");
  assert.equal(newGroupBody({ ...values, timezone: "Nowhere/Town" }, () => false).field, "timezone");
});

test("a group's settings send only the fields that changed", () => {
  const group = { id: "g", name: "Monday group", capacity: 8, timezone: "UTC", lobby_enabled: true,
    self_unmute_allowed: true, screen_share_allowed: false, archived: false };
  const same = groupValues(group);
  assert.match(groupChanges(group, same).error, /Nothing has changed/);
  const changed = groupChanges(group, { ...same, capacity: "12", screen_share_allowed: true });
  assert.deepEqual(changed.body, { capacity: 12, screen_share_allowed: true });
  assert.deepEqual(changed.changes.map((c) => [c.field, c.from, c.to]),
    [["capacity", "8", "12"], ["screen_share_allowed", "off", "on"]]);
  const q = changesQuestion(group, changed.changes);
  assert.match(q, /^Change Monday group: capacity from 8 to 12; participants may share their screen from off to on\?/);
  assert.match(q, /room in progress takes the new settings/);
  // A name with spaces around it is the same name; a renamed group says nothing about a live room.
  assert.match(groupChanges(group, { ...same, name: " Monday group " }).error, /Nothing/);
  const renamed = groupChanges(group, { ...same, name: "Tuesday group" });
  assert.deepEqual(renamed.body, { name: "Tuesday group" });
  assert.doesNotMatch(changesQuestion(group, renamed.changes), /room in progress/);
  assert.equal(groupChanges(group, { ...same, capacity: "1" }).field, "capacity");
  // A group from before screen sharing existed reads as "off".
  const older = { ...group };
  delete older.screen_share_allowed;
  assert.equal(groupValues(older).screen_share_allowed, false);
});

test("the enrol picker offers only accounts the place accepts, not yet members, not disabled", () => {
  assert.deepEqual(placesFor("facilitator"), ["facilitator"]);
  assert.deepEqual(placesFor("mentor"), ["participant"]);
  assert.deepEqual(placesFor("admin"), []);
  const users = [
    { id: "a", display_name: "Admin", role: "admin" },
    { id: "f", display_name: "Fran", role: "facilitator" },
    { id: "p", display_name: "Robin", role: "participant" },
    { id: "m", display_name: "Morgan", role: "mentor" },
    { id: "q", display_name: "Quinn", role: "participant", disabled: true },
    { id: "z", display_name: "alex", role: "participant" },
  ];
  const members = [{ user_id: "p", role: "participant" }];
  assert.deepEqual(enrolChoices(users, members, "participant").map((u) => u.id), ["z", "m"]);
  assert.deepEqual(enrolChoices(users, members, "facilitator").map((u) => u.id), ["f"]);
  assert.deepEqual(enrolChoices(users, [{ user_id: "f" }], "facilitator"), []);
});

test("groups in use and archived ones are listed apart, by name", () => {
  const { active, archived } = splitGroups([{ name: "b" }, { name: "A", archived: true }, { name: "a" }]);
  assert.deepEqual(active.map((g) => g.name), ["a", "b"]);
  assert.deepEqual(archived.map((g) => g.name), ["A"]);
});

test("pairings: mentors and mentees by role, the body, and rows named from the accounts", () => {
  const users = [
    { id: "m", display_name: "Morgan", role: "mentor" },
    { id: "x", display_name: "Xan", role: "mentor", disabled: true },
    { id: "a", display_name: "Alex", role: "participant" },
    { id: "f", display_name: "Fran", role: "facilitator" },
  ];
  assert.deepEqual(mentorChoices(users).map((u) => u.id), ["m"]);
  assert.deepEqual(menteeChoices(users).map((u) => u.id), ["a"]);
  assert.deepEqual(pairingBody("m", "a"), { body: { mentor_id: "m", mentee_id: "a" } });
  assert.equal(pairingBody("", "a").field, "mentor");
  assert.equal(pairingBody("m", "").field, "mentee");
  assert.match(pairingBody("m", "m").error, /themselves/);
  const rows = pairingRows([
    { id: "1", mentor_id: "m", mentee_id: "a", active: false, created_at: "2026-01-01T00:00:00" },
    { id: "2", mentor_id: "m", mentee_id: "gone-0000-id", active: true, created_at: "2025-01-01T00:00:00" },
  ], namesById(users));
  assert.deepEqual(rows.map((r) => [r.id, r.mentor, r.mentee]), [["2", "Morgan", "Unknown person (gone-000)"],
    ["1", "Morgan", "Alex"]]);
});
