// A session's attendance report (GET /api/sessions/{id}/attendance) as the session page shows it: one row per member
// with the original figures, and the corrections made after sign-off beside them, never in their place.
import { parseSentAt } from "../room/chat.js";
import { clockTime } from "./when.js";

export const STATUS_WORDS = { present: "Present", absent: "Absent" };
export const ENDED_WORDS = {
  left: "left",
  removed: "removed",
  connection_lost: "connection lost",
  ended: "session ended",
  to_lobby: "sent to the waiting room",
};

/** Where a session's CSV is read (the server also answers `Accept: text/csv`). */
export function csvPath(sessionId) {
  return `/api/sessions/${encodeURIComponent(sessionId)}/attendance?format=csv`;
}

/** Where a group's attendance over a range is read as CSV. */
export function groupCsvPath(groupId, from, to) {
  const q = new URLSearchParams({ from, to, format: "csv" });
  return `/api/groups/${encodeURIComponent(groupId)}/attendance?${q}`;
}

/** The file name a Content-Disposition header gives, else a fallback ("attendance-<date>.csv"). */
export function csvFileName(disposition, fallbackDate = "") {
  const header = String(disposition || "");
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ""));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  if (plain && plain[1].trim()) return plain[1].trim();
  const day = String(fallbackDate || "").slice(0, 10);
  return day ? `attendance-${day}.csv` : "attendance.csv";
}

export function minutesText(value) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return "—";
  return n === 1 ? "1 min" : `${n} min`;
}

function timeText(value, opts) {
  const date = parseSentAt(value);
  return date ? clockTime(date, opts) : "—";
}

/** One correction in words: "Corrected to present, 45 min: <note>". */
export function correctionText(correction) {
  const parts = [];
  if (correction?.status) parts.push(`to ${String(correction.status)}`);
  if (correction?.minutes_present !== null && correction?.minutes_present !== undefined) {
    parts.push(minutesText(correction.minutes_present));
  }
  const by = correction?.by && typeof correction.by === "object" && correction.by.display_name
    ? ` by ${correction.by.display_name}` : "";
  const head = `Corrected${parts.length ? ` ${parts.join(", ")}` : ""}${by}`;
  return correction?.note ? `${head}: ${correction.note}` : head;
}

function lateText(member) {
  const flags = [];
  if (member.late === true) flags.push(Number.isFinite(member.minutes_late) ? `late ${member.minutes_late} min` : "late");
  if (member.left_early === true) flags.push("left early");
  return flags.join(", ");
}

/** The table's rows: what each cell shows, plus the corrections as sentences. */
export function memberRows(report, opts = {}) {
  const members = Array.isArray(report?.members) ? report.members : [];
  return members.map((m) => ({
    user_id: String(m.user_id ?? ""),
    name: m.display_name || "Someone",
    role: m.role === "facilitator" ? "Facilitator" : "Participant",
    status: STATUS_WORDS[m.status] || String(m.status ?? "—"),
    absent: m.status === "absent",
    present: minutesText(m.minutes_present),
    camera: minutesText(m.minutes_camera_on),
    waiting: minutesText(m.minutes_waiting),
    first: timeText(m.first_joined, opts),
    last: timeText(m.last_left, opts),
    flags: lateText(m),
    ended: (Array.isArray(m.stretches) ? m.stretches : [])
      .map((s) => ENDED_WORDS[s?.ended] || (s?.ended === null ? "still in" : ""))
      .filter(Boolean).join(", "),
    corrections: (Array.isArray(m.corrections) ? m.corrections : []).map(correctionText),
  }));
}

/** "Signed off by Fran at 7:40 PM: note" or null while not signed. */
export function signOffText(report, opts = {}) {
  const s = report?.signed_off;
  if (!s || typeof s !== "object") return null;
  let by = s.by && typeof s.by === "object" ? s.by.display_name : null;
  if (!by && typeof s.by === "string") {
    by = (report.members || []).find((m) => m?.user_id === s.by)?.display_name || null;
  }
  by = by || "a facilitator";
  const at = parseSentAt(s.at);
  const head = `Signed off by ${by}${at ? ` at ${clockTime(at, opts)}` : ""}`;
  return s.note ? `${head}. Note: ${s.note}` : `${head}.`;
}

/** The correction's body from the form, or {error}. */
export function correctionBody({ user_id: userId, status, minutes, note }) {
  if (!userId) return { error: "Choose the member to correct." };
  const text = String(note || "").trim();
  if (!text) return { error: "A correction needs a note saying why." };
  if (text.length > 1000) return { error: "The note is longer than 1000 characters." };
  const body = { user_id: userId, note: text };
  if (status) body.status = status;
  if (minutes !== "" && minutes !== undefined && minutes !== null) {
    const n = Number(minutes);
    if (!Number.isInteger(n) || n < 0) return { error: "Minutes present must be a whole number." };
    body.minutes_present = n;
  }
  return { body };
}
