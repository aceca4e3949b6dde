// The conversations page's list (src/messages/list.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { conversationLabel, conversationList, userOf } from "../src/messages/list.js";
import { EMPTY, reduce } from "../src/messages/unread.js";

const ME = "11111111-1111-1111-1111-111111111111";
const A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const C = "cccccccc-cccc-cccc-cccc-cccccccccccc";

const entriesOf = (conversations, ...events) =>
  events.reduce((s, e) => reduce(s, e).state, reduce(EMPTY, { type: "loaded", conversations }).state).entries;

test("contacts and past conversations make one list, each person once", () => {
  const entries = entriesOf([
    { conversation: `dm:${A}`, kind: "dm", title: "Alex", last_seq: 3, unread: 0 },
    { conversation: `dm:${C}`, kind: "dm", title: "Casey", last_seq: 8, unread: 0 },
    { conversation: "room:dddddddd-dddd-dddd-dddd-dddddddddddd", kind: "room", title: "Group", last_seq: 1, unread: 1 },
  ]);
  const list = conversationList({
    contacts: [{ user_id: A, display_name: "Alex", relationship: "mentee" },
      { user_id: B, display_name: "Billie", relationship: "mentee" }],
    entries, selfId: ME,
  });
  assert.deepEqual(list.map((i) => [i.name, i.detail, i.known, i.lastSeq]), [
    ["Alex", "Your mentee", true, 3],
    ["Billie", "Your mentee", true, 0],
    ["Casey", "", false, 8], // a pairing that ended: its history stays
  ]);
  assert.equal(list[0].conversation, `dm:${A}`);
});

test("unread ones first, then the latest live ones, then by name", () => {
  const entries = entriesOf(
    [{ conversation: `dm:${C}`, kind: "dm", title: "Casey", last_seq: 2, unread: 1 }],
    { type: "message", selfId: ME, now: 100, message: { conversation: `dm:${B}`, id: "x", seq: 1, sender_id: ME, body: "hi" } },
  );
  const list = conversationList({
    contacts: [{ user_id: A, display_name: "alex", relationship: "mentor" }, { user_id: B, display_name: "Billie", relationship: "mentor" }],
    entries, selfId: ME,
  });
  assert.deepEqual(list.map((i) => [i.name, i.unread]), [["Casey", 1], ["Billie", 0], ["alex", 0]]);
});

test("a facilitator's group members are listed, not themselves", () => {
  const list = conversationList({
    members: [{ user_id: ME, display_name: "Fran", role: "facilitator", group_name: "Tuesday" },
      { user_id: A, display_name: "Alex", role: "participant", group_name: "Tuesday" },
      { user_id: A, display_name: "Alex", role: "participant", group_name: "Friday" }],
    selfId: ME,
  });
  assert.deepEqual(list.map((i) => [i.name, i.detail]), [["Alex", "Member, Tuesday"]]);
});

test("labels say who, what they are to me and how many are unread", () => {
  assert.equal(conversationLabel({ name: "Morgan", detail: "Your mentor", unread: 2 }),
    "Morgan, your mentor, 2 unread messages");
  assert.equal(conversationLabel({ name: "Morgan", detail: "", unread: 1 }), "Morgan, 1 unread message");
  assert.equal(userOf(`DM:${A.toUpperCase()}`), A);
  assert.equal(userOf("room:x"), null);
});
