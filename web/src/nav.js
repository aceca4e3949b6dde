// The main navigation for each kind of person (no DOM here; main.js draws it). Every link leads somewhere that
// person has: a participant's "Mentor calls" only once they are paired (or while missed calls wait there, even after
// the pairing ended), "Messages" for those who may have direct conversations (administrators have none), a mentor's
// "My groups" only when they belong to a group.

/**
 * @param {{role: string}|null} me
 * @param {{paired?: boolean, inGroups?: boolean, hasDirect?: boolean, missedCalls?: number}} facts what is known of
 *   the person so far
 * @returns {Array<{key: string, href: string, text: string}>}
 */
export function navLinks(me, { paired = false, inGroups = false, hasDirect = false, missedCalls = 0 } = {}) {
  const home = { key: "home", href: "#/groups", text: "Home" };
  const groups = { key: "groups", href: "#/groups", text: "My groups" };
  const messages = { key: "messages", href: "#/messages", text: "Messages" };
  const calls = { key: "calls", href: "#/contacts", text: "Mentor calls" };
  switch (me?.role) {
    case "participant":
      return [home, messages, ...(paired || missedCalls > 0 ? [calls] : [])];
    case "mentor":
      return [{ key: "calls", href: "#/contacts", text: "Mentees" }, messages, ...(inGroups ? [groups] : [])];
    case "facilitator":
      return [groups, messages];
    case "admin":
      return [{ key: "admin", href: "#/admin", text: "Program console" }, ...(paired || hasDirect ? [messages] : [])];
    default:
      return [];
  }
}

// What a link says to a screen reader with its badge: "Messages, 2 unread", "Mentor calls, 1 missed call".
export function linkLabel(link, count) {
  if (!(count > 0)) return link.text;
  if (link.key === "messages") return `${link.text}, ${count} unread`;
  if (link.key === "calls") return `${link.text}, ${count} missed ${count === 1 ? "call" : "calls"}`;
  return `${link.text}, ${count}`;
}
