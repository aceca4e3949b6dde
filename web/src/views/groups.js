// Home: what is next for the person. A participant sees their session that is live now or next at the top, their
// unread messages and their groups; a facilitator their groups, each with its sessions page and its chat's unread
// count; an administrator who comes here sees every group. Mentors land on their mentees' page instead (main.js)
// and see here the groups they belong to, if any.
import { getAllGroups, getGroups } from "../api.js";
import { h, setAlert } from "../dom.js";
import { createHelpBox } from "../help.js";
import { getMySessions } from "../program/api.js";
import { formatWhen, upcoming } from "../program/when.js";

// A participant's page is their home; for the others it is the list of their groups.
export const title = (me) => (me?.role === "participant" ? "Home" : me?.role === "admin" ? "Groups" : "My groups");
export const requiresAuth = true;

const ROLE_LABELS = { facilitator: "Facilitator", participant: "Participant" };
const LATER_SHOWN = 3;

function groupItem(group) {
  const role = ROLE_LABELS[group.my_role];
  return h("li", { class: "group", "data-group-id": group.id },
    h("span", { class: "group-name" }, group.name),
    h("span", { class: "group-meta" },
      role && h("span", { class: `role role-${group.my_role}` }, role),
      // Filled in by the page from the unread counts (facilitators read every message of their group's chat).
      group.my_role === "facilitator" && h("span", { class: "group-unread", hidden: true }),
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
  return h("section", { class: `panel stack upcoming${live.length ? " has-live" : ""}`, id: "upcoming",
    "aria-labelledby": "upcoming-title" },
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

// "You have 2 unread messages", kept current, with the way to them.
function messagesSection(store, signal) {
  const text = h("p", { id: "home-unread" });
  const link = h("a", { href: "#/messages", class: "button button-small", id: "home-messages-link" });
  const box = h("section", { class: "panel home-messages", id: "home-messages", "aria-labelledby": "home-messages-title" },
    h("h3", { id: "home-messages-title" }, "Messages"), h("div", { class: "row home-messages-row" }, text, link));
  const draw = () => {
    const n = store.directUnread;
    box.classList.toggle("has-unread", n > 0);
    text.textContent = n > 0 ? `You have ${n} unread ${n === 1 ? "message" : "messages"}.` : "No unread messages.";
    link.textContent = n > 0 ? "Read them" : "Open messages";
  };
  draw();
  const off = store.subscribe(draw);
  signal.addEventListener("abort", off, { once: true });
  return box;
}

// A facilitator's groups: the unread count of each group's chat beside it.
function showRoomUnread(listEl, store) {
  for (const span of listEl.querySelectorAll(".group-unread")) {
    const groupId = span.closest("li.group")?.dataset.groupId;
    const n = groupId ? store.roomUnread(groupId) : 0;
    span.textContent = n > 0 ? `${n} new in the chat` : "";
    span.hidden = n === 0;
  }
}

export async function render(root, { signal, me = null, messages: store = null }) {
  const role = me?.role;
  const heading = h("h2", { id: "groups-title", tabindex: "-1" }, title(me));
  const status = h("p", { class: "muted", id: "groups-loading", role: "status" }, "Loading your groups…");
  const error = h("p", { id: "groups-error", class: "alert", role: "alert", hidden: true });
  const slot = h("div", { id: "upcoming-slot" });
  const unread = store && role !== "admin" ? messagesSection(store, signal) : null;
  const groupsTitle = h("h3", { id: "my-groups-title" }, "Your groups");
  const section = h("section", { class: "stack home", "aria-labelledby": "groups-title" },
    heading, slot, unread, status, error);
  const help = createHelpBox();
  root.replaceChildren(section, help);
  heading.focus();

  const sessions = upcomingSection(signal);
  const administration = role === "admin" ? adminSection(signal) : Promise.resolve(null);
  try {
    const { groups } = await getGroups(signal);
    const list = Array.isArray(groups) ? groups : [];
    status.remove();
    if (list.length === 0) {
      // Administrators enrol people in groups; an administrator has none of their own (their list follows).
      if (role !== "admin") {
        section.append(h("p", { id: "groups-empty", class: "card calm" },
          "You are not in any group yet. When an administrator of your program enrols you in a group, "
            + "it will appear here."));
      }
    } else {
      const listEl = h("ul", { id: "groups", class: "group-list", "aria-labelledby": "my-groups-title" },
        list.map(groupItem));
      section.append(groupsTitle, listEl);
      if (store && list.some((g) => g.my_role === "facilitator")) {
        showRoomUnread(listEl, store);
        const off = store.subscribe(() => showRoomUnread(listEl, store));
        signal.addEventListener("abort", off, { once: true });
      }
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
