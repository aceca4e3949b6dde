// Groups in the program console: every group (GET /api/groups?all=true), archived ones listed apart; a new group;
// and, for one group at a time, its members (enrol, appoint a facilitator, remove), its settings (only the changed
// fields are sent) and archiving or restoring it, with a link to its sessions page for schedules. Every act is asked
// first in the page, and a refusal shows the server's own sentence.
import { h, setAlert } from "../dom.js";
import { isKnownZone, supportedTimeZones, timeZoneChoices } from "../program/timezones.js";
import { createGroup, getAllUsers, getEveryGroup, updateGroup } from "./api.js";
import { alertBox, checkbox, createAct, dataTable, field, flagField, select } from "./form-parts.js";
import { archiveQuestion, changesQuestion, createGroupQuestion, groupChanges, groupValues, newGroupBody,
  newGroupValues, splitGroups } from "./groups.js";
import { MAX_CAPACITY, MIN_CAPACITY } from "./bounds.js";
import { showMembers } from "./members-panel.js";

const onOff = (value) => (value ? "on" : "off");

function browserZone() {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone && isKnownZone(zone) ? zone : "UTC";
  } catch {
    return "UTC";
  }
}

// The fields of a group, shared by the new-group form and a group's settings: {el, controls, values()}.
function groupFields(prefix, values) {
  const name = h("input", { type: "text", id: `${prefix}-name`, name: `${prefix}-name`, autocomplete: "off",
    value: values.name });
  const capacity = h("input", { type: "number", id: `${prefix}-capacity`, name: `${prefix}-capacity`, inputmode: "numeric",
    min: MIN_CAPACITY, max: MAX_CAPACITY, step: 1, value: values.capacity });
  const supported = supportedTimeZones();
  const timezone = supported
    ? select(`${prefix}-timezone`, timeZoneChoices(supported, values.timezone).map((z) => [z, z]), values.timezone)
    : h("input", { type: "text", id: `${prefix}-timezone`, name: `${prefix}-timezone`, value: values.timezone,
      autocomplete: "off", spellcheck: "false" });
  const lobby = checkbox(`${prefix}-lobby`, "Waiting room: a facilitator lets each person in", values.lobby_enabled);
  const unmute = checkbox(`${prefix}-unmute`, "Participants may unmute themselves after a facilitator mutes them",
    values.self_unmute_allowed);
  const screen = checkbox(`${prefix}-screen`, "Participants may share their screen (facilitators always may)",
    values.screen_share_allowed);
  const controls = { name, capacity, timezone, lobby_enabled: lobby.input, self_unmute_allowed: unmute.input,
    screen_share_allowed: screen.input };
  const el = h("div", { class: "stack" },
    field("Group name", name),
    field("Capacity", capacity, `${MIN_CAPACITY} to ${MAX_CAPACITY} people in the room at once, facilitators included.`),
    field("Time zone", timezone, "Weekly sessions keep their local time in this zone."),
    h("fieldset", { class: "stack-tight" }, h("legend", {}, "In the room"), lobby.el, unmute.el, screen.el));
  const read = () => ({ name: name.value, capacity: capacity.value, timezone: timezone.value,
    lobby_enabled: lobby.input.checked, self_unmute_allowed: unmute.input.checked,
    screen_share_allowed: screen.input.checked });
  return { el, controls, values: read };
}

