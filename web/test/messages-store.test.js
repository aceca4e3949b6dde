// The app-wide unread store (src/messages/store.js) with a fake call line and list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMessagesStore } from "../src/messages/store.js";

const ME = { id: "11111111-1111-1111-1111-111111111111", role: "participant" };
const MORGAN = "22222222-2222-2222-2222-222222222222";
const DM = `dm:${MORGAN}`;

function fakeLine() {
  const handlers = new Map();
  return {
    connected: true,
    on(event, fn) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event).add(fn);
      return () => handlers.get(event).delete(fn);
    },
    emit(event, data) {
      for (const fn of handlers.get(event) || []) fn(data);
    },
    count: () => [...handlers.values()].reduce((n, s) => n + s.size, 0),
  };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

const message = (seq) => ({ conversation: DM, id: `m${seq}`, seq, sender_id: MORGAN, display_name: "Morgan", body: "hi" });

test("counts from the list, then live; the total goes to the tab's attention", async () => {
  const line = fakeLine();
  const shown = [];
  let answer = { conversations: [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 2, unread: 1 }] };
  const store = createMessagesStore({ line, load: async () => answer, attention: (s, n) => shown.push([s, n]) });
  const arrived = [];
  store.onArrival((m) => arrived.push(m.seq));
  store.start(ME);
  await store.refresh();
  assert.equal(store.directUnread, 1);
  line.emit("chat:message", message(3));
  assert.equal(store.unreadOf(DM), 2);
  assert.deepEqual(arrived, [3]);
  line.emit("chat:read", { conversation: DM, seq: 3 }); // read on another device
  assert.equal(store.directUnread, 0);
  assert.deepEqual(shown.at(-1), ["messages", 0]);

  // Reconnecting (back from a group room) reads the list again.
  answer = { conversations: [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 5, unread: 2 }] };
  line.emit("connect", null);
  await store.refresh();
  assert.equal(store.unreadOf(DM), 2);

  store.stop();
  assert.equal(line.count(), 0);
  assert.equal(store.directUnread, 0);
  assert.deepEqual(shown.at(-1), ["messages", 0]);
});

test("what comes while the list is on its way is counted on top of it, once", async () => {
  const line = fakeLine();
  const pending = deferred();
  const store = createMessagesStore({ line, load: () => pending.promise, attention: () => {} });
  store.start(ME);
  line.emit("chat:message", message(3));
  line.emit("chat:message", message(4));
  // The list was read after message 3 was stored, before message 4.
  pending.resolve({ conversations: [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 3, unread: 1 }] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.unreadOf(DM), 2);
});

test("the conversation on screen does not count what comes", async () => {
  const line = fakeLine();
  const store = createMessagesStore({ line, load: async () => ({ conversations: [] }), attention: () => {} });
  store.start(ME);
  await store.refresh();
  store.setReading(DM.toUpperCase());
  line.emit("chat:message", message(1));
  assert.equal(store.unreadOf(DM), 0);
  store.setReading(null);
  line.emit("chat:message", message(2));
  assert.equal(store.unreadOf(DM), 1);
  store.markRead(DM, 2);
  assert.equal(store.unreadOf(DM), 0);
  store.noteSent({ conversation: DM, id: "mine", seq: 3, body: "hello" });
  assert.equal(store.unreadOf(DM), 0);
  assert.equal(store.entries[DM].lastSeq, 3);
});

test("a failed list says so and is tried again later", async () => {
  const line = fakeLine();
  const store = createMessagesStore({ line, load: async () => { throw new Error("Could not reach Haven."); },
    attention: () => {} });
  store.start(ME);
  await store.refresh();
  assert.equal(store.error, "Could not reach Haven.");
  assert.equal(store.loaded, false);
  store.stop();
});

test("a message from someone the list does not have, or a refusal, reads the list again", async () => {
  const line = fakeLine();
  let reads = 0;
  let answer = { conversations: [] };
  const store = createMessagesStore({ line, load: async () => { reads += 1; return answer; }, attention: () => {} });
  store.start(ME);
  await store.refresh();
  // Newly paired with Morgan, who writes first: the list, read again, says who Morgan is to me.
  answer = { conversations: [{ conversation: DM, kind: "dm", title: "Morgan", last_seq: 1, unread: 1,
    relationship: "mentor" }] };
  let before = reads;
  line.emit("chat:message", message(1));
  assert.equal(store.unreadOf(DM), 1);
  await store.refresh();
  assert.ok(reads > before);
  assert.equal(store.entries[DM].relationship, "mentor");
  assert.equal(store.unreadOf(DM), 1);
  // The pairing ends: the server refuses the conversation, the list no longer names it, nothing waits.
  answer = { conversations: [] };
  before = reads;
  store.markClosed(DM);
  assert.equal(store.directUnread, 0);
  await store.refresh();
  assert.ok(reads > before);
  assert.equal(store.entries[DM], undefined);
  store.stop();
});
