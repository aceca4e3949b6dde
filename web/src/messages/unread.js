// Unread counts of the person's conversations, kept live across the client (no DOM here; store.js runs it).
//
// GET /api/conversations says, per conversation, the highest seq (`last_seq`) and how many of others' messages
// after the person's last read mark are unread (`unread`), but not where the mark is. Live events then move the
// counts: a chat:message from someone else past what the list covered is one more unread; a chat:read (this device's
// own mark once acknowledged, or the server telling of another device's) clears what it covers. Live delivery is at
// most once and may come out of order, so each conversation remembers the seqs it counted (never twice) and says when
// only a fresh read of the list can tell (a read mark that falls inside what the list counted): `refresh`.
//
// The list names every direct conversation the person may have now (docs/protocol.md 7.5), with `relationship`: what
// the other person is to them. A conversation it does not name cannot be read: a live message in one the list did not
// have (someone new, or a link made since) asks for the list again, and a new list drops what it no longer names.
//
// An entry: {conversation, kind: "dm"|"room", title, relationship ("mentor"|"mentee"|"facilitator"|"group_member"|
// null), baseSeq (the list's last_seq), baseUnread (the list's unread), seen: seqs past baseSeq met live, unreadSeqs:
// those of them from others still unread, readSeq (the highest read mark known), lastSeq, lastAt (when the latest live
// message came, ms; 0 when none came while this page was open), closed (the server refused it since the list was read:
// it counts nothing until a list names it again)}.

export const EMPTY = Object.freeze({ loaded: false, entries: Object.freeze({}) });

// Conversation names are compared in lower case (user and group ids are UUIDs).
export const nameOf = (value) => (typeof value === "string" ? value.trim().toLowerCase() : "");

export function kindOf(name) {
  if (name.startsWith("dm:")) return "dm";
  if (name.startsWith("room:")) return "room";
  return null;
}

const count = (n) => (Number.isInteger(n) && n > 0 ? n : 0);

// A closed conversation (the server refused it: a pairing or shared group that ended) has nothing the person can read.
export function unreadOf(entry) {
  return entry && !entry.closed ? entry.baseUnread + entry.unreadSeqs.length : 0;
}

const RELATIONSHIPS = new Set(["mentor", "mentee", "facilitator", "group_member"]);

function blank(conversation, kind, title = null) {
  return { conversation, kind, title, relationship: null, baseSeq: 0, baseUnread: 0, seen: [], unreadSeqs: [],
    readSeq: 0, lastSeq: 0, lastAt: 0, closed: false };
}

function fromList(item) {
  const conversation = nameOf(item?.conversation);
  const kind = item?.kind === "dm" || item?.kind === "room" ? item.kind : kindOf(conversation);
  if (!conversation || !kind) return null;
  const entry = blank(conversation, kind, typeof item.title === "string" && item.title ? item.title : null);
  if (kind === "dm" && RELATIONSHIPS.has(item.relationship)) entry.relationship = item.relationship;
  entry.baseSeq = count(item.last_seq);
  entry.lastSeq = entry.baseSeq;
  entry.baseUnread = count(item.unread);
  return entry;
}

function withEntry(state, entry) {
  return { ...state, entries: { ...state.entries, [entry.conversation]: entry } };
}

function onMessage(state, { message, selfId, reading = false, now = 0 }) {
  const conversation = nameOf(message?.conversation);
  const kind = kindOf(conversation);
  const seq = message?.seq;
  if (!kind || !Number.isInteger(seq) || seq < 1) return { state, refresh: false };
  const fromOther = Boolean(message.sender_id) && message.sender_id !== selfId;
  const known = state.entries[conversation];
  // A conversation the list did not have (someone new, or written from another of my devices): named after the other
  // person when they wrote it, until the list, read again, says who they are to me (or drops it).
  const entry = known ? { ...known } : blank(conversation, kind, fromOther ? message.display_name || null : null);
  const refresh = !known;
  entry.lastAt = Math.max(entry.lastAt, now);
  if (seq <= entry.baseSeq || entry.seen.includes(seq)) return { state: withEntry(state, entry), refresh };
  entry.seen = [...entry.seen, seq];
  entry.lastSeq = Math.max(entry.lastSeq, seq);
  const deleted = message.deleted === true || message.body === null;
  if (fromOther && !deleted && seq > entry.readSeq) {
    // Being read on screen now: the thread marks it read at once, so it never shows as waiting.
    if (reading) entry.readSeq = Math.max(entry.readSeq, seq);
    else entry.unreadSeqs = [...entry.unreadSeqs, seq];
  }
  return { state: withEntry(state, entry), refresh };
}

