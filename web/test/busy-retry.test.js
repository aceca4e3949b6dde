// The `busy` refusal (src/busy-retry.js) and the one request helper every connection uses (src/socket-request.js):
// a busy request is sent again, the very same, after the server's hint and a jitter of up to half of it, a bounded
// number of times; anything else is answered at once. The socket is a small stand-in answering from a script; the
// clock is node:test's fake timers.
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import {
  BUSY_DEADLINE_MS, busyDelay, busyHintOf, busyReconnectDelay, MAX_BUSY_ATTEMPTS, MAX_HINT_MS, MIN_HINT_MS,
} from "../src/busy-retry.js";
import { createRequest } from "../src/socket-request.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

const busy = (ms) => ({ ok: false, error: { code: "busy", message: "Haven is very busy. Trying again…",
  retry_after_ms: ms } });

class FakeSocket {
  // answers: acks in order (the last one repeats); undefined stands for no answer in time.
  constructor(answers) {
    this.connected = true;
    this.answers = answers;
    this.emitted = [];
  }

  timeout() {
    return {
      emit: (event, payload, callback) => {
        this.emitted.push({ event, payload, at: Date.now() });
        const ack = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
        if (ack === undefined) callback(new Error("operation has timed out"));
        else callback(null, ack);
      },
    };
  }
}

// A request on the fake socket whose jitter is random() * half the hint.
function requester(answers, random = () => 0.5) {
  const socket = new FakeSocket(answers);
  const request = createRequest(() => socket, { random });
  return { socket, request };
}

// Resolves the promise's state now: "pending", or what it resolved to.
async function stateOf(promise) {
  const pending = Symbol("pending");
  const value = await Promise.race([promise, settle().then(() => pending)]);
  return value === pending ? "pending" : value;
}

beforeEach(() => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
});

afterEach(() => {
  mock.timers.reset();
});

// -- the hint ----------------------------------------------------------------------------------------------

test("only a busy refusal has a hint, kept within the protocol's 50 ms to 30 s", () => {
  assert.equal(busyHintOf({ code: "busy", message: "x", retry_after_ms: 750 }), 750);
  assert.equal(busyHintOf({ code: "busy", retry_after_ms: 5 }), MIN_HINT_MS);
  assert.equal(busyHintOf({ code: "busy", retry_after_ms: 600_000 }), MAX_HINT_MS);
  assert.equal(busyHintOf({ code: "busy", retry_after_ms: "soon" }), 1000, "a busy refusal without a usable hint");
  for (const error of [null, undefined, "busy", {}, { code: "rate_limited", retry_after_ms: 100 },
    { code: "unavailable" }]) {
    assert.equal(busyHintOf(error), null);
  }
});

test("the wait is the hint and a jitter of up to half of it", () => {
  assert.equal(busyDelay(1000, () => 0), 1000);
  assert.equal(busyDelay(1000, () => 0.5), 1250);
  assert.equal(busyDelay(1000, () => 0.999999), 1499);
});

test("a connect refused as busy is made again after the hint and its jitter; other refusals as before", () => {
  assert.equal(busyReconnectDelay({ code: "busy", message: "x", retry_after_ms: 2000 }, () => 0.5), 2500);
  for (const data of [{ code: "unavailable", message: "x" }, { code: "rate_limited" }, null]) {
    assert.equal(busyReconnectDelay(data), null);
  }
});

// -- requests ----------------------------------------------------------------------------------------------

