// What wants the person's attention across the client (unread messages, missed calls), counted by source and shown
// in the tab's title as "(3) Messages · Haven", so a background tab says it too. Views set their own count; the title's
// page part is set by the router (setPageTitle). A call ringing takes the title's words ("Call from Sam · Haven")
// while it rings (setRingingTitle); the counts stay in front, and the page's own title comes back when it stops.

const counts = new Map(); // source -> count
const listeners = new Set();
let pageTitle = "Haven";
let ringingTitle = null;

/** The tab's title: the counts' total in front of the ringing call's words, or else the page's. */
export function titleText({ page, ringing = null, total = 0 }) {
  const words = ringing || page;
  return total > 0 ? `(${total}) ${words}` : words;
}

function paint() {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  document.title = titleText({ page: pageTitle, ringing: ringingTitle, total });
}

export function setPageTitle(title) {
  pageTitle = title;
  paint();
}

// The words of a ringing call for the title, or null once it stops ringing.
export function setRingingTitle(title) {
  ringingTitle = title || null;
  paint();
}

// source: "messages", "calls", ...; count: a whole number of things waiting (0 clears it).
export function setAttention(source, count) {
  const n = Math.max(0, Math.floor(Number(count) || 0));
  if (n === 0) counts.delete(source);
  else counts.set(source, n);
  paint();
  for (const fn of listeners) fn(source, n);
}

export function attentionOf(source) {
  return counts.get(source) || 0;
}

// fn(source, count) on every change; returns the function that stops it.
export function onAttention(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
