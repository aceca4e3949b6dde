// Unread bookkeeping of direct and room conversations (src/messages/unread.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EMPTY, directUnread, reduce, unreadOf } from "../src/messages/unread.js";

const ME = "11111111-1111-1111-1111-111111111111";
const MORGAN = "22222222-2222-2222-2222-222222222222";
const DM = `dm:${MORGAN}`;
const ROOM = "room:33333333-3333-3333-3333-333333333333";

const run = (state, ...events) => events.reduce((s, e) => reduce(s, e).state, state);
const loaded = (conversations) => run(EMPTY, { type: "loaded", conversations });
const msg = (seq, sender = MORGAN, extra = {}) => ({ type: "message", selfId: ME,
  message: { conversation: DM, id: `m${seq}`, seq, sender_id: sender, display_name: "Morgan", body: "hi", ...extra } });

test("the list's counts are the start; direct ones make the total", () => {
  const s = loaded([
    { conversation: DM.toUpperCase(), kind: "dm", title: "Morgan", last_seq: 4, unread: 2, relationship: "mentor" },
    { conversation: ROOM, kind: "room", title: "Tuesday", last_seq: 9, unread: 5 },
  ]);
  assert.equal(s.loaded, true);
  assert.equal(unreadOf(s.entries[DM]), 2);
  assert.equal(s.entries[DM].title, "Morgan");
  assert.equal(s.entries[DM].relationship, "mentor");
  assert.equal(s.entries[ROOM].relationship, null);
  assert.equal(directUnread(s), 2);
});

test("a live message from the other person counts once, past what the list covered", () => {
  let s = loaded([{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 4, unread: 0 }]);
  s = run(s, msg(4), msg(5), msg(5), msg(7), msg(6));
  assert.equal(unreadOf(s.entries[DM]), 3);
  assert.equal(s.entries[DM].lastSeq, 7);
});

test("my own messages and deleted ones never count", () => {
  let s = loaded([]);
  s = run(s, msg(1, ME), msg(2, MORGAN, { body: null, deleted: true }));
  assert.equal(unreadOf(s.entries[DM]), 0);
  assert.equal(s.entries[DM].lastSeq, 2);
});

test("a message in a conversation the list did not have names it after its sender and asks for the list", () => {
  const { state, refresh } = reduce(loaded([]), msg(1));
  assert.equal(state.entries[DM].title, "Morgan");
  assert.equal(state.entries[DM].kind, "dm");
  assert.equal(state.entries[DM].relationship, null);
  assert.equal(refresh, true); // who they are to me, only the list can say
  assert.equal(reduce(loaded([]), msg(1, ME)).refresh, true); // written from another of my devices
  assert.equal(reduce(state, msg(2)).refresh, false);
  // The list read again drops a conversation it does not name.
  assert.equal(run(state, { type: "loaded", conversations: [] }).entries[DM], undefined);
});

test("a message in the conversation being read is read as it comes", () => {
  const s = run(loaded([]), { ...msg(1), reading: true });
  assert.equal(unreadOf(s.entries[DM]), 0);
  assert.equal(s.entries[DM].readSeq, 1);
});

test("a read mark that covers the list's seq clears everything up to it", () => {
  let s = loaded([{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 4, unread: 2 }]);
  s = run(s, msg(5), msg(6));
  assert.equal(unreadOf(s.entries[DM]), 4);
  s = run(s, { type: "read", conversation: DM, seq: 5 });
  assert.equal(unreadOf(s.entries[DM]), 1);
  s = run(s, { type: "read", conversation: DM, seq: 6 });
  assert.equal(unreadOf(s.entries[DM]), 0);
  // A later message after the mark counts again; an older one does not.
  s = run(s, msg(7), msg(3));
  assert.equal(unreadOf(s.entries[DM]), 1);
});

test("a read mark inside what the list counted asks for the list again", () => {
  const s = loaded([{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 10, unread: 3 }]);
  const { state, refresh } = reduce(s, { type: "read", conversation: DM, seq: 8 });
  assert.equal(refresh, true);
  assert.equal(unreadOf(state.entries[DM]), 3);
  assert.equal(reduce(state, { type: "read", conversation: DM, seq: 8 }).refresh, false);
});

test("the mark after a message read as it came still clears what the list counted", () => {
  let s = loaded([{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 4, unread: 2 }]);
  s = run(s, { ...msg(5), reading: true });
  assert.equal(unreadOf(s.entries[DM]), 2);
  s = run(s, { type: "read", conversation: DM, seq: 5 });
  assert.equal(unreadOf(s.entries[DM]), 0);
});

test("a deleted unread message no longer counts", () => {
  let s = run(loaded([{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 2, unread: 1 }]), msg(3));
  s = run(s, { type: "deleted", conversation: DM, seq: 3 });
  assert.equal(unreadOf(s.entries[DM]), 1);
  assert.equal(reduce(s, { type: "deleted", conversation: DM, seq: 2 }).refresh, true);
});

test("a new list keeps the order of what came while the page was open", () => {
  let s = run(loaded([]), { ...msg(1), now: 500 });
  s = run(s, { type: "loaded", conversations: [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 1, unread: 1 }] });
  assert.equal(s.entries[DM].lastAt, 500);
  assert.equal(unreadOf(s.entries[DM]), 1);
  assert.deepEqual(reduce(s, { type: "reset" }).state, EMPTY);
});

test("events that are not understood change nothing", () => {
  const s = loaded([]);
  assert.equal(reduce(s, { type: "message", message: { conversation: "x:1", seq: 1 } }).state, s);
  assert.equal(reduce(s, { type: "read", conversation: DM, seq: 3 }).state, s);
  assert.equal(reduce(s, { type: "nonsense" }).state, s);
});

test("a conversation the server closed counts nothing and asks for the list, which decides", () => {
  const list = [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 4, unread: 2 }];
  const { state, refresh } = reduce(loaded(list), { type: "closed", conversation: DM });
  assert.equal(refresh, true);
  assert.equal(unreadOf(state.entries[DM]), 0);
  assert.equal(directUnread(state), 0);
  assert.equal(unreadOf(run(state, msg(5)).entries[DM]), 0);
  assert.deepEqual(reduce(state, { type: "closed", conversation: DM }), { state, refresh: false });
  // No longer listed (the pairing ended): gone. Listed again (a new link): open again.
  assert.equal(run(state, { type: "loaded", conversations: [] }).entries[DM], undefined);
  assert.equal(unreadOf(run(state, { type: "loaded", conversations: list }).entries[DM]), 2);
});
