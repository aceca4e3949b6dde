// A group's schedule as people read and write it: a weekly series described in words, and the bodies the page
// sends (POST /api/groups/{id}/schedules, .../cancellations, .../extra-sessions), checked before they go.
import { isoUtc, localMoment } from "./when.js";

// ISO weekdays: 1 = Monday ... 7 = Sunday.
export const WEEKDAYS = [
  [1, "Monday"], [2, "Tuesday"], [3, "Wednesday"], [4, "Thursday"], [5, "Friday"], [6, "Saturday"], [7, "Sunday"],
];
const DAY_NAME = new Map(WEEKDAYS);

export const STATUS_LABELS = {
  scheduled: "Scheduled",
  open: "Live now",
  ended: "Ended",
  cancelled: "Cancelled",
};

/** A series' weekdays as ISO numbers, whether the server sends [1, 3] or "1,3". */
export function weekdaysOf(schedule) {
  const raw = schedule?.weekdays;
  const list = Array.isArray(raw) ? raw : String(raw ?? "").split(",");
  return [...new Set(list.map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 7))].sort((a, b) => a - b);
}

function joinWords(words) {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

/** "Mondays and Thursdays at 18:00 for 90 minutes, from 2025-03-03 until 2025-06-30" (times in the group's zone). */
export function describeSeries(schedule, timeZone = null) {
  const days = weekdaysOf(schedule).map((n) => `${DAY_NAME.get(n)}s`);
  const time = String(schedule?.start_time ?? "").slice(0, 5);
  const minutes = Number(schedule?.duration_minutes);
  let text = `${joinWords(days) || "No days"} at ${time}`;
  if (Number.isFinite(minutes)) text += ` for ${minutes} minutes`;
  if (timeZone) text += ` (${timeZone} time)`;
  if (schedule?.starts_on) text += `, from ${schedule.starts_on}`;
  text += schedule?.ends_on ? ` until ${schedule.ends_on}` : ", no end date";
  return text;
}

const refusal = (message) => ({ error: message });

/**
 * The body of a new weekly series from the form's values, or {error} naming what to fix.
 * fields: {weekdays: [numbers], start_time: "HH:MM", duration_minutes: string|number, starts_on: "YYYY-MM-DD",
 * ends_on: "" | "YYYY-MM-DD"}
 */
export function seriesBody(fields) {
  const weekdays = [...new Set((fields.weekdays || []).map(Number))].filter((n) => n >= 1 && n <= 7).sort();
  if (weekdays.length === 0) return refusal("Choose at least one day of the week.");
  if (!/^\d{2}:\d{2}$/.test(fields.start_time || "")) return refusal("Enter the start time, like 18:00.");
  const duration = Number(fields.duration_minutes);
  if (!Number.isInteger(duration) || duration < 5 || duration > 720) {
    return refusal("The length must be a whole number of minutes from 5 to 720.");
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(fields.starts_on || "")) return refusal("Enter the date of the first week.");
  const endsOn = fields.ends_on || null;
  if (endsOn !== null && !/^\d{4}-\d{2}-\d{2}$/.test(endsOn)) return refusal("Enter the last date, or leave it empty.");
  if (endsOn !== null && endsOn < fields.starts_on) return refusal("The last date is before the first.");
  return { body: { weekdays, start_time: fields.start_time, duration_minutes: duration, starts_on: fields.starts_on,
    ends_on: endsOn } };
}

/** The body of a one-off session typed in the reader's local time: {body: {starts_at, ends_at}} or {error}. */
export function extraSessionBody({ day, start, end }) {
  const startsAt = localMoment(day, start);
  const endsAt = localMoment(day, end);
  if (!startsAt) return refusal("Enter the date and the start time.");
  if (!endsAt) return refusal("Enter the end time.");
  if (endsAt <= startsAt) return refusal("The end must be after the start (on the same day).");
  return { body: { starts_at: isoUtc(startsAt), ends_at: isoUtc(endsAt) } };
}

/** The body of a cancelled date: {body: {date}} or {error}. */
export function cancellationBody(date) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date || "")) return refusal("Choose the date to cancel.");
  return { body: { date } };
}

/** A series as the edit form's values (the same shape seriesBody takes). */
export function seriesValues(schedule) {
  return {
    weekdays: weekdaysOf(schedule),
    start_time: String(schedule?.start_time ?? "").slice(0, 5),
    duration_minutes: String(schedule?.duration_minutes ?? ""),
    starts_on: schedule?.starts_on || "",
    ends_on: schedule?.ends_on || "",
  };
}

/**
 * The PATCH body of an edited series: only the fields that changed (an emptied last date is sent as null, making the
 * series open-ended), or {error} naming what to fix, or saying that nothing changed.
 */
export function seriesChanges(schedule, fields) {
  const built = seriesBody(fields);
  if (built.error) return built;
  const before = seriesBody(seriesValues(schedule)).body || {};
  const body = {};
  for (const [key, value] of Object.entries(built.body)) {
    if (JSON.stringify(value) !== JSON.stringify(before[key])) body[key] = value;
  }
  if (Object.keys(body).length === 0) return refusal("Nothing was changed.");
  return { body };
}
