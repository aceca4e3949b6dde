// The conversations page's list (no DOM here), built from GET /api/conversations alone (through the unread store's
// entries): a direct conversation with everyone the person may message now, whether or not a message was ever
// written, each with its unread count and what the other person is to them. A conversation whose pairing or shared
// group ended is not in the list (it can no longer be read); one that a live message brought before the list was
// read again shows under the sender's name until the list says more.
import { nameOf, unreadOf } from "./unread.js";

// What the other person is to the one reading (the list's `relationship`).
export const RELATIONSHIPS = Object.freeze({
  mentor: "Your mentor",
  mentee: "Your mentee",
  facilitator: "Facilitator of your group",
  group_member: "Member of your group",
});

export const userOf = (conversation) => {
  const name = nameOf(conversation);
  return name.startsWith("dm:") ? name.slice(3) : null;
};

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.userId.localeCompare(b.userId);

/**
 * @param {object} sources
 * @param {object} [sources.entries] the unread state's entries (unread.js), by conversation name
 * @param {string} [sources.selfId] never listed
 * @returns {Array<{userId, conversation, name, detail, relationship, unread, lastSeq, lastAt}>} unread ones first,
 *   then those that had a message while this page was open (latest first), then those with something said, then
 *   by name.
 */
export function conversationList({ entries = {}, selfId = null } = {}) {
  const list = [];
  for (const entry of Object.values(entries || {})) {
    if (entry?.kind !== "dm" || entry.closed) continue;
    const userId = userOf(entry.conversation);
    if (!userId || userId === nameOf(selfId)) continue;
    const relationship = Object.hasOwn(RELATIONSHIPS, entry.relationship) ? entry.relationship : null;
    list.push({ userId, conversation: `dm:${userId}`, name: entry.title || "Someone",
      detail: relationship ? RELATIONSHIPS[relationship] : "", relationship, unread: unreadOf(entry),
      lastSeq: entry.lastSeq || 0, lastAt: entry.lastAt || 0 });
  }
  return list.sort((a, b) => (b.unread > 0) - (a.unread > 0) || b.lastAt - a.lastAt
    || (b.lastSeq > 0) - (a.lastSeq > 0) || byName(a, b));
}

// "Morgan, your mentor, 2 unread messages": what a screen reader says for a conversation's link.
export function conversationLabel(item) {
  const parts = [item.name];
  if (item.detail) parts.push(item.detail.charAt(0).toLowerCase() + item.detail.slice(1));
  if (item.unread > 0) parts.push(`${item.unread} unread ${item.unread === 1 ? "message" : "messages"}`);
  return parts.join(", ");
}
