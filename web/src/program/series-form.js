// The form of a weekly series (days, start time in the group's zone, length, first and last date), used to add a
// series and to edit one. It hands its values to `onSubmit(fields)`; schedule.js checks and builds the body.
import { h } from "../dom.js";
import { WEEKDAYS } from "./schedule.js";

const startLabel = (zone) => `Start time${zone ? ` (${zone})` : ""}`;

/**
 * {form, setTimeZone(zone), reset(), focus()}. `prefix` names the fields' ids (`${prefix}-start`, ...); `values`
 * (seriesValues) fills them for an edit; `onCancel` adds a Cancel button.
 */
export function createSeriesForm({ prefix, timeZone, values = null, submitLabel, onSubmit, onCancel = null }) {
  const id = (name) => `${prefix}-${name}`;
  const input = (name, type, attrs = {}) => h("input", { id: id(name), name: id(name), type, ...attrs });
  const field = (name, label, control) => h("div", { class: "field" }, h("label", { for: id(name) }, label), control);

  const chosen = new Set(values?.weekdays || []);
  const days = WEEKDAYS.map(([n, name]) => h("input", { type: "checkbox", name: "weekday", value: String(n),
    checked: chosen.has(n) }));
  const start = input("start", "time", { required: true, value: values?.start_time || null });
  const duration = input("duration", "number", { min: "5", max: "720", required: true, inputmode: "numeric",
    value: values?.duration_minutes || "90" });
  const startsOn = input("starts-on", "date", { required: true, value: values?.starts_on || null });
  const endsOn = input("ends-on", "date", { value: values?.ends_on || null });
  const zoneLabel = h("label", { for: id("start") }, startLabel(timeZone));

  const form = h("form", { class: "stack series-form", id: id("form") },
    h("fieldset", { class: "days" }, h("legend", {}, "Days"),
      ...days.map((box, i) => h("label", { class: "check" }, box, WEEKDAYS[i][1]))),
    h("div", { class: "field" }, zoneLabel, start),
    field("duration", "Length in minutes", duration),
    field("starts-on", "First date", startsOn),
    field("ends-on", "Last date (optional; empty for no end)", endsOn),
    h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: id("save") }, submitLabel),
      onCancel && h("button", { type: "button", class: "button button-quiet", id: id("cancel"), onclick: onCancel },
        "Cancel")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit({
      weekdays: days.filter((box) => box.checked).map((box) => Number(box.value)),
      start_time: start.value, duration_minutes: duration.value, starts_on: startsOn.value, ends_on: endsOn.value,
    });
  });

  return {
    form,
    setTimeZone(zone) {
      zoneLabel.textContent = startLabel(zone);
    },
    reset: () => form.reset(),
    focus: () => days[0].focus(),
  };
}
