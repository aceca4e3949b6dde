// Catching up a conversation (src/room/chat-catch-up.js) into the messages held (src/room/chat-log.js): live
// chat:message fan-out is at most once, so a gap in the seqs is fetched from chat:history after the highest seq held
// without a gap, one fetch at a time, and merged in seq order without duplicates. Requests are answered by hand, so a
// test decides what is in flight; the gap's short wait runs on node:test's fake timers.
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { ChatLog } from "../src/room/chat-log.js";
import {
  CATCH_UP_PAGE, createCatchUp, GAP_WAIT_MS, LATEST_PAGE, LOAD_PROBLEM, RETRY_MS,
} from "../src/room/chat-catch-up.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));
const CONVERSATION = "room:6f1c2a52-46b5-4b8e-9a47-4c1d1e0f8a10";

const message = (seq, extra = {}) => ({ conversation: CONVERSATION, id: `id-${seq}`, seq, sender_id: "u-ada",
  display_name: "Ada", body: `message ${seq}`, sent_at: "2026-12-01T10:00:00.000000+00:00", ...extra });
const messages = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => message(from + i));

function chat({ open = true } = {}) {
  let active = open;
  const log = new ChatLog();
  const asked = []; // {event, payload, resolve}
  const problems = [];
  const catchUp = createCatchUp({
    log,
    request: (event, payload) => new Promise((resolve) => asked.push({ event, payload, resolve })),
    conversation: () => CONVERSATION,
    isActive: () => active,
    onProblem: (text) => problems.push(text),
  });
  return {
    log,
    setActive: (value) => {
      active = value;
    },
    asked,
    problems,
    catchUp,
    // The server's answer to the nth request.
    answer: async (n, page) => {
      asked[n].resolve(Array.isArray(page) ? { ok: true, conversation: CONVERSATION, messages: page } : page);
      await settle();
    },
    // A live chat:message, as the chat panel takes it.
    live: (m) => {
      log.put(m);
      catchUp.checkGap();
    },
  };
}

// The chat opened with messages 1..n.
async function opened(n) {
  const c = chat();
  c.catchUp.entered();
  await c.answer(0, messages(1, n));
  return c;
}

const afterSeq = (c) => c.asked.slice(1).map((a) => a.payload.after_seq);

beforeEach(() => {
  mock.timers.enable({ apis: ["setTimeout"] });
});

afterEach(() => {
  mock.timers.reset();
});

test("the chat opens with the latest page", async () => {
  const c = chat();
  c.catchUp.entered();
  assert.deepEqual(c.asked.map((a) => [a.event, a.payload]),
    [["chat:history", { conversation: CONVERSATION, limit: LATEST_PAGE }]]);
  await c.answer(0, messages(1, 3));
  assert.deepEqual(c.log.seqs(), [1, 2, 3]);
  assert.equal(c.log.contiguous, 3);
  assert.equal(c.catchUp.loaded, true);
});

