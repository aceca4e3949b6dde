// The bounds the server holds a person's and a group's fields to (docs/protocol.md 4.2, 4.3), checked in the page
// first so that a mistake is named beside the form before anything is sent. The server checks again and has the last
// word; these only mirror it. Lengths are counted in characters as Python counts them (code points), not in the
// UTF-16 units of String.length, so an emoji counts once here as it does there.
//
// Each check returns {value} (what is sent) or {error} (a sentence naming the field).

export const MIN_CAPACITY = 2;
export const MAX_CAPACITY = 200;
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;
export const MAX_EMAIL = 254;
export const MAX_DISPLAY_NAME = 80;
export const MAX_GROUP_NAME = 120;
export const MAX_TIME_ZONE = 64;

// The server's own pattern, after it trims and lower-cases: a local part of 1-64 characters without "@" or spaces,
// a domain, and a last label of at least two characters.
const EMAIL = /^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$/u;
// Control, format (invisible), surrogate, private-use and unassigned characters: Unicode category C, which the
// server refuses in names.
const INVISIBLE = /\p{C}/u;
const ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

export const characters = (text) => [...String(text ?? "")].length;

export function checkEmail(raw) {
  const text = String(raw ?? "");
  if (!text.trim()) return { error: "Enter the person's email address." };
  if (characters(text) > MAX_EMAIL) return { error: `An email address has at most ${MAX_EMAIL} characters.` };
  const value = text.trim().toLowerCase();
  if (!EMAIL.test(value)) return { error: "Enter an email address such as jo@example.org." };
  return { value };
}

// A name as people see it (a person's display name or a group's name): trimmed, NFC, nothing invisible.
function checkName(raw, max, what) {
  const text = String(raw ?? "");
  if (characters(text) > max) return { error: `${what} has at most ${max} characters.` };
  const value = text.trim().normalize("NFC");
  if (!value) return { error: `Enter ${what.toLowerCase()}.` };
  if (INVISIBLE.test(value)) return { error: `${what} cannot hold control or invisible characters.` };
  return { value };
}

export const checkDisplayName = (raw) => checkName(raw, MAX_DISPLAY_NAME, "A display name");
export const checkGroupName = (raw) => checkName(raw, MAX_GROUP_NAME, "A group name");

// Passwords go as typed: a space at either end is part of the password.
export function checkPassword(raw) {
  const value = String(raw ?? "");
  const n = characters(value);
  if (n < MIN_PASSWORD) return { error: `A password has at least ${MIN_PASSWORD} characters.` };
  if (n > MAX_PASSWORD) return { error: `A password has at most ${MAX_PASSWORD} characters.` };
  return { value };
}

// From a number field's text: a whole number from 2 to 200 (the server refuses "8" as a string and 8.5 alike).
export function checkCapacity(raw) {
  const text = String(raw ?? "").trim();
  if (!/^\d+$/.test(text)) return { error: `Capacity is a whole number from ${MIN_CAPACITY} to ${MAX_CAPACITY}.` };
  const value = Number(text);
  if (value < MIN_CAPACITY || value > MAX_CAPACITY) {
    return { error: `Capacity is a whole number from ${MIN_CAPACITY} to ${MAX_CAPACITY}.` };
  }
  return { value };
}

// An IANA name the browser also knows; `known(name)` is replaceable in tests (the server decides in the end).
export function checkTimeZone(raw, known = () => true) {
  const value = String(raw ?? "").trim();
  if (!value) return { error: "Choose a time zone." };
  if (value.length > MAX_TIME_ZONE || !ZONE.test(value) || !known(value)) {
    return { error: `"${value.slice(0, MAX_TIME_ZONE)}" is not a time zone name. Use an IANA name such as Europe/London.` };
  }
  return { value };
}
