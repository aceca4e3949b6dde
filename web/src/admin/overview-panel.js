// The program console's first page: how many people (by role), groups and active pairings the program has, each
// with the way to its section, and the latest entries of the audit log.
import { h, setAlert } from "../dom.js";
import { getAllUsers, getAudit, getEveryGroup, getPairings } from "./api.js";
import { alertBox } from "./form-parts.js";
import { auditRow } from "./audit.js";
import { ROLES, roleLabel } from "./users.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function card(id, title, lines, href, linkText) {
  return h("section", { class: "panel stack admin-card", id, "aria-labelledby": `${id}-title` },
    h("h3", { id: `${id}-title` }, title),
    h("ul", { class: "admin-counts" }, lines.map((line) => h("li", {}, line))),
    h("a", { class: "button button-small", href }, linkText));
}

export async function showOverview(host, { signal }) {
  const error = alertBox("overview-error");
  host.replaceChildren(error, h("p", { class: "muted", id: "overview-loading" }, "Reading the program…"));

  const settle = (promise) => promise.then((value) => ({ value }), (err) => ({ err }));
  const [users, groups, pairings, audit] = await Promise.all([
    settle(getAllUsers(signal)),
    settle(getEveryGroup(signal)),
    settle(getPairings(true, signal)),
    settle(getAudit("limit=5", signal)),
  ]);
  if (signal.aborted) return;
  const failed = [users, groups, pairings, audit].find((r) => r.err);
  if (failed) setAlert(error, failed.err.message);

  const people = users.value || [];
  const roleLines = ROLES.map((role) => {
    const n = people.filter((u) => u.role === role && !u.disabled).length;
    return `${roleLabel(role)}: ${n}`;
  });
  const disabled = people.filter((u) => u.disabled).length;
  const groupList = Array.isArray(groups.value?.groups) ? groups.value.groups : [];
  const archived = groupList.filter((g) => g.archived).length;
  const activePairings = Array.isArray(pairings.value?.pairings) ? pairings.value.pairings.length : 0;
  const names = { users: new Map(people.map((u) => [u.id, u.display_name])),
    groups: new Map(groupList.map((g) => [g.id, g.name])) };
  const latest = Array.isArray(audit.value?.entries) ? audit.value.entries.map((e) => auditRow(e, names)) : [];

  host.replaceChildren(error, h("div", { class: "admin-cards" },
    card("overview-people", "People",
      [plural(people.length - disabled, "active account", "active accounts"), ...roleLines,
        disabled ? plural(disabled, "disabled account", "disabled accounts") : null].filter(Boolean),
      "#/admin/users", "Manage people"),
    card("overview-groups", "Groups",
      [plural(groupList.length - archived, "group in use", "groups in use"), plural(archived, "archived", "archived")],
      "#/admin/groups", "Manage groups"),
    card("overview-pairings", "Mentor pairings", [plural(activePairings, "active pairing", "active pairings")],
      "#/admin/pairings", "Manage pairings"),
    card("overview-audit", "Audit log",
      latest.length ? latest.map((r) => `${r.time}: ${r.actor}, ${r.action}`) : ["No entries yet."],
      "#/admin/audit", "Read the audit log")));
}
