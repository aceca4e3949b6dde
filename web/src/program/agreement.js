// A group's agreement as its facilitators edit it: what is in force, the body of a new version (checked as the server
// checks it), and the sentences that confirm publishing. PUT /api/groups/{id}/agreement adds the next version, and
// every participant is asked to accept it before they next enter the room.
import { formatWhen } from "./when.js";

export const MAX_AGREEMENT_CHARS = 20000;

// Control characters other than line breaks and tabs: the server refuses them.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** The text split into paragraphs at blank lines, as the participant's agreement screen shows it. */
export function paragraphs(text) {
  return String(text ?? "").split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
}

/** "Version 3, published today at 6:00 PM." or what it means to have none (GET .../agreement). */
export function agreementStatus(agreement, opts = {}) {
  if (!agreement || agreement.version === null || agreement.version === undefined) {
    return "No agreement yet. Participants enter the room without being asked to accept one.";
  }
  const when = agreement.created_at ? formatWhen(agreement.created_at, opts) : "";
  return `Version ${agreement.version}${when ? `, published ${when}` : ""}.`;
}

/**
 * The body of a new version from the editor's text, or {error} saying what to fix. `current` is the version in
 * force (or null); publishing the same text again would ask everyone to accept nothing new.
 */
export function agreementBody(text, current = null) {
  const value = String(text ?? "").normalize("NFC");
  if (!value.trim()) return { error: "Write the agreement's text first." };
  const length = [...value].length; // the server counts characters, not UTF-16 units
  if (length > MAX_AGREEMENT_CHARS) {
    return { error: `The agreement can be at most 20,000 characters; this one has ${length.toLocaleString("en")}.` };
  }
  if (CONTROL.test(value)) return { error: "The text has a control character in it; please remove it." };
  if (current?.version && typeof current.text === "string" && current.text.normalize("NFC") === value) {
    return { error: `This is the text of version ${current.version} already. Change it to publish a new version.` };
  }
  return { body: { text: value } };
}

/** The version a publish would create. */
export const nextVersion = (current) => (Number(current?.version) || 0) + 1;

/** What the facilitator confirms before publishing. */
export function publishQuestion(current) {
  return `Publish this as version ${nextVersion(current)}? Every participant of the group will be asked to read and `
    + "accept it again before they next enter the room.";
}

/** What is said once it is published (PUT's answer {version}). */
export function publishedText(version) {
  return `Version ${version} is published. Participants will be asked to accept it when they next enter the room.`;
}