function onRead(state, { conversation: name, seq }) {
  const conversation = nameOf(name);
  const entry = state.entries[conversation];
  if (!entry || !Number.isInteger(seq) || seq < 1) return { state, refresh: false };
  const unreadSeqs = entry.unreadSeqs.filter((s) => s > seq);
  const clearsBase = entry.baseUnread > 0 && seq >= entry.baseSeq;
  if (seq <= entry.readSeq && unreadSeqs.length === entry.unreadSeqs.length && !clearsBase) {
    return { state, refresh: false }; // nothing new
  }
  const next = { ...entry, readSeq: Math.max(entry.readSeq, seq), unreadSeqs };
  let refresh = false;
  if (clearsBase) next.baseUnread = 0;
  // Some of what the list counted is read now, but which of them is not known here.
  else if (entry.baseUnread > 0 && seq > entry.readSeq) refresh = true;
  return { state: withEntry(state, next), refresh };
}

function onDeleted(state, { conversation: name, seq }) {
  const conversation = nameOf(name);
  const entry = state.entries[conversation];
  if (!entry || !Number.isInteger(seq)) return { state, refresh: false };
  if (entry.unreadSeqs.includes(seq)) {
    return { state: withEntry(state, { ...entry, unreadSeqs: entry.unreadSeqs.filter((s) => s !== seq) }),
      refresh: false };
  }
  // A deleted message no longer counts; the list knows whether it was one of those it counted.
  return { state, refresh: seq <= entry.baseSeq && seq > entry.readSeq && entry.baseUnread > 0 };
}

function onLoaded(state, { conversations }) {
  const entries = {};
  for (const item of Array.isArray(conversations) ? conversations : []) {
    const entry = fromList(item);
    if (!entry) continue;
    // Keeps the order of what came while this page was open, and what came live past what this list covers (a list
    // read just before it). Named by the list, it is open again (not closed).
    const before = state.entries[entry.conversation];
    if (before) {
      entry.lastAt = before.lastAt;
      entry.seen = before.seen.filter((seq) => seq > entry.baseSeq);
      entry.unreadSeqs = before.unreadSeqs.filter((seq) => seq > entry.baseSeq);
      entry.lastSeq = Math.max(entry.baseSeq, ...entry.seen);
    }
    entries[entry.conversation] = entry;
  }
  return { state: { loaded: true, entries }, refresh: false };
}

/**
 * The next state for an event, and whether the list must be read again to know the counts.
 * Events: {type: "loaded", conversations} (GET /api/conversations), {type: "message", message, selfId, reading, now},
 * {type: "read", conversation, seq}, {type: "deleted", conversation, seq}, {type: "closed", conversation} (the server
 * refused it), {type: "reset"}.
 * @returns {{state: object, refresh: boolean}}
 */
export function reduce(state, event) {
  switch (event?.type) {
    case "loaded":
      return onLoaded(state, event);
    case "message":
      return onMessage(state, event);
    case "read":
      return onRead(state, event);
    case "deleted":
      return onDeleted(state, event);
    case "closed": {
      const conversation = nameOf(event.conversation);
      const entry = state.entries[conversation] || blank(conversation, kindOf(conversation));
      if (!entry.kind || entry.closed) return { state, refresh: false };
      // The list, read again, no longer names it (or names it again when a new link opened it meanwhile).
      return { state: withEntry(state, { ...entry, closed: true }), refresh: true };
    }
    case "reset":
      return { state: EMPTY, refresh: false };
    default:
      return { state, refresh: false };
  }
}

// Unread messages in direct conversations: the count on the Messages link and in the tab's title.
export function directUnread(state) {
  return Object.values(state.entries).reduce((sum, e) => sum + (e.kind === "dm" ? unreadOf(e) : 0), 0);
}