test("a gap in the live seqs asks chat:history once, after the highest seq held, with the largest limit", async () => {
  const c = await opened(3);
  c.live(message(4)); // the next one: no gap
  mock.timers.tick(GAP_WAIT_MS);
  assert.equal(c.asked.length, 1);

  c.live(message(7)); // 5 and 6 never came
  mock.timers.tick(GAP_WAIT_MS - 1);
  assert.equal(c.asked.length, 1, "live events may arrive slightly out of order: a short wait first");
  mock.timers.tick(1);
  assert.equal(c.asked.length, 2);
  assert.deepEqual(c.asked[1].payload, { conversation: CONVERSATION, after_seq: 4, limit: CATCH_UP_PAGE });

  c.live(message(8)); // arrives while the fetch is on its way, right after what it will bring
  mock.timers.tick(GAP_WAIT_MS);
  await c.answer(1, messages(5, 7));
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.equal(c.asked.length, 2, "exactly one history request for the gap");
  assert.deepEqual(c.log.seqs(), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(c.log.contiguous, 8);
});

test("a gap filled by live messages within the short wait is not fetched", async () => {
  const c = await opened(3);
  c.live(message(5));
  c.live(message(4));
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.equal(c.asked.length, 1);
  assert.deepEqual(c.log.seqs(), [1, 2, 3, 4, 5]);
});

test("what is fetched is merged in seq order without duplicates; deleted messages count as held", async () => {
  const c = await opened(3);
  c.live(message(6));
  c.live(message(9, { body: null, deleted: true })); // a tombstone holds its place
  c.live(message(6)); // delivered twice
  mock.timers.tick(GAP_WAIT_MS);
  assert.equal(c.asked[1].payload.after_seq, 3);
  await c.answer(1, [...messages(2, 7), message(8, { body: null, deleted: true }), message(9, { body: null,
    deleted: true })]);
  assert.deepEqual(c.log.seqs(), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(c.log.records.map((r) => r.id), c.log.seqs().map((s) => `id-${s}`));
  assert.deepEqual(c.log.records.filter((r) => r.deleted).map((r) => [r.seq, r.body]), [[8, null], [9, null]]);
  assert.equal(c.log.contiguous, 9);

  // Another message claiming a seq already held is not taken; a deletion of one held is.
  assert.equal(c.log.put(message(5, { id: "someone-else" })).change, null);
  assert.equal(c.log.put(message(5, { body: null, deleted: true })).change, "deleted");
  assert.equal(c.log.records.length, 9);
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.equal(c.asked.length, 2, "no gap left: nothing more is asked");
});

test("a gap that opens while a fetch is in flight is fetched once more, right after it", async () => {
  const c = await opened(3);
  c.live(message(6));
  mock.timers.tick(GAP_WAIT_MS);
  assert.deepEqual(afterSeq(c), [3]);

  c.live(message(10)); // 7 to 9 missed too, while the first fetch is on its way
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.deepEqual(afterSeq(c), [3], "never two fetches at once");

  await c.answer(1, messages(4, 6));
  assert.deepEqual(afterSeq(c), [3, 6], "one more fetch, after the first");
  await c.answer(2, messages(7, 10));
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.deepEqual(afterSeq(c), [3, 6]);
  assert.deepEqual(c.log.seqs(), messages(1, 10).map((m) => m.seq));
});

test("a long gap is fetched page after page while the pages come back full", async () => {
  const c = await opened(1);
  c.live(message(450));
  mock.timers.tick(GAP_WAIT_MS);
  await c.answer(1, messages(2, 201));
  await c.answer(2, messages(202, 401));
  await c.answer(3, messages(402, 450));
  assert.deepEqual(afterSeq(c), [1, 201, 401]);
  assert.equal(c.log.records.length, 450);
  assert.equal(c.log.contiguous, 450);
});

test("a short page ends the catch-up, also when the reader may not read some seqs", async () => {
  // A participant's history skips the sessions they did not attend: 4 to 19 will never come.
  const c = await opened(3);
  c.live(message(20));
  mock.timers.tick(GAP_WAIT_MS);
  await c.answer(1, []);
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.deepEqual(afterSeq(c), [3]);
  assert.equal(c.log.contiguous, 20);
});

test("entering again (a reconnect) asks everything after the highest seq held, then the latest page", async () => {
  const c = await opened(3);
  c.catchUp.entered();
  assert.deepEqual(c.asked[1].payload, { conversation: CONVERSATION, after_seq: 3, limit: CATCH_UP_PAGE });
  await c.answer(1, messages(4, 5));
  // Deletions may have been missed as well as messages.
  assert.deepEqual(c.asked[2].payload, { conversation: CONVERSATION, limit: LATEST_PAGE });
  await c.answer(2, [message(1), message(2, { body: null, deleted: true }), ...messages(3, 5)]);
  assert.equal(c.asked.length, 3);
  assert.equal(c.log.records[1].deleted, true);
  assert.deepEqual(c.log.seqs(), [1, 2, 3, 4, 5]);

  // More than a page was missed: the catch-up starts after the highest seq held without a gap, page after page.
  c.catchUp.entered();
  assert.equal(c.asked[3].payload.after_seq, 5);
  await c.answer(3, messages(6, 205));
  assert.equal(c.asked[4].payload.after_seq, 205);
  await c.answer(4, messages(206, 210));
  assert.deepEqual(c.asked[5].payload, { conversation: CONVERSATION, limit: LATEST_PAGE });
  await c.answer(5, messages(161, 210));
  assert.equal(c.asked.length, 6);
  assert.equal(c.log.contiguous, 210);
});

test("an entry while a gap is being fetched is caught up right after it", async () => {
  const c = await opened(3);
  c.live(message(6));
  mock.timers.tick(GAP_WAIT_MS);
  c.catchUp.entered();
  assert.equal(c.asked.length, 2);
  await c.answer(1, messages(4, 6));
  assert.deepEqual(c.asked[2].payload, { conversation: CONVERSATION, after_seq: 6, limit: CATCH_UP_PAGE });
  await c.answer(2, []);
  assert.deepEqual(c.asked[3].payload, { conversation: CONVERSATION, limit: LATEST_PAGE });
  await c.answer(3, messages(1, 6));
  assert.deepEqual(afterSeq(c), [3, 6, undefined]);
});

test("a fetch that fails is shown as a problem and tried again a little later", async () => {
  const c = await opened(3);
  c.live(message(6));
  mock.timers.tick(GAP_WAIT_MS);
  await c.answer(1, { ok: false, error: { code: "busy", message: "Haven is very busy." } });
  assert.equal(c.problems.at(-1), LOAD_PROBLEM);
  mock.timers.tick(RETRY_MS);
  assert.deepEqual(afterSeq(c), [3, 3]);
  await c.answer(2, messages(4, 6));
  assert.equal(c.problems.at(-1), null);
  assert.equal(c.log.contiguous, 6);
});

test("no gap is fetched while the chat is closed (waiting in the lobby); the next entry catches up", async () => {
  const c = chat({ open: false });
  c.catchUp.entered();
  await c.answer(0, messages(1, 3));
  c.live(message(6));
  mock.timers.tick(GAP_WAIT_MS);
  await settle();
  assert.equal(c.asked.length, 1);

  c.setActive(true);
  c.catchUp.entered();
  await c.answer(1, messages(4, 8)); // what came after seq 3
  await c.answer(2, messages(1, 8)); // the latest page
  assert.deepEqual(afterSeq(c), [3, undefined]);
  assert.deepEqual(c.log.seqs(), [1, 2, 3, 4, 5, 6, 7, 8]);
});
