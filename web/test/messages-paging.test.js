// A thread's pages of history (src/messages/paging.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { hasOlder, keptScrollTop, nearBottom, nearTop, olderRequest, readMarkDue, typingDue }
  from "../src/messages/paging.js";

const page = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => ({ id: `m${from + i}`, seq: from + i }));

test("a full page above seq 1 may have older messages before it", () => {
  assert.equal(hasOlder(page(11, 60)), true);
  assert.equal(hasOlder(page(1, 50)), false);
  assert.equal(hasOlder(page(20, 30)), false);
  assert.equal(hasOlder(page(3, 5), 3), true);
  assert.equal(hasOlder(null), false);
});

test("the older page is asked before the oldest seq held", () => {
  assert.deepEqual(olderRequest("dm:x", 11), { conversation: "dm:x", before_seq: 11, limit: 50 });
  assert.equal(olderRequest("dm:x", 1), null);
  assert.equal(olderRequest("dm:x", undefined), null);
});

test("messages put above keep the one being read in its place", () => {
  assert.equal(keptScrollTop({ topBefore: 10, heightBefore: 1000, heightAfter: 2500 }), 1510);
  assert.equal(keptScrollTop({ topBefore: 0, heightBefore: 1000, heightAfter: 1000 }), 0);
  assert.equal(nearTop(50), true);
  assert.equal(nearTop(500), false);
  assert.equal(nearBottom({ scrollTop: 940, scrollHeight: 1500, clientHeight: 500 }), true);
  assert.equal(nearBottom({ scrollTop: 100, scrollHeight: 1500, clientHeight: 500 }), false);
});

test("typing is told at most every 2 s; a read mark only when visible and new", () => {
  assert.equal(typingDue(-Infinity, 0), true);
  assert.equal(typingDue(1000, 2500), false);
  assert.equal(typingDue(1000, 3000), true);
  assert.equal(readMarkDue({ highest: 7, readSeq: 5, visible: true }), 7);
  assert.equal(readMarkDue({ highest: 7, readSeq: 7, visible: true }), null);
  assert.equal(readMarkDue({ highest: 7, readSeq: 5, visible: false }), null);
});
