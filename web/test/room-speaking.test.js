// The sound level a mesh room's speaking indicator reads from each member's audio.
import { test } from "node:test";
import assert from "node:assert/strict";

import { levelOf } from "../src/room/speaking.js";

test("levelOf: silence is 0, a full-scale square wave 1, a quiet hiss below the speaking threshold", () => {
  assert.equal(levelOf(new Uint8Array(256).fill(128)), 0);
  assert.equal(levelOf(Uint8Array.from({ length: 256 }, (_, i) => (i % 2 ? 0 : 255))) > 0.99, true);
  const hiss = Uint8Array.from({ length: 256 }, (_, i) => 128 + (i % 3) - 1);
  assert.equal(levelOf(hiss) < 0.02, true);
  assert.equal(levelOf(new Uint8Array(0)), 0);
});
