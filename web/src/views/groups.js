import { getGroups } from "../api.js";
import { h, setAlert } from "../dom.js";

export const title = "My groups";
export const requiresAuth = true;

const ROLE_LABELS = { facilitator: "Facilitator", participant: "Participant" };

function groupItem(group) {
  const role = ROLE_LABELS[group.my_role];
  return h("li", { class: "group", "data-group-id": group.id },
    h("span", { class: "group-name" }, group.name),
    h("span", { class: "group-meta" },
      role && h("span", { class: `role role-${group.my_role}` }, role),
      Number.isFinite(group.capacity) && h("span", { class: "muted" }, `Up to ${group.capacity} people`),
      group.my_role && h("a", {
        class: "button enter-room",
        href: `#/room/${encodeURIComponent(group.id)}`,
        "aria-label": `Enter room: ${group.name}`,
      }, "Enter room"),
    ),
  );
}

export async function render(root, { signal }) {
  const heading = h("h2", { id: "groups-title", tabindex: "-1" }, "My groups");
  const status = h("p", { class: "muted", id: "groups-loading", role: "status" }, "Loading your groups…");
  const error = h("p", { id: "groups-error", class: "alert", role: "alert", hidden: true });
  const section = h("section", { class: "stack", "aria-labelledby": "groups-title" }, heading, status, error);
  root.replaceChildren(section);
  heading.focus();

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
}
