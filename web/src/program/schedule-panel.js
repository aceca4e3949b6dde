// The group's schedule on the session page: its time zone (administrators change it), its weekly series (each
// editable and removable), and forms to add a weekly series, cancel one date of a series, and add a one-off session.
// `onChanged()` asks the page to read the week again; `onZoneChanged(zone)` tells it the group's zone changed.
import { h, setAlert } from "../dom.js";
import { addExtraSession, addSchedule, cancelDate, deleteSchedule, getSchedules, updateSchedule } from "./api.js";
import { createZoneControl } from "./group-zone.js";
import { cancellationBody, describeSeries, extraSessionBody, seriesBody, seriesChanges, seriesValues }
  from "./schedule.js";
import { createSeriesForm } from "./series-form.js";

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

const input = (id, type, attrs = {}) => h("input", { id, name: id, type, ...attrs });

export async function showSchedule(host, { groupId, timeZone, canChangeZone = false, signal, announce, onChanged,
  onZoneChanged = () => {} }) {
  let zone = timeZone;
  let schedules = [];
  let editing = null; // the id of the series being edited
  let editor = null; // its form
  const error = h("p", { class: "alert", role: "alert", id: "schedule-error", hidden: true });
  const list = h("ul", { id: "schedules", class: "plain-list" });
  const empty = h("p", { class: "muted", id: "schedules-empty", hidden: true },
    "No weekly series yet. Until a group has a schedule, its room is open whenever a facilitator is there.");

  // A weekly series.
  const addForm = createSeriesForm({ prefix: "series", timeZone: zone, submitLabel: "Add weekly series",
    onSubmit: async (fields) => {
      const built = seriesBody(fields);
      if (built.error) return setAlert(error, built.error);
      if (await send(() => addSchedule(groupId, built.body), "Weekly series added.")) addForm.reset();
    } });

  // A cancelled date of a series.
  const which = h("select", { id: "cancel-series" });
  const cancelOn = input("cancel-date", "date", { required: true });
  const cancelForm = h("form", { class: "stack", id: "cancel-form" },
    field("cancel-series", "Series", which), field("cancel-date", "Date to cancel", cancelOn),
    h("div", { class: "row" }, h("button", { type: "submit", class: "button" }, "Cancel this date")));

  // A one-off session, typed in the reader's own time.
  const extraDay = input("extra-day", "date", { required: true });
  const extraStart = input("extra-start", "time", { required: true });
  const extraEnd = input("extra-end", "time", { required: true });
  const extraForm = h("form", { class: "stack", id: "extra-form" },
    field("extra-day", "Date", extraDay), field("extra-start", "Starts (your time)", extraStart),
    field("extra-end", "Ends (your time)", extraEnd),
    h("div", { class: "row" }, h("button", { type: "submit", class: "button" }, "Add one-off session")));

  const zoneControl = createZoneControl({ groupId, timeZone: zone, canChange: canChangeZone, announce,
    onChanged: async (next) => {
      zone = next;
      addForm.setTimeZone(zone);
      draw();
      onZoneChanged(zone);
    } });

  host.replaceChildren(h("h3", { id: "schedule-title" }, "Schedule"), zoneControl.el, error, empty, list,
    h("details", { class: "form-box" }, h("summary", {}, "Add a weekly series"), addForm.form),
    h("details", { class: "form-box" }, h("summary", {}, "Cancel a date"), cancelForm),
    h("details", { class: "form-box" }, h("summary", {}, "Add a one-off session"), extraForm));

  const editButton = (scheduleId) => list.querySelector(`li[data-schedule-id="${CSS.escape(scheduleId)}"] .edit-series`);

  function seriesItem(s) {
    const text = describeSeries(s, zone);
    const open = editing === s.id;
    const item = h("li", { class: "series", "data-schedule-id": s.id },
      h("span", {}, text),
      h("div", { class: "row" },
        h("button", { type: "button", class: "button button-small button-quiet edit-series",
          "aria-label": `Edit series: ${text}`, "aria-expanded": open ? "true" : "false",
          onclick: () => edit(open ? null : s.id) }, "Edit"),
        h("button", { type: "button", class: "button button-small button-quiet", "aria-label": `Remove series: ${text}`,
          onclick: () => remove(s.id) }, "Remove")));
    if (open) {
      const editError = h("p", { class: "alert", role: "alert", id: "series-edit-error", hidden: true });
      editor = createSeriesForm({ prefix: "series-edit", timeZone: zone, values: seriesValues(s),
        submitLabel: "Save changes", onCancel: () => edit(null),
        onSubmit: async (fields) => {
          const built = seriesChanges(s, fields);
          if (built.error) return setAlert(editError, built.error);
          const saved = await send(() => updateSchedule(groupId, s.id, built.body),
            (series) => `Weekly series changed: ${describeSeries(series?.id ? series : { ...s, ...built.body }, zone)}.`,
            editError);
          if (saved) edit(null);
        } });
      item.append(h("div", { class: "form-box series-editor" }, h("h4", {}, "Edit this series"), editError,
        editor.form));
    }
    return item;
  }

  function draw() {
    editor = null;
    empty.hidden = schedules.length > 0;
    list.replaceChildren(...schedules.map(seriesItem));
    which.replaceChildren(...schedules.map((s) => h("option", { value: s.id }, describeSeries(s))));
    cancelForm.querySelector("button").disabled = schedules.length === 0;
  }

  // Opens the editor of one series (null closes it); focus goes to its first field, or back to its Edit button.
  function edit(scheduleId) {
    const closing = editing;
    editing = scheduleId;
    setAlert(error, "");
    draw();
    if (scheduleId) editor?.focus();
    else if (closing) editButton(closing)?.focus();
  }

  async function load() {
    try {
      const data = await getSchedules(groupId, signal);
      schedules = Array.isArray(data?.schedules) ? data.schedules : [];
    } catch (err) {
      if (err.name !== "AbortError") setAlert(error, err.message);
      return;
    }
    if (signal.aborted) return;
    if (editing && !schedules.some((s) => s.id === editing)) editing = null;
    draw();
  }

  // Does `action`; says `success` (or success(result)) in the live region, or the refusal in `alert`.
  async function send(action, success, alert = error) {
    setAlert(alert, "");
    let result;
    try {
      result = await action();
    } catch (err) {
      setAlert(alert, err.message);
      return false;
    }
    announce(typeof success === "function" ? success(result) : success);
    await load();
    onChanged();
    return true;
  }

  async function remove(scheduleId) {
    if (!window.confirm("Remove this weekly series? Its future sessions go from the schedule.")) return;
    await send(() => deleteSchedule(groupId, scheduleId), "Series removed.");
  }

  cancelForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const built = cancellationBody(cancelOn.value);
    if (built.error) return setAlert(error, built.error);
    if (!which.value) return setAlert(error, "Choose the series.");
    await send(() => cancelDate(groupId, which.value, built.body), `Cancelled ${cancelOn.value}.`);
  });

  extraForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const built = extraSessionBody({ day: extraDay.value, start: extraStart.value, end: extraEnd.value });
    if (built.error) return setAlert(error, built.error);
    if (await send(() => addExtraSession(groupId, built.body), "One-off session added.")) extraForm.reset();
  });

  await load();
  return { reload: load };
}
