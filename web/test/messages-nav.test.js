// The main navigation per role (src/nav.js): no link that leads nowhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { linkLabel, navLinks } from "../src/nav.js";

const texts = (links) => links.map((l) => `${l.text} ${l.href}`);

test("each role has its own links", () => {
  assert.deepEqual(texts(navLinks({ role: "participant" })), ["Home #/groups", "Messages #/messages"]);
  assert.deepEqual(texts(navLinks({ role: "participant" }, { paired: true })),
    ["Home #/groups", "Messages #/messages", "Mentor calls #/contacts"]);
  assert.deepEqual(texts(navLinks({ role: "mentor" })), ["Mentees #/contacts", "Messages #/messages"]);
  assert.deepEqual(texts(navLinks({ role: "mentor" }, { inGroups: true })),
    ["Mentees #/contacts", "Messages #/messages", "My groups #/groups"]);
  assert.deepEqual(texts(navLinks({ role: "facilitator" })), ["My groups #/groups", "Messages #/messages"]);
  assert.deepEqual(texts(navLinks({ role: "admin" })), ["Program console #/admin"]);
  assert.deepEqual(navLinks(null), []);
});

test("a participant's calls link stays while missed calls wait there, even once the pairing ended", () => {
  assert.deepEqual(texts(navLinks({ role: "participant" }, { missedCalls: 2 })),
    ["Home #/groups", "Messages #/messages", "Mentor calls #/contacts"]);
  assert.deepEqual(texts(navLinks({ role: "participant" }, { missedCalls: 0 })),
    ["Home #/groups", "Messages #/messages"]);
});

test("badges are said in the link's name", () => {
  const [, messages, calls] = navLinks({ role: "participant" }, { paired: true });
  assert.equal(linkLabel(messages, 2), "Messages, 2 unread");
  assert.equal(linkLabel(messages, 0), "Messages");
  assert.equal(linkLabel(calls, 1), "Mentor calls, 1 missed call");
  assert.equal(linkLabel(calls, 3), "Mentor calls, 3 missed calls");
});
