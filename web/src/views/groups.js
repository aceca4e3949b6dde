import { getAllGroups, getGroups } from "../api.js";
import { h, setAlert } from "../dom.js";
import { getMySessions } from "../program/api.js";
import { formatWhen, upcoming } from "../program/when.js";

export const title = "My groups";
export const requiresAuth = true;

const ROLE_LABELS = { facilitator: "Facilitator", participant: "Participant" };
const LATER_SHOWN = 3;

function groupItem(group) {
  const role = ROLE_LABELS[group.my_role];
  return h("li", { class: "group", "data-group-id": group.id },
    h("span", { class: "group-name" }, group.name),
    h("span", { class: "group-meta" },
      role && h("span", { class: `role role-${group.my_role}` }, role),
      Number.isFinite(group.capacity) && h("span", { class: "muted" }, `Up to ${group.capacity} people`),
      group.my_role === "facilitator" && h("a", {
        class: "button button-quiet sessions-link",
        href: `#/group/${encodeURIComponent(group.id)}/sessions`,
        "aria-label": `Sessions and attendance: ${group.name}`,
      }, "Sessions"),
      // Without a waiting room, a participant may check in on the way in.
      group.my_role === "participant" && group.lobby_enabled === false && h("a", {
        class: "button button-quiet checkin-first",
        href: `#/room/${encodeURIComponent(group.id)}/checkin`,
        "aria-label": `Check in, then enter: ${group.name}`,
      }, "Check in first"),
      group.my_role && h("a", {
        class: "button enter-room",
        href: `#/room/${encodeURIComponent(group.id)}`,
        "aria-label": `Enter room: ${group.name}`,
      }, "Enter room"),
    ),
  );
}

function sessionLine(s, lead, enter) {
  return h("li", { class: "upcoming-item", "data-session-id": s.id, "data-group-id": s.group_id },
    h("span", {}, h("strong", {}, lead), ` ${s.group_name || "Your group"}, ${formatWhen(s.starts_at)}`),
    enter && h("a", { class: "button button-small", href: `#/room/${encodeURIComponent(s.group_id)}`,
      "aria-label": `Enter room: ${s.group_name || "your group"}` }, "Enter room"));
}

// "Live now" and "Next session" from GET /api/me/sessions; nothing at all when there are none (or it fails).
async function upcomingSection(signal) {
  let data;
  try {
    data = await getMySessions(signal);
  } catch {
    return null; // the groups are what matters on this page
  }
  const { live, next, later } = upcoming(data?.sessions);
  if (!live.length && !next) return null;
  const items = [
    ...live.map((s) => h("li", { class: "upcoming-item live", "data-session-id": s.id, "data-group-id": s.group_id },
      h("span", {}, h("strong", {}, "Live now:"), ` ${s.group_name || "Your group"}`),
      h("a", { class: "button button-small", href: `#/room/${encodeURIComponent(s.group_id)}`,
        "aria-label": `Enter room: ${s.group_name || "your group"}` }, "Enter room"))),
    next && sessionLine(next, "Next session:", true),
    ...later.slice(0, LATER_SHOWN).map((s) => sessionLine(s, "Then:", false)),
  ];
  return h("section", { class: "panel stack", id: "upcoming", "aria-labelledby": "upcoming-title" },
    h("h3", { id: "upcoming-title" }, "Your sessions"),
    h("ul", { class: "plain-list upcoming-list" }, items),
    h("p", { class: "muted" }, "Times are in your local time."));
}

// For administrators: every group, each with its session page (schedule, time zone, agreement).
async function adminSection(signal) {
  let data;
  try {
    data = await getAllGroups(signal);
  } catch (err) {
    if (err.name === "AbortError") return null;
    return h("p", { class: "alert", role: "alert", id: "all-groups-error" }, err.message);
  }
  const list = (Array.isArray(data?.groups) ? data.groups : []).filter((g) => !g.archived);
  if (!list.length) return null;
  return h("section", { class: "panel stack", id: "all-groups", "aria-labelledby": "all-groups-title" },
    h("h3", { id: "all-groups-title" }, "All groups (administration)"),
    h("p", { class: "muted" }, "Each group's sessions, schedule, time zone and agreement."),
    h("ul", { class: "plain-list" }, list.map((g) => h("li", { class: "row admin-group", "data-group-id": g.id },
      h("span", { class: "group-name" }, g.name),
      h("a", { class: "button button-small button-quiet", href: `#/group/${encodeURIComponent(g.id)}/sessions`,
        "aria-label": `Sessions and settings: ${g.name}` }, "Sessions")))));
}

export async function render(root, { signal, me = null }) {
  const heading = h("h2", { id: "groups-title", tabindex: "-1" }, "My groups");
  const status = h("p", { class: "muted", id: "groups-loading", role: "status" }, "Loading your groups…");
  const error = h("p", { id: "groups-error", class: "alert", role: "alert", hidden: true });
  const slot = h("div", { id: "upcoming-slot" });
  const section = h("section", { class: "stack", "aria-labelledby": "groups-title" }, heading, status, error, slot);
  root.replaceChildren(section);
  heading.focus();

  const sessions = upcomingSection(signal);
  const administration = me?.role === "admin" ? adminSection(signal) : Promise.resolve(null);
  try {
    const { groups } = await getGroups(signal);
    const list = Array.isArray(groups) ? groups : [];
    status.remove();
    if (list.length === 0) {
      section.append(h("p", { id: "groups-empty", class: "card calm" },
        "You are not in any group yet. When a facilitator adds you, your groups will appear here."));
    } else {
      section.append(h("ul", { id: "groups", class: "group-list" }, list.map(groupItem)));
    }
  } catch (err) {
    if (err.name === "AbortError") return;
    status.remove();
    setAlert(error, err.message);
  }
  const upcomingBox = await sessions;
  if (upcomingBox && !signal.aborted) slot.replaceChildren(upcomingBox);
  const adminBox = await administration;
  if (adminBox && !signal.aborted) section.append(adminBox);
}
