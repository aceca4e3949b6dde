// The agreement editor's logic: the version in force in words, the body of a new version, and what is confirmed.
import { test } from "node:test";
import assert from "node:assert/strict";

import { MAX_AGREEMENT_CHARS, agreementBody, agreementStatus, nextVersion, paragraphs, publishQuestion, publishedText }
  from "../src/program/agreement.js";

const pinned = { now: new Date("2025-03-04T20:00:00Z"), locale: "en-US", timeZone: "UTC" };

test("agreementStatus names the version and when it was published, or that there is none", () => {
  assert.equal(agreementStatus({ version: 3, text: "x", created_at: "2025-03-04T18:00:00+00:00" }, pinned),
    "Version 3, published today at 6:00 PM.");
  assert.equal(agreementStatus({ version: 1, text: "x" }), "Version 1.");
  assert.match(agreementStatus({ version: null, text: null, accepted: true }), /^No agreement yet/);
  assert.match(agreementStatus(null), /^No agreement yet/);
});

test("agreementBody refuses blank, too long, control characters and the text already in force", () => {
  assert.deepEqual(agreementBody("We keep what is said here.\n\nWe listen."),
    { body: { text: "We keep what is said here.\n\nWe listen." } });
  assert.match(agreementBody("  \n ").error, /Write the agreement/);
  assert.match(agreementBody("a".repeat(MAX_AGREEMENT_CHARS + 1)).error, /at most 20,000 characters; this one has 20,001/);
  // Characters, not UTF-16 units: 20,000 emoji are 40,000 units but allowed.
  assert.ok(agreementBody("🙂".repeat(MAX_AGREEMENT_CHARS)).body);
  assert.match(agreementBody("bell\u0007").error, /control character/);
  assert.ok(agreementBody("tabs\tand\r\nbreaks").body);
  assert.match(agreementBody("Same.", { version: 2, text: "Same." }).error, /version 2 already/);
  assert.ok(agreementBody("Same.", { version: null, text: null }).body);
});

test("agreementBody sends the text as NFC, as the server keeps it", () => {
  assert.equal(agreementBody("Cafe\u0301").body.text, "Caf\u00e9");
  assert.match(agreementBody("Caf\u00e9", { version: 1, text: "Cafe\u0301" }).error, /already/);
});

test("publishing is confirmed with the next version and what it means for participants", () => {
  assert.equal(nextVersion(null), 1);
  assert.equal(nextVersion({ version: 4 }), 5);
  assert.match(publishQuestion({ version: 4 }), /^Publish this as version 5\? .*accept it again/);
  assert.match(publishQuestion(null), /version 1\?/);
  assert.match(publishedText(5), /^Version 5 is published\. Participants will be asked to accept it/);
});

test("paragraphs split at blank lines", () => {
  assert.deepEqual(paragraphs("One\nline\n\n  \nTwo\n\n"), ["One\nline", "Two"]);
  assert.deepEqual(paragraphs(null), []);
});
