// Small pure parts of the room's chat and confirm steps: what counts as an act that went through (where focus goes
// after a confirm step), and how a new chat message from someone else is read out.
import { test } from "node:test";
import assert from "node:assert/strict";

import { saidText } from "../src/room/chat.js";
import { succeeded } from "../src/room/confirm-step.js";

test("a confirm step's act failed when it says false or answers {ok: false}; else it went through", () => {
  assert.equal(succeeded(undefined), true);
  assert.equal(succeeded(true), true);
  assert.equal(succeeded({ ok: true }), true);
  assert.equal(succeeded(false), false);
  assert.equal(succeeded({ ok: false, error: { code: "not_found" } }), false);
});

test("a new message is read out with its sender's name, long ones cut short", () => {
  assert.equal(saidText("Fran", "Welcome, everyone"), "Fran: Welcome, everyone");
  assert.equal(saidText("", "Hi"), "Someone: Hi");
  assert.equal(saidText("Sam", "x".repeat(10), 4), "Sam: xxxx…");
});