test("a request refused as busy is sent again, the very same, after the hint and its jitter", async () => {
  const payload = { conversation: "room:r1", body: "Hello", client_id: "c-1" };
  const { socket, request } = requester([busy(400), { ok: true, message: { id: "m1", seq: 7, sent_at: "t" } }]);
  const answer = request("chat:send", payload);
  await settle();
  assert.equal(socket.emitted.length, 1);

  mock.timers.tick(499); // 400 ms and a jitter of 0.5 * 200 ms
  await settle();
  assert.equal(socket.emitted.length, 1, "not before the hint and its jitter");
  mock.timers.tick(1);
  await settle();
  assert.equal(socket.emitted.length, 2);
  assert.deepEqual(socket.emitted.map((e) => [e.event, e.payload]), [["chat:send", payload], ["chat:send", payload]]);
  assert.equal(socket.emitted[1].payload.client_id, "c-1", "the same client id: the server stores it once");
  assert.equal(socket.emitted[1].at - socket.emitted[0].at, 500);
  assert.deepEqual(await answer, { ok: true, message: { id: "m1", seq: 7, sent_at: "t" } });
});

test("while a busy request waits, its caller has no answer yet: a chat message still shows as sending", async () => {
  const { request } = requester([busy(1000), busy(1000), { ok: true }]);
  const answer = request("chat:send", { conversation: "room:r1", body: "Hi", client_id: "c-2" });
  await settle();
  assert.equal(await stateOf(answer), "pending");
  mock.timers.tick(1250);
  await settle();
  assert.equal(await stateOf(answer), "pending", "refused again: still on its way");
  mock.timers.tick(1250);
  await settle();
  assert.deepEqual(await stateOf(answer), { ok: true });
});

test("after five busy refusals the last one is the answer, reported as any refusal", async () => {
  const { socket, request } = requester([busy(100)]);
  const answer = request("room:media", { room_id: "r1", kind: "audio", enabled: false });
  for (let i = 0; i < MAX_BUSY_ATTEMPTS + 2; i += 1) {
    await settle();
    mock.timers.tick(150);
  }
  await settle();
  assert.equal(socket.emitted.length, MAX_BUSY_ATTEMPTS);
  const ack = await answer;
  assert.equal(ack.ok, false);
  assert.equal(ack.error.code, "busy");
  assert.equal(ack.error.message, "Haven is very busy. Trying again…");
});

test("no retry is sent later than the deadline after the first send", async () => {
  const { socket, request } = requester([busy(20_000)], () => 0);
  const answer = request("chat:history", { conversation: "room:r1", limit: 50 });
  await settle();
  mock.timers.tick(20_000);
  await settle();
  assert.equal(socket.emitted.length, 2);
  mock.timers.tick(BUSY_DEADLINE_MS);
  await settle();
  assert.equal(socket.emitted.length, 2, "a third send would come 40 s after the first");
  assert.equal((await answer).error.code, "busy");
});

test("other refusals, and requests not answered in time, are answered at once and not sent again", async () => {
  for (const [ack, code] of [[{ ok: false, error: { code: "conflict", message: "x" } }, "conflict"],
    [{ ok: false, error: { code: "rate_limited", message: "x" } }, "rate_limited"], [undefined, "timeout"],
    ["not an object", "bad_ack"]]) {
    const { socket, request } = requester([ack, { ok: true }]);
    const answer = await request("room:lock", { room_id: "r1", locked: true });
    assert.equal(answer.error.code, code);
    assert.equal(socket.emitted.length, 1);
  }
});

test("a retry is not sent on a connection that dropped meanwhile, nor on another one", async () => {
  const { socket, request } = requester([busy(100), { ok: true }]);
  const answer = request("chat:send", { conversation: "room:r1", body: "Hi", client_id: "c-3" });
  await settle();
  socket.connected = false;
  mock.timers.tick(150);
  assert.equal((await answer).error.code, "offline");
  assert.equal(socket.emitted.length, 1);

  let current = new FakeSocket([busy(100), { ok: true }]);
  const first = current;
  const request2 = createRequest(() => current, { random: () => 0 });
  const answer2 = request2("call:hangup", { call_id: "k1" });
  await settle();
  first.connected = false; // signed out: the old connection is closed, a new one opened
  current = new FakeSocket([{ ok: true }]);
  mock.timers.tick(100);
  assert.equal((await answer2).error.code, "offline");
  assert.equal(current.emitted.length, 0);
});
