// The conversations page's list (src/messages/list.js), built from GET /api/conversations alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { conversationLabel, conversationList, userOf } from "../src/messages/list.js";
import { EMPTY, reduce } from "../src/messages/unread.js";

const ME = "11111111-1111-1111-1111-111111111111";
const A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const C = "cccccccc-cccc-cccc-cccc-cccccccccccc";
const D = "dddddddd-dddd-dddd-dddd-dddddddddddd";

const entriesOf = (conversations, ...events) =>
  events.reduce((s, e) => reduce(s, e).state, reduce(EMPTY, { type: "loaded", conversations }).state).entries;

const dm = (id, title, relationship, lastSeq = 0, unread = 0) =>
  ({ conversation: `dm:${id}`, kind: "dm", title, relationship, last_seq: lastSeq, unread });

test("everyone the list names, said nothing yet or not, with what they are to me", () => {
  const entries = entriesOf([
    { conversation: `room:${D}`, kind: "room", title: "Tuesday group", last_seq: 1, unread: 1 },
    dm(A, "Alex", "mentee", 3),
    dm(B, "Billie", "facilitator"),
    dm(C, "Casey", "group_member"),
    dm(D, "Dana", "mentor"),
  ]);
  const list = conversationList({ entries, selfId: ME });
  assert.deepEqual(list.map((i) => [i.name, i.detail, i.relationship, i.lastSeq]), [
    ["Alex", "Your mentee", "mentee", 3], // something was said: first
    ["Billie", "Facilitator of your group", "facilitator", 0],
    ["Casey", "Member of your group", "group_member", 0],
    ["Dana", "Your mentor", "mentor", 0],
  ]);
  assert.equal(list[0].conversation, `dm:${A}`);
  assert.equal(list[0].userId, A);
});

test("unread ones first, then the latest live ones, then those with history, then by name", () => {
  const entries = entriesOf(
    [dm(C, "Casey", "mentor", 2, 1), dm(A, "alex", "mentor"), dm(B, "Billie", "mentor"), dm(D, "Dana", "facilitator", 5)],
    { type: "message", selfId: ME, now: 100, message: { conversation: `dm:${B}`, id: "x", seq: 1, sender_id: ME, body: "hi" } },
  );
  const list = conversationList({ entries, selfId: ME });
  assert.deepEqual(list.map((i) => [i.name, i.unread]), [["Casey", 1], ["Billie", 0], ["Dana", 0], ["alex", 0]]);
});

test("a live message from someone the list does not have shows under their name until the list says more", () => {
  const entries = entriesOf([], { type: "message", selfId: ME, now: 5,
    message: { conversation: `dm:${A}`, id: "m1", seq: 1, sender_id: A, display_name: "Alex", body: "hi" } });
  assert.deepEqual(conversationList({ entries, selfId: ME }).map((i) => [i.name, i.detail, i.unread]),
    [["Alex", "", 1]]);
});

test("a conversation the server refused leaves the list; myself and rooms are never in it", () => {
  const entries = entriesOf([dm(A, "Alex", "mentee", 4, 2), dm(ME, "Me", "mentor"), dm(B, "", "something else")],
    { type: "closed", conversation: `dm:${A}` });
  assert.deepEqual(conversationList({ entries, selfId: ME }).map((i) => [i.name, i.detail]), [["Someone", ""]]);
});

test("labels say who, what they are to me and how many are unread", () => {
  assert.equal(conversationLabel({ name: "Morgan", detail: "Your mentor", unread: 2 }),
    "Morgan, your mentor, 2 unread messages");
  assert.equal(conversationLabel({ name: "Fran", detail: "Facilitator of your group", unread: 0 }),
    "Fran, facilitator of your group");
  assert.equal(conversationLabel({ name: "Morgan", detail: "", unread: 1 }), "Morgan, 1 unread message");
  assert.equal(userOf(`DM:${A.toUpperCase()}`), A);
  assert.equal(userOf("room:x"), null);
});
