// A group's time zone as administrators choose it: the IANA names the browser knows (Intl.supportedValuesOf), the
// body of PATCH /api/groups/{id} {"timezone"} checked first, and the sentence confirming the change. Weekly series
// keep their local start time in the group's zone, so changing the zone moves them for everyone elsewhere.

const NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** The IANA names this browser knows, or null when it cannot list them (then the page asks for a typed name). */
export function supportedTimeZones(intl = globalThis.Intl) {
  try {
    const list = intl?.supportedValuesOf?.("timeZone");
    return Array.isArray(list) && list.length ? list : null;
  } catch {
    return null;
  }
}

/** The names to choose from: the browser's, with UTC and the group's current zone always there, sorted. */
export function timeZoneChoices(supported, current) {
  const names = new Set(Array.isArray(supported) ? supported : []);
  names.add("UTC");
  if (current) names.add(current);
  return [...names].sort((a, b) => a.localeCompare(b, "en"));
}

/** Whether the browser can show times in `name` (it refuses names it does not know). */
export function isKnownZone(name) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** {body: {timezone}} or {error}; `known(name)` says whether the name is a real zone (the server checks again). */
export function timeZoneBody(value, current, known = isKnownZone) {
  const name = String(value ?? "").trim();
  if (!name) return { error: "Choose a time zone." };
  if (name.length > 64 || !NAME.test(name) || !known(name)) {
    return { error: `"${name.slice(0, 64)}" is not a time zone name. Use an IANA name such as Europe/London.` };
  }
  if (name === current) return { error: `The group is already on ${name} time.` };
  return { body: { timezone: name } };
}

/** What the administrator confirms before the change. */
export function zoneChangeQuestion(from, to) {
  return `Change the group's time zone from ${from} to ${to}? Weekly series keep their start time in the group's `
    + `zone (18:00 stays 18:00 in ${to}), so their sessions move for anyone in another zone.`;
}

/** "6:05 PM" now in `zone`, so that a reader can see what the group's clock says. */
export function timeThere(zone, { now = new Date(), locale } = {}) {
  try {
    return now.toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit", timeZone: zone });
  } catch {
    return "";
  }
}
