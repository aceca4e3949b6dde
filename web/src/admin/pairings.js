// Mentor pairings as the program console lists and makes them (docs/protocol.md 4.4): who may be a mentor and who a
// mentee, the body of a new pairing, and each pairing with its people named. No DOM here.
import { byName } from "./users.js";

const usable = (users, role) =>
  (Array.isArray(users) ? users : []).filter((u) => u.role === role && !u.disabled).sort(byName);

/** Mentor accounts, by name (disabled ones left out). */
export const mentorChoices = (users) => usable(users, "mentor");
/** Participant accounts, by name: only a participant can be a mentee. */
export const menteeChoices = (users) => usable(users, "participant");

export function pairingBody(mentorId, menteeId) {
  if (!mentorId) return { error: "Choose a mentor.", field: "mentor" };
  if (!menteeId) return { error: "Choose a mentee.", field: "mentee" };
  if (mentorId === menteeId) return { error: "A mentor cannot be paired with themselves.", field: "mentee" };
  return { body: { mentor_id: mentorId, mentee_id: menteeId } };
}

// Someone the directory does not know (removed, or beyond what was read): a short form of the id, never blank.
export const unknownPerson = (id) => (id ? `Unknown person (${String(id).slice(0, 8)})` : "Unknown person");

/** Each pairing with `mentor` and `mentee` names from `names` (id -> name), active ones first, newest first. */
export function pairingRows(pairings, names) {
  const list = Array.isArray(pairings) ? pairings : [];
  return list
    .map((p) => ({
      ...p,
      mentor: names.get(p.mentor_id) || unknownPerson(p.mentor_id),
      mentee: names.get(p.mentee_id) || unknownPerson(p.mentee_id),
    }))
    .sort((a, b) => Number(b.active) - Number(a.active) || String(b.created_at).localeCompare(String(a.created_at)));
}

export const pairQuestion = (mentor, mentee) =>
  `Pair ${mentor} as mentor with ${mentee}? They can call and message each other from now on.`;

export const endQuestion = (row) =>
  `End the pairing of ${row.mentor} with ${row.mentee}? A call between them ends now and they can no longer message `
  + "each other. The record is kept, and they can be paired again later.";
