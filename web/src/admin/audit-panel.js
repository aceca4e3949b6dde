// The audit log in the program console (GET /api/audit): filters by who acted, the action (a name or a prefix such
// as room.*) and the days; newest first, 50 at a time with "Load older entries" following next_cursor; a table of
// words (times in the reader's zone, people and groups by name) that scrolls sideways on a narrow screen.
import { h, setAlert } from "../dom.js";
import { getAllUsers, getAudit, getEveryGroup } from "./api.js";
import { alertBox, dataTable, field } from "./form-parts.js";
import { auditQuery, auditRow } from "./audit.js";
import { byName } from "./users.js";

const PAGE = 50;

export async function showAudit(host, { signal, announce }) {
  const names = { users: new Map(), groups: new Map() };
  let entries = [];
  let cursor = null;
  let filters = {};

  const error = alertBox("audit-error");
  const actor = h("select", { id: "audit-actor", name: "audit-actor" }, h("option", { value: "" }, "Anyone"));
  const action = h("input", { type: "text", id: "audit-action", name: "audit-action", autocomplete: "off",
    spellcheck: "false", autocapitalize: "off", placeholder: "room.*" });
  const from = h("input", { type: "date", id: "audit-from", name: "audit-from" });
  const to = h("input", { type: "date", id: "audit-to", name: "audit-to" });
  const apply = h("button", { type: "submit", class: "button button-small", id: "audit-apply" }, "Show entries");
  const clear = h("button", { type: "button", class: "button button-small button-quiet", id: "audit-clear" },
    "Clear filters");
  const form = h("form", { class: "stack", id: "audit-filter", novalidate: true },
    h("div", { class: "admin-filters" },
      field("Who acted", actor),
      field("Action", action, "A name such as user.create, or the start of one ending in *: room.*, group.*, auth.*"),
      field("From (first day)", from),
      field("To (last day)", to)),
    error, h("div", { class: "row" }, apply, clear));

  const count = h("p", { class: "muted", id: "audit-count", role: "status" });
  const tableSlot = h("div", { id: "audit-slot" });
  const older = h("button", { type: "button", class: "button button-small button-quiet", id: "audit-older",
    hidden: true }, "Load older entries");
  const title = h("h3", { id: "audit-list-title", tabindex: "-1" }, "Entries, newest first");

  function draw() {
    count.textContent = entries.length
      ? `${entries.length} ${entries.length === 1 ? "entry" : "entries"} shown${cursor ? "; older ones remain" : ""}.`
      : "";
    if (!entries.length) {
      tableSlot.replaceChildren(h("p", { class: "muted", id: "audit-none" }, "No entries match."));
    } else {
      tableSlot.replaceChildren(dataTable({
        id: "audit-table",
        caption: "Audit log entries, newest first. Times are in your time zone.",
        columns: ["Time", "Who", "Action", "Target", "Outcome", "Source", "Detail"],
        rows: entries.map((entry) => {
          const row = auditRow(entry, names);
          return {
            attrs: { "data-entry-id": row.id, "data-action": row.action },
            cells: [h("time", { datetime: row.at }, row.time), row.actor, h("code", {}, row.action), row.target,
              row.outcome, row.source, row.detail],
          };
        }),
      }));
    }
    older.hidden = !cursor;
  }

  async function fetchPage(more) {
    const built = auditQuery({ ...filters, cursor: more ? cursor : null, limit: PAGE });
    if (built.error) {
      setAlert(error, built.error);
      return false;
    }
    setAlert(error, "");
    older.disabled = true;
    try {
      const data = await getAudit(built.query, signal);
      const page = Array.isArray(data?.entries) ? data.entries : [];
      entries = more ? [...entries, ...page] : page;
      cursor = typeof data?.next_cursor === "string" ? data.next_cursor : null;
    } catch (err) {
      if (err.name === "AbortError") return false;
      setAlert(error, err.message);
      return false;
    } finally {
      older.disabled = false;
    }
    draw();
    return true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const wanted = { actor: actor.value, action: action.value, from: from.value, to: to.value };
    const built = auditQuery(wanted);
    if (built.error) return setAlert(error, built.error);
    filters = wanted;
    if (await fetchPage(false)) announce(`${entries.length} ${entries.length === 1 ? "entry" : "entries"} shown.`);
  });
  clear.addEventListener("click", async () => {
    form.reset();
    filters = {};
    if (await fetchPage(false)) announce("Filters cleared.");
    actor.focus();
  });
  older.addEventListener("click", async () => {
    const before = entries.length;
    if (!(await fetchPage(true))) return;
    announce(`${entries.length - before} older ${entries.length - before === 1 ? "entry" : "entries"} added.`);
    // Focus the first row just added, so a keyboard reader carries on from there.
    const rows = tableSlot.querySelectorAll("tbody tr");
    const first = rows[before]?.querySelector("th");
    if (first) {
      first.tabIndex = -1;
      first.focus();
    } else {
      older.focus();
    }
  });

  host.replaceChildren(h("div", { class: "stack" },
    h("section", { class: "panel stack", "aria-labelledby": "audit-filter-title" },
      h("h3", { id: "audit-filter-title" }, "Filter"), form),
    h("section", { class: "panel stack", "aria-labelledby": "audit-list-title" },
      title, count, tableSlot, h("div", { class: "row" }, older))));

  // People and groups by name, then the newest entries.
  const [users, groups] = await Promise.all([
    getAllUsers(signal).catch(() => []),
    getEveryGroup(signal).then((d) => (Array.isArray(d?.groups) ? d.groups : [])).catch(() => []),
  ]);
  if (signal.aborted) return;
  for (const u of users) names.users.set(u.id, u.display_name || u.email);
  for (const g of groups) names.groups.set(g.id, g.name);
  actor.append(...users.slice().sort(byName).map((u) => h("option", { value: u.id }, `${u.display_name} (${u.email})`)));
  await fetchPage(false);
}
