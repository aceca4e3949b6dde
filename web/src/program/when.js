// Times of the program (sessions, openings, check-ins) in the reader's own time zone. The server sends ISO 8601 in
// UTC; people read local times. Every function takes `locale` and `timeZone` so that tests pin them; the page leaves
// them undefined (the browser's own).
import { parseSentAt } from "../room/chat.js";

export { parseSentAt as parseTime };

const DAY_MS = 86400000;

// The calendar day of `date` in `timeZone`, as "YYYY-MM-DD".
export function localDay(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

// "today", "tomorrow", or null: how `date` stands to `now` in the reader's calendar.
export function dayWord(date, now, timeZone) {
  const day = localDay(date, timeZone);
  if (day === localDay(now, timeZone)) return "today";
  if (day === localDay(new Date(now.getTime() + DAY_MS), timeZone)) return "tomorrow";
  return null;
}

export function clockTime(date, { locale, timeZone } = {}) {
  return date.toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit", timeZone });
}

export function calendarDay(date, { locale, timeZone } = {}) {
  return date.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long", timeZone });
}

/** "today at 6:00 PM", "tomorrow at 6:00 PM", "Tuesday 12 March at 6:00 PM"; "" for a value that is not a time. */
export function formatWhen(value, { now = new Date(), locale, timeZone } = {}) {
  const date = value instanceof Date ? value : parseSentAt(value);
  if (!date) return "";
  const word = dayWord(date, now, timeZone);
  const day = word || calendarDay(date, { locale, timeZone });
  return `${day} at ${clockTime(date, { locale, timeZone })}`;
}

/** "Tuesday 12 March, 6:00 PM to 7:30 PM" (the end's day is said only when it differs). */
export function formatSpan(startValue, endValue, opts = {}) {
  const start = parseSentAt(startValue);
  const end = parseSentAt(endValue);
  if (!start) return "";
  const head = `${calendarDay(start, opts)}, ${clockTime(start, opts)}`;
  if (!end) return head;
  const sameDay = localDay(start, opts.timeZone) === localDay(end, opts.timeZone);
  return `${head} to ${sameDay ? "" : `${calendarDay(end, opts)}, `}${clockTime(end, opts)}`;
}

/** What a participant is told when the room is not open yet (room:join's room_not_open, with its opens_at). */
export function opensMessage(opensAt, opts = {}) {
  const date = parseSentAt(opensAt);
  if (!date || date.getUTCFullYear() >= 9999) {
    return "This group's room is closed: no session is scheduled at the moment.";
  }
  return `This group's room is not open yet. It opens ${formatWhen(date, opts)} (your time).`;
}

// An ISO 8601 time with an explicit UTC offset, as the server's `from` and `to` want ("Z" spelled "+00:00").
export function isoUtc(date) {
  return date.toISOString().replace("Z", "+00:00");
}

/** The week (Monday 00:00 to the next Monday 00:00, in the browser's time zone) holding `date`, `offset` weeks on. */
export function weekOf(date, offset = 0) {
  const start = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  start.setDate(start.getDate() - ((start.getDay() + 6) % 7) + offset * 7);
  const end = new Date(start.getFullYear(), start.getMonth(), start.getDate() + 7);
  return { start, end, from: isoUtc(start), to: isoUtc(end) };
}

/** "Week of Monday 3 March" for a week's start. */
export function weekLabel(start, { locale } = {}) {
  return `Week of ${start.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long" })}`;
}

/**
 * What the home page says about the reader's sessions (GET /api/me/sessions): the ones live now, the next one to
 * come (not cancelled, not over), and the rest still to come, each in starts_at order.
 */
export function upcoming(sessions, now = new Date()) {
  const list = (Array.isArray(sessions) ? sessions : [])
    .filter((s) => s && parseSentAt(s.starts_at))
    .sort((a, b) => parseSentAt(a.starts_at) - parseSentAt(b.starts_at));
  const live = list.filter((s) => s.status === "open");
  const ahead = list.filter((s) => s.status === "scheduled" && (parseSentAt(s.ends_at) || parseSentAt(s.starts_at)) > now);
  return { live, next: ahead[0] || null, later: ahead.slice(1) };
}

/** A local date and time typed in the page ("2025-03-04", "18:30") as the moment it names, or null. */
export function localMoment(day, time) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day || ""));
  const t = /^(\d{2}):(\d{2})$/.exec(String(time || ""));
  if (!d || !t) return null;
  const date = new Date(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  return Number.isNaN(date.getTime()) ? null : date;
}
