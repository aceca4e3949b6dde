// Groups as the program console makes and changes them (docs/protocol.md 4.3): the body of a new group, the fields
// an administrator changed in a group's settings (PATCH sends only those, so a setting someone else changed meanwhile
// is not put back), the sentence they confirm, and who may be enrolled in which place. No DOM here.
import { checkCapacity, checkGroupName, checkTimeZone } from "./bounds.js";
import { byName } from "./users.js";

// The settings form's fields, in the order a change is described.
export const SETTINGS = [
  { field: "name", label: "name" },
  { field: "capacity", label: "capacity" },
  { field: "timezone", label: "time zone" },
  { field: "lobby_enabled", label: "waiting room" },
  { field: "self_unmute_allowed", label: "participants may unmute themselves" },
  { field: "screen_share_allowed", label: "participants may share their screen" },
];
const SWITCHES = new Set(["lobby_enabled", "self_unmute_allowed", "screen_share_allowed"]);

/** What a new group's form starts with: the server's defaults, the administrator's own zone when the browser says it. */
export function newGroupValues(zone = "UTC") {
  return { name: "", capacity: "8", timezone: zone || "UTC", lobby_enabled: true, self_unmute_allowed: true,
    screen_share_allowed: false };
}

/** The form's values for an existing group. */
export function groupValues(group) {
  return {
    name: String(group?.name ?? ""),
    capacity: String(group?.capacity ?? ""),
    timezone: String(group?.timezone || "UTC"),
    lobby_enabled: group?.lobby_enabled !== false,
    self_unmute_allowed: group?.self_unmute_allowed !== false,
    screen_share_allowed: group?.screen_share_allowed === true,
  };
}

// Every field checked: {body} with all of them, or {error, field} for the first wrong one.
function checkAll(values, known) {
  const checked = [
    ["name", checkGroupName(values.name)],
    ["capacity", checkCapacity(values.capacity)],
    ["timezone", checkTimeZone(values.timezone, known)],
  ];
  const body = {};
  for (const [field, result] of checked) {
    if (result.error) return { error: result.error, field };
    body[field] = result.value;
  }
  for (const field of SWITCHES) body[field] = Boolean(values[field]);
  return { body };
}

/** The body of POST /api/groups, or {error, field}. */
export const newGroupBody = (values, known) => checkAll(values, known);

const shown = (field, value) => (SWITCHES.has(field) ? (value ? "on" : "off") : String(value));

/** The PATCH body holding only what changed from `group`, with the changes listed; {error} when a field is wrong
 * or nothing changed. */
export function groupChanges(group, values, known) {
  const checked = checkAll(values, known);
  if (checked.error) return checked;
  const before = groupValues(group);
  const body = {};
  const changes = [];
  for (const { field, label } of SETTINGS) {
    const was = field === "capacity" ? Number(before.capacity) : before[field];
    const now = checked.body[field];
    if (was === now) continue;
    body[field] = now;
    changes.push({ field, label, from: shown(field, was), to: shown(field, now) });
  }
  if (!changes.length) return { error: "Nothing has changed yet." };
  return { body, changes };
}

export function changesQuestion(group, changes) {
  const list = changes.map((c) => `${c.label} from ${c.from} to ${c.to}`).join("; ");
  const live = changes.some((c) => ["capacity", "lobby_enabled", "self_unmute_allowed", "screen_share_allowed"]
    .includes(c.field)) ? " A room in progress takes the new settings at once." : "";
  return `Change ${group.name}: ${list}?${live}`;
}

export function createGroupQuestion(body) {
  return `Create the group ${body.name} for up to ${body.capacity} people, on ${body.timezone} time, with the waiting `
    + `room ${body.lobby_enabled ? "on" : "off"}?`;
}

export function archiveQuestion(group) {
  return group.archived
    ? `Restore ${group.name}? It comes back on its members' home pages and its room can open again.`
    : `Archive ${group.name}? It leaves its members' home pages, and its room ends at once if a session is on. `
      + "Members, schedule and records are kept; you can restore it later.";
}

// Which place in a group each kind of account may take (protocol 4.3): facilitator accounts facilitate; participants
// and mentors take part; administrators are never members.
const PLACES_OF = { facilitator: ["facilitator"], participant: ["participant"], mentor: ["participant"] };
export const PLACE_LABELS = { facilitator: "Facilitator", participant: "Participant" };

export const placesFor = (accountRole) => PLACES_OF[accountRole] || [];

/** The people who may be enrolled in `place`: accounts whose role fits, not disabled, not members yet; by name. */
export function enrolChoices(users, members, place) {
  const enrolled = new Set((Array.isArray(members) ? members : []).map((m) => m.user_id));
  return (Array.isArray(users) ? users : [])
    .filter((u) => !u.disabled && !enrolled.has(u.id) && placesFor(u.role).includes(place))
    .sort(byName);
}

export function enrolQuestion(user, place, group) {
  return place === "facilitator"
    ? `Appoint ${user.display_name} as a facilitator of ${group.name}? They can run its room, see its members and `
      + "read its attendance and check-ins."
    : `Enrol ${user.display_name} in ${group.name} as a participant? The group appears on their home page.`;
}

export function removeQuestion(member, group) {
  return `Remove ${member.display_name} from ${group.name}? If they are in its room or waiting room now they leave it `
    + "at once, and they can no longer read its chat.";
}

/** Groups split for the list: in use first, archived apart; each by name. */
export function splitGroups(groups) {
  const list = (Array.isArray(groups) ? groups : []).slice()
    .sort((a, b) => String(a.name).localeCompare(String(b.name), undefined, { sensitivity: "base" }));
  return { active: list.filter((g) => !g.archived), archived: list.filter((g) => g.archived) };
}