export async function showGroups(host, { signal, announce }) {
  let groups = [];
  let openId = null;
  // The open group's members part, kept while the same group stays open (a settings change redraws the rest
  // without reading the roster again, which the server audits each time).
  let membersPart = null;

  const listError = alertBox("groups-error");
  // Every account, for the enrol picker: read once, while the groups load.
  const directory = getAllUsers(signal).catch((err) => {
    if (err.name !== "AbortError") setAlert(listError, err.message);
    return [];
  });
  const activeSlot = h("div", { id: "groups-active" });
  const archivedSlot = h("div", { id: "groups-archived" });
  const detail = h("section", { class: "panel stack", id: "group-detail", "aria-labelledby": "group-detail-title",
    hidden: true });
  const list = h("section", { class: "panel stack", "aria-labelledby": "groups-list-title" },
    h("h3", { id: "groups-list-title" }, "Groups"), listError, activeSlot,
    h("h4", { id: "archived-title" }, "Archived groups"), archivedSlot);

  function groupTable(id, caption, rows) {
    return dataTable({
      id, caption,
      columns: ["Name", "Capacity", "Time zone", "In the room", "Actions"],
      rows: rows.map((g) => ({
        attrs: { "data-group-id": g.id },
        cells: [g.name, String(g.capacity), g.timezone,
          `Waiting room ${onOff(g.lobby_enabled)}; self-unmute ${onOff(g.self_unmute_allowed)}; screen share `
            + onOff(g.screen_share_allowed),
          h("button", { type: "button", class: "button button-small button-quiet manage-group",
            "aria-label": `Manage ${g.name}`, "aria-controls": "group-detail", "aria-expanded": String(openId === g.id),
            onclick: () => openGroup(g.id) }, "Manage")],
      })),
    });
  }

  function drawList() {
    const { active, archived } = splitGroups(groups);
    activeSlot.replaceChildren(active.length ? groupTable("groups-table", "Groups in use", active)
      : h("p", { class: "muted" }, "No groups yet. Create the first one with the form on this page."));
    archivedSlot.replaceChildren(archived.length ? groupTable("archived-table", "Archived groups", archived)
      : h("p", { class: "muted" }, "No archived groups."));
  }

  async function load() {
    setAlert(listError, "");
    try {
      const data = await getEveryGroup(signal);
      groups = Array.isArray(data?.groups) ? data.groups : [];
    } catch (err) {
      if (err.name === "AbortError") return;
      setAlert(listError, err.message);
    }
    drawList();
  }

  function replaceGroup(group) {
    if (groups.some((g) => g.id === group.id)) groups = groups.map((g) => (g.id === group.id ? group : g));
    else groups = [...groups, group];
    drawList();
  }

  function closeGroup() {
    const id = openId;
    openId = null;
    membersPart?.controller.abort();
    membersPart = null;
    detail.hidden = true;
    detail.replaceChildren();
    drawList();
    if (id) host.querySelector(`tr[data-group-id="${CSS.escape(id)}"] .manage-group`)?.focus();
  }

  // ---- one group ----------------------------------------------------------------------------------------------
  function openGroup(id) {
    const group = groups.find((g) => g.id === id);
    if (!group) return;
    openId = id;
    if (membersPart?.id !== id) {
      membersPart?.controller.abort();
      const controller = new AbortController();
      const el = h("div", { class: "stack", id: "group-members-part" });
      membersPart = { id, el, controller };
      const current = () => groups.find((g) => g.id === id) || group;
      showMembers(el, { group: current, people: directory, announce, signal: controller.signal });
    }
    const title = h("h3", { id: "group-detail-title", tabindex: "-1" }, group.name,
      group.archived ? h("span", { class: "flag admin-flag" }, "Archived") : null);
    const close = h("button", { type: "button", class: "button button-quiet", id: "group-detail-close" }, "Close");
    close.addEventListener("click", closeGroup);
    detail.replaceChildren(title,
      h("div", { class: "row" }, h("a", { class: "button button-small button-quiet", id: "group-sessions-link",
        href: `#/group/${encodeURIComponent(group.id)}/sessions` }, "Sessions and schedule")),
      membersPart.el, settingsForm(group), archivePart(group), h("div", { class: "row" }, close));
    detail.hidden = false;
    drawList();
    title.focus();
  }

  // Each act has its alert beside it, so a refusal is read where the act was asked for.
  function settingsForm(group) {
    const error = alertBox("group-settings-error");
    const fields = groupFields("group-settings", groupValues(group));
    const save = h("button", { type: "submit", class: "button button-small", id: "group-settings-save" }, "Save changes");
    const known = (zone) => zone === group.timezone || isKnownZone(zone);
    const act = createAct({
      id: "group-settings-confirm", alert: error,
      act: (changes) => updateGroup(group.id, changes.body),
      done: (updated, changes) => {
        replaceGroup(updated);
        openGroup(updated.id);
        announce(`${updated.name} is saved: ${changes.changes.map((c) => c.label).join(", ")} changed.`);
      },
    });
    const form = h("form", { class: "stack admin-act", id: "group-settings", novalidate: true },
      h("h4", {}, "Settings"), fields.el, error, h("div", { class: "row" }, save), act.el);
    form.addEventListener("input", () => act.hide());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      setAlert(error, "");
      const built = groupChanges(group, fields.values(), known);
      if (built.error) {
        setAlert(error, built.error);
        return flagField(form, fields.controls[built.field] || save);
      }
      flagField(form, null);
      act.ask(changesQuestion(group, built.changes), "Yes, save", save, built);
    });
    return form;
  }

  function archivePart(group) {
    const error = alertBox("group-archive-error");
    const button = h("button", { type: "button", id: "group-archive",
      class: group.archived ? "button button-small" : "button button-small button-danger" },
    group.archived ? "Restore group" : "Archive group");
    const act = createAct({
      id: "group-archive-confirm", alert: error,
      act: () => updateGroup(group.id, { archived: !group.archived }),
      done: (updated) => {
        replaceGroup(updated);
        openGroup(updated.id);
        announce(updated.archived ? `${updated.name} is archived.` : `${updated.name} is restored.`);
      },
    });
    button.addEventListener("click", () => act.ask(archiveQuestion(group),
      group.archived ? "Yes, restore it" : "Yes, archive it", button));
    return h("div", { class: "stack-tight admin-act admin-apart", id: "group-archive-part" },
      h("h4", {}, group.archived ? "Restore" : "Archive"),
      h("p", { class: "muted" }, group.archived ? "This group is archived: it is on no one's home page."
        : "Archiving takes the group off its members' home pages and keeps its records."),
      error, h("div", { class: "row" }, button), act.el);
  }

  // ---- a new group --------------------------------------------------------------------------------------------
  const createError = alertBox("new-group-error");
  const fresh = groupFields("new-group", newGroupValues(browserZone()));
  const create = createAct({
    id: "new-group-confirm", alert: createError,
    act: (body) => createGroup(body),
    done: (group) => {
      form.reset();
      replaceGroup(group);
      announce(`${group.name} is created. Enrol its members below.`);
      openGroup(group.id);
    },
  });
  const form = h("form", { class: "stack", id: "new-group-form", novalidate: true }, fresh.el, createError,
    h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "new-group-create" },
      "Create group")),
    create.el);
  form.addEventListener("input", () => create.hide());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(createError, "");
    const built = newGroupBody(fresh.values(), isKnownZone);
    if (built.error) {
      setAlert(createError, built.error);
      return flagField(form, fresh.controls[built.field]);
    }
    flagField(form, null);
    create.ask(createGroupQuestion(built.body), "Yes, create it", fresh.controls.name, built.body);
  });
  const add = h("section", { class: "panel stack", "aria-labelledby": "new-group-title" },
    h("h3", { id: "new-group-title" }, "New group"), form);

  host.replaceChildren(h("div", { class: "admin-columns" }, h("div", { class: "stack" }, list, detail), add));
  signal.addEventListener("abort", () => membersPart?.controller.abort(), { once: true });
  await Promise.all([load(), directory]);
}
