// Check-in sharing between a mentee and their mentors, in words: the mentee's toggle per mentor
// (PUT /api/me/checkin-sharing) and, on the mentor's side, a mentee's check-in history
// (GET /api/users/{id}/checkins: 403 while the mentee does not share it).
import { isFlagged, ratingText } from "./checkins.js";
import { formatWhen } from "./when.js";

const nameOf = (person) => (typeof person?.display_name === "string" && person.display_name) || "your mentor";

/** The toggle's label: "Let Morgan see my check-ins". */
export const sharingLabel = (mentor) => `Let ${nameOf(mentor)} see my check-ins`;

/** What is said once the server took the change. */
export function sharingDoneText(mentor, shared) {
  const name = nameOf(mentor);
  return shared ? `${name} can now see your check-ins.` : `${name} can no longer see your check-ins.`;
}

/** The person's mentees among their contacts (GET /api/contacts), by name. */
export function menteesOf(contacts) {
  return (Array.isArray(contacts) ? contacts : [])
    .filter((c) => c && c.relationship === "mentee" && c.user_id)
    .sort((a, b) => String(a.display_name || "").localeCompare(String(b.display_name || "")));
}

/**
 * A mentee's check-ins as the mentor reads them, from the reply or the refusal:
 * {kind: "list", items} | {kind: "empty", text} | {kind: "not_shared", text, detail} | {kind: "error", text}.
 * Each item: {id, when, rating, flagged, note}, newest first.
 */
export function checkinHistory({ data = null, error = null } = {}, opts = {}) {
  if (error) {
    if (error.status === 403) return { kind: "not_shared", text: "Not shared with you", detail: error.message || "" };
    return { kind: "error", text: error.message || "The check-ins could not be read." };
  }
  const list = (Array.isArray(data?.checkins) ? data.checkins : [])
    .filter((c) => c && typeof c.at === "string")
    .sort((a, b) => b.at.localeCompare(a.at));
  if (!list.length) return { kind: "empty", text: "No check-ins in the last three months." };
  return {
    kind: "list",
    items: list.map((c) => ({
      id: String(c.id ?? c.at),
      when: formatWhen(c.at, opts),
      rating: ratingText(c.rating),
      flagged: isFlagged(c),
      note: typeof c.note === "string" && c.note ? c.note : null,
    })),
  };
}
