// The room's polite live region: what changed around the person (someone waiting, a hand, a mute, a message while
// the chat is folded) is said once by a screen reader, without moving focus. Sentences that come together are said
// together; the region is emptied first so the same sentence twice is said twice.
import { h } from "../dom.js";

const GATHER_MS = 150;

export function createAnnouncer(id = "room-announce") {
  const el = h("p", { id, class: "visually-hidden", "aria-live": "polite", "aria-atomic": "true" });
  let queued = [];
  let timer = null;

  function say(text) {
    if (typeof text !== "string" || !text) return;
    queued.push(text);
    if (timer) return;
    el.textContent = "";
    timer = setTimeout(() => {
      timer = null;
      el.textContent = queued.join(" ");
      queued = [];
    }, GATHER_MS);
  }

  return { el, say, destroy: () => clearTimeout(timer) };
}
