// The tab's title (src/attention.js): counts in front, a ringing call's words over the page's while it rings.
import { test } from "node:test";
import assert from "node:assert/strict";

import { setAttention, setPageTitle, setRingingTitle, titleText } from "../src/attention.js";

test("the title puts the count in front of the ringing call or the page", () => {
  assert.equal(titleText({ page: "Home · Haven" }), "Home · Haven");
  assert.equal(titleText({ page: "Home · Haven", total: 2 }), "(2) Home · Haven");
  assert.equal(titleText({ page: "Home · Haven", ringing: "Call from Sam · Haven", total: 1 }),
    "(1) Call from Sam · Haven");
});

test("a ringing title survives other updates and gives way when the ring stops", () => {
  globalThis.document = { title: "" };
  try {
    setPageTitle("Messages · Haven");
    setRingingTitle("Call from Sam · Haven");
    setAttention("messages", 3); // an unread count changing while it rings
    assert.equal(document.title, "(3) Call from Sam · Haven");
    setPageTitle("Home · Haven"); // the person moves to another page
    assert.equal(document.title, "(3) Call from Sam · Haven");
    setRingingTitle(null);
    assert.equal(document.title, "(3) Home · Haven");
    setAttention("messages", 0);
    assert.equal(document.title, "Home · Haven");
  } finally {
    delete globalThis.document;
  }
});
