// The group's schedule on the session page: its weekly series (each removable), and forms to add a weekly series,
// cancel one date of a series, and add a one-off session. `onChanged()` asks the page to read the week again.
import { h, setAlert } from "../dom.js";
import { addExtraSession, addSchedule, cancelDate, deleteSchedule, getSchedules } from "./api.js";
import { WEEKDAYS, cancellationBody, describeSeries, extraSessionBody, seriesBody } from "./schedule.js";

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

const input = (id, type, attrs = {}) => h("input", { id, name: id, type, ...attrs });

export async function showSchedule(host, { groupId, timeZone, signal, announce, onChanged }) {
  const error = h("p", { class: "alert", role: "alert", id: "schedule-error", hidden: true });
  const list = h("ul", { id: "schedules", class: "plain-list" });
  const empty = h("p", { class: "muted", id: "schedules-empty", hidden: true },
    "No weekly series yet. Until a group has a schedule, its room is open whenever a facilitator is there.");

  // A weekly series.
  const days = WEEKDAYS.map(([n, name]) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "weekday", value: String(n) }), name));
  const start = input("series-start", "time", { required: true });
  const duration = input("series-duration", "number", { min: "5", max: "720", value: "90", required: true,
    inputmode: "numeric" });
  const startsOn = input("series-starts-on", "date", { required: true });
  const endsOn = input("series-ends-on", "date");
  const seriesForm = h("form", { class: "stack", id: "series-form" },
    h("fieldset", { class: "days" }, h("legend", {}, "Days"), ...days),
    field("series-start", `Start time${timeZone ? ` (${timeZone})` : ""}`, start),
    field("series-duration", "Length in minutes", duration),
    field("series-starts-on", "First date", startsOn),
    field("series-ends-on", "Last date (optional)", endsOn),
    h("div", { class: "row" }, h("button", { type: "submit", class: "button" }, "Add weekly series")));

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

  host.replaceChildren(h("h3", { id: "schedule-title" }, "Schedule"), error, empty, list,
    h("details", { class: "form-box" }, h("summary", {}, "Add a weekly series"), seriesForm),
    h("details", { class: "form-box" }, h("summary", {}, "Cancel a date"), cancelForm),
    h("details", { class: "form-box" }, h("summary", {}, "Add a one-off session"), extraForm));

  async function load() {
    let schedules = [];
    try {
      const data = await getSchedules(groupId, signal);
      schedules = Array.isArray(data?.schedules) ? data.schedules : [];
    } catch (err) {
      if (err.name !== "AbortError") setAlert(error, err.message);
      return;
    }
    if (signal.aborted) return;
    empty.hidden = schedules.length > 0;
    list.replaceChildren(...schedules.map((s) => {
      const text = describeSeries(s, timeZone);
      return h("li", { class: "series", "data-schedule-id": s.id },
        h("span", {}, text),
        h("button", { type: "button", class: "button button-small button-quiet", "aria-label": `Remove series: ${text}`,
          onclick: () => remove(s.id) }, "Remove"));
    }));
    which.replaceChildren(...schedules.map((s) => h("option", { value: s.id }, describeSeries(s))));
    cancelForm.querySelector("button").disabled = schedules.length === 0;
  }

  async function send(action, success) {
    setAlert(error, "");
    try {
      await action();
    } catch (err) {
      setAlert(error, err.message);
      return false;
    }
    announce(success);
    await load();
    onChanged();
    return true;
  }

  async function remove(scheduleId) {
    if (!window.confirm("Remove this weekly series? Its future sessions go from the schedule.")) return;
    await send(() => deleteSchedule(groupId, scheduleId), "Series removed.");
  }

  seriesForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const built = seriesBody({
      weekdays: days.map((d) => d.querySelector("input")).filter((c) => c.checked).map((c) => c.value),
      start_time: start.value, duration_minutes: duration.value, starts_on: startsOn.value, ends_on: endsOn.value,
    });
    if (built.error) return setAlert(error, built.error);
    if (await send(() => addSchedule(groupId, built.body), "Weekly series added.")) seriesForm.reset();
  });

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
