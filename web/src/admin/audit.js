// The audit log as an administrator reads it (docs/protocol.md 4.5 and 5): the query of GET /api/audit from the
// filter form, and each entry as words: the time in the reader's zone, people and groups by name, the detail as
// "key: value" text. No DOM here. Times take `locale` and `timeZone` so that tests pin them; the page leaves them
// undefined (the browser's own).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTION = /^[a-z_.]*\*?$/i;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

export const OUTCOME_LABELS = { success: "Success", failure: "Failure", denied: "Denied", throttled: "Throttled" };

// Midnight at the start of `day` ("YYYY-MM-DD") in the reader's zone, as an ISO instant the server takes (it reads a
// bare date as midnight UTC, which is not the day a reader elsewhere means). `offsetDays` moves to a later day.
export function dayStart(day, offsetDays = 0) {
  const m = DAY.exec(String(day ?? ""));
  if (!m) return null;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + offsetDays);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The query string of GET /api/audit, or {error}. `to` is a last day included: the range runs to the next midnight. */
export function auditQuery({ actor = "", action = "", from = "", to = "", cursor = null, limit = 50 } = {}) {
  const params = new URLSearchParams();
  if (actor) {
    if (!UUID.test(actor)) return { error: "Choose a person from the list." };
    params.set("actor", actor);
  }
  const name = String(action).trim();
  if (name) {
    if (name.length > 64 || !ACTION.test(name)) {
      return { error: "An action is a name such as user.create, or the start of one ending in *, such as room.*." };
    }
    params.set("action", name);
  }
  const since = from ? dayStart(from) : null;
  const until = to ? dayStart(to, 1) : null;
  if (from && !since) return { error: "The first day is not a date." };
  if (to && !until) return { error: "The last day is not a date." };
  if (since && until && until <= since) return { error: "The last day comes before the first." };
  if (since) params.set("from", since);
  if (until) params.set("to", until);
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return { query: params.toString() };
}

/** A server time as a Date: SQLite's times come without an offset and are UTC all the same (protocol section 1). */
export function parseServerTime(value) {
  if (typeof value !== "string" || !value) return null;
  let text = value.trim().replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) text += "Z";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value, { locale, timeZone } = {}) {
  const date = parseServerTime(value);
  if (!date) return "";
  return date.toLocaleString(locale, { year: "numeric", month: "short", day: "numeric", hour: "numeric",
    minute: "2-digit", second: "2-digit", timeZone });
}

const short = (id) => String(id).slice(0, 8);

// A person or group by name when the console knows them, else the kind and a short id.
function named(kind, id, { users, groups }) {
  if (id === null || id === undefined || id === "") return "";
  if (kind === "user" && users?.get(id)) return users.get(id);
  if (kind === "group" && groups?.get(id)) return groups.get(id);
  return `${kind ? kind.replace(/_/g, " ") : "item"} ${short(id)}`;
}

function valueText(key, value, names) {
  if (Array.isArray(value)) return value.map((v) => valueText(key, v, names)).join(", ");
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  if ((key === "user_id" || key.endsWith("_user_id")) && names.users?.get(value)) return names.users.get(value);
  if (key === "group_id" && names.groups?.get(value)) return names.groups.get(value);
  return String(value);
}

/** "fields: capacity, name; role: participant": the detail as plain text, people and groups by name. */
export function detailText(detail, names = {}) {
  if (!detail || typeof detail !== "object") return "";
  return Object.entries(detail)
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${valueText(key, value, names)}`)
    .join("; ");
}

/** Who acted: a name, "Command line" for the CLI, "No one signed in" for a sign-in by an unknown email or throttled. */
export function actorText(entry, names = {}) {
  if (entry.actor_id) return names.users?.get(entry.actor_id) || `person ${short(entry.actor_id)}`;
  return entry.source === "cli" ? "Command line" : "No one signed in";
}

/** One entry as the table's cells, all text. `names` is {users, groups}: Maps of id -> name. */
export function auditRow(entry, names = {}, clock = {}) {
  return {
    id: entry.id,
    at: String(entry.at ?? ""),
    time: formatTime(entry.at, clock),
    actor: actorText(entry, names),
    action: String(entry.action ?? ""),
    target: named(entry.target_type, entry.target_id, names),
    outcome: OUTCOME_LABELS[entry.outcome] || String(entry.outcome ?? "").replace(/_/g, " "),
    source: entry.source === "cli" ? "command line" : String(entry.source ?? ""),
    detail: detailText(entry.detail, names),
  };
}
