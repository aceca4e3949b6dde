// The conversations page's list (no DOM here): every direct conversation the person may have, whether or not a
// message was ever written, with its unread count.
// - contacts (GET /api/contacts): the people they are paired with (a mentor's mentees, a mentee's mentors);
// - members: for a facilitator, the people of the groups they facilitate (GET /api/groups/{id}/members);
// - the direct conversations of GET /api/conversations (and those live events brought): people written with before,
//   including a pairing that has since ended (its history stays readable; the server refuses new messages there).
import { nameOf, unreadOf } from "./unread.js";

const RELATIONSHIPS = { mentor: "Your mentor", mentee: "Your mentee" };

export const userOf = (conversation) => {
  const name = nameOf(conversation);
  return name.startsWith("dm:") ? name.slice(3) : null;
};

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.userId.localeCompare(b.userId);

/**
 * @param {object} sources
 * @param {Array<{user_id, display_name, relationship}>} [sources.contacts]
 * @param {Array<{user_id, display_name, role, group_name}>} [sources.members] people of a facilitator's groups
 * @param {object} [sources.entries] the unread state's entries (unread.js), by conversation name
 * @param {string} [sources.selfId] never listed
 * @returns {Array<{userId, conversation, name, detail, unread, lastSeq, lastAt, known}>} unread ones first, then
 *   those that had a message while this page was open (latest first), then by name. `known`: the person is a
 *   current contact or group member (the conversation is open to new messages).
 */
export function conversationList({ contacts = [], members = [], entries = {}, selfId = null } = {}) {
  const people = new Map(); // user id -> item
  const add = (userId, name, detail, known) => {
    const id = nameOf(userId);
    if (!id || id === nameOf(selfId)) return;
    const had = people.get(id);
    if (had) {
      if (!had.name && name) had.name = name;
      if (known && !had.known) {
        had.known = true;
        had.detail = detail;
      }
      return;
    }
    people.set(id, { userId: id, conversation: `dm:${id}`, name: name || "", detail, unread: 0, lastSeq: 0, lastAt: 0,
      known });
  };
  for (const c of Array.isArray(contacts) ? contacts : []) {
    if (c && typeof c.user_id === "string") add(c.user_id, c.display_name, RELATIONSHIPS[c.relationship] || "", true);
  }
  for (const m of Array.isArray(members) ? members : []) {
    if (!m || typeof m.user_id !== "string") continue;
    const role = m.role === "facilitator" ? "Facilitator" : "Member";
    add(m.user_id, m.display_name, m.group_name ? `${role}, ${m.group_name}` : role, true);
  }
  for (const entry of Object.values(entries || {})) {
    if (entry?.kind !== "dm") continue;
    const id = userOf(entry.conversation);
    if (!id) continue;
    add(id, entry.title, "", false);
    const item = people.get(id);
    if (!item) continue;
    item.unread = unreadOf(entry);
    if (entry.closed && !item.known) item.detail = "Conversation closed";
    item.lastSeq = entry.lastSeq;
    item.lastAt = entry.lastAt;
  }
  const list = [...people.values()];
  for (const item of list) if (!item.name) item.name = "Someone";
  return list.sort((a, b) => (b.unread > 0) - (a.unread > 0) || b.lastAt - a.lastAt || byName(a, b));
}

// "Morgan, your mentor, 2 unread messages": what a screen reader says for a conversation's link.
export function conversationLabel(item) {
  const parts = [item.name];
  if (item.detail) parts.push(item.detail.charAt(0).toLowerCase() + item.detail.slice(1));
  if (item.unread > 0) parts.push(`${item.unread} unread ${item.unread === 1 ? "message" : "messages"}`);
  return parts.join(", ");
}
