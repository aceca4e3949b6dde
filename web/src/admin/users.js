// People as the program console shows and changes them: the body of a new account, the filter of the list, the
// words of each change an administrator confirms (docs/protocol.md 4.2), and a password an administrator may hand
// out. No DOM here.
import { checkDisplayName, checkEmail, checkPassword } from "./bounds.js";

export const ROLES = ["participant", "mentor", "facilitator", "admin"];
export const ROLE_LABELS = { participant: "Participant", mentor: "Mentor", facilitator: "Facilitator", admin: "Administrator" };
// "a participant", "an administrator": for sentences.
const ROLE_WITH_ARTICLE = { participant: "a participant", mentor: "a mentor", facilitator: "a facilitator",
  admin: "an administrator" };

export const roleLabel = (role) => ROLE_LABELS[role] || String(role ?? "");
export const roleWithArticle = (role) => ROLE_WITH_ARTICLE[role] || String(role ?? "");
export const nameOf = (user) => user?.display_name || user?.email || "This person";

/** The body of POST /api/users from the form's values, or {error, field} naming the first field that is wrong. */
export function newUserBody({ email, display_name: displayName, role, password }) {
  const checked = [
    ["email", checkEmail(email)],
    ["display_name", checkDisplayName(displayName)],
    ["role", ROLES.includes(role) ? { value: role } : { error: "Choose a role." }],
    ["password", checkPassword(password)],
  ];
  const body = {};
  for (const [field, result] of checked) {
    if (result.error) return { error: result.error, field };
    body[field] = result.value;
  }
  return { body };
}

export function createQuestion(body) {
  return `Add ${body.display_name} (${body.email}) as ${roleWithArticle(body.role)}? They sign in with this email `
    + "and the password you chose; give it to them yourself.";
}

/** Whether `user` fits the list's filter: text found in the name or email (any case), a role, a status. */
export function userMatches(user, { text = "", role = "", status = "" } = {}) {
  if (role && user.role !== role) return false;
  if (status === "active" && user.disabled) return false;
  if (status === "disabled" && !user.disabled) return false;
  const needle = String(text).trim().toLocaleLowerCase();
  if (!needle) return true;
  return [user.display_name, user.email].some((v) => String(v ?? "").toLocaleLowerCase().includes(needle));
}

export const filterUsers = (users, filter) => (Array.isArray(users) ? users : []).filter((u) => userMatches(u, filter));

/** Whether the list's filter asks for anything (a text, a role or a status). */
export const isFiltering = (filter) => Boolean(String(filter?.text ?? "").trim() || filter?.role || filter?.status);

/**
 * What the accounts list shows. Unfiltered: the page the server gave (`page`, from `offset`; `more` when another
 * follows). Filtered: the matches among every account (`everyone`, read once a filter is typed), since a search
 * that only looked at one page would miss people; while every account is being read, the page's matches.
 * Returns {rows, count (a sentence), caption, pager (whether page turns make sense), needEveryone}.
 */
export function accountsView({ page = [], everyone = null, filter = {}, offset = 0, more = false }) {
  const filtered = isFiltering(filter);
  const onePage = offset === 0 && !more;
  const pool = everyone || (onePage ? page : null); // a list that fits one page is every account already
  const matches = (n) => `${n} ${n === 1 ? "account matches" : "accounts match"} the filter`;
  if (filtered && pool) {
    const rows = filterUsers(pool, filter);
    return { rows, count: `${matches(rows.length)}, of ${pool.length} ${pool.length === 1 ? "account" : "accounts"}.`,
      caption: "Accounts that match the filter", pager: false, needEveryone: false };
  }
  const rows = filterUsers(page, filter);
  const range = page.length ? `accounts ${offset + 1} to ${offset + page.length}` : "no accounts";
  return {
    rows,
    count: filtered ? `Searching every account… ${matches(rows.length)} among ${range}.` : `Showing ${range}.`,
    caption: "Accounts on this page",
    pager: !filtered && !onePage,
    needEveryone: filtered,
  };
}

export const byName = (a, b) => nameOf(a).localeCompare(nameOf(b), undefined, { sensitivity: "base" })
  || String(a.email).localeCompare(String(b.email));

/** id -> display name, for lists that name people by id (pairings, members, the audit log). */
export function namesById(users) {
  return new Map((Array.isArray(users) ? users : []).map((u) => [u.id, nameOf(u)]));
}

/** PATCH body for a new role, or {error} when nothing would change. */
export function roleChangeBody(user, role) {
  if (!ROLES.includes(role)) return { error: "Choose a role." };
  if (role === user.role) return { error: `${nameOf(user)} is already ${roleWithArticle(role)}.` };
  return { body: { role } };
}

export function roleChangeQuestion(user, role) {
  return `Make ${nameOf(user)} ${roleWithArticle(role)} instead of ${roleWithArticle(user.role)}? Any page or call `
    + `they have open ends now, and they rejoin as ${roleWithArticle(role)}. Their groups and pairings stay as they are.`;
}

export function passwordBody(password) {
  const checked = checkPassword(password);
  return checked.error ? { error: checked.error } : { body: { password: checked.value } };
}

export function passwordQuestion(user) {
  return `Give ${nameOf(user)} this new password? Their old password stops working and they are signed out `
    + "everywhere. The new one is shown to you once, to pass on.";
}

export function disableQuestion(user) {
  return user.disabled
    ? `Enable ${nameOf(user)}'s account again? They can sign in with their password.`
    : `Disable ${nameOf(user)}'s account? They are signed out everywhere at once and cannot sign in until you `
      + "enable it again. Their groups and pairings stay.";
}

// Letters and digits that cannot be mistaken for one another when read aloud or copied by hand (no 0/O, 1/l/I).
const READABLE = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";

/** A password to hand out: groups of four readable characters ("k7Qm-x3Ta-9pWe-..."), from `random(n)`, which
 * gives n random bytes (crypto.getRandomValues in the page). Bytes that would favour the first characters of the
 * alphabet are drawn again, so every character is as likely as any other. */
export function suggestPassword(random, groups = 4) {
  const wanted = groups * 4;
  const fair = 256 - (256 % READABLE.length);
  const chars = [];
  for (let round = 0; chars.length < wanted && round < 100; round += 1) {
    for (const byte of random(wanted)) {
      if (byte < fair && chars.length < wanted) chars.push(READABLE[byte % READABLE.length]);
    }
  }
  const parts = [];
  for (let i = 0; i < groups; i += 1) parts.push(chars.slice(i * 4, i * 4 + 4).join(""));
  return parts.join("-");
}
