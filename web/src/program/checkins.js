// Check-ins and support requests as the facilitator's console keeps them: a pure reducer of the protocol's events
// (lobby:checkin, support:requested, support:acknowledged) and of the lists read over REST when the console opens.
// step(state, event) -> {state, effects}; effects ask the view to chime or to announce a sentence.

export const LOW_RATING = 2; // a rating of 1 or 2 is flagged, as the server does
const MAX_KEPT = 200;

export const INITIAL = Object.freeze({ checkins: [], support: [] });

/** Whether a check-in is flagged: the server's word when it sends one, else a rating of 1 or 2. */
export function isFlagged(checkin) {
  if (typeof checkin?.flagged === "boolean") return checkin.flagged;
  const rating = Number(checkin?.rating);
  return Number.isInteger(rating) && rating >= 1 && rating <= LOW_RATING;
}

export const RATING_WORDS = { 1: "Very hard", 2: "Hard", 3: "Okay", 4: "Good", 5: "Very good" };

/** "2 of 5 (Hard)" */
export function ratingText(rating) {
  const n = Number(rating);
  return RATING_WORDS[n] ? `${n} of 5 (${RATING_WORDS[n]})` : "No rating";
}

const byTime = (a, b) => String(a.at || "").localeCompare(String(b.at || ""));

function checkinOf(data) {
  if (!data || typeof data !== "object" || !data.user_id) return null;
  const rating = Number(data.rating);
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) return null;
  const checkin = {
    id: data.id ? String(data.id) : `${data.user_id}@${data.at || ""}`,
    user_id: String(data.user_id),
    display_name: typeof data.display_name === "string" ? data.display_name : null,
    rating,
    note: typeof data.note === "string" && data.note ? data.note : null,
    at: typeof data.at === "string" ? data.at : null,
  };
  return { ...checkin, flagged: isFlagged({ ...checkin, flagged: data.flagged }) };
}

function supportOf(data) {
  if (!data || typeof data !== "object" || !data.id || !data.user_id) return null;
  return {
    id: String(data.id),
    user_id: String(data.user_id),
    display_name: typeof data.display_name === "string" ? data.display_name : null,
    note: typeof data.note === "string" && data.note ? data.note : null,
    at: typeof data.at === "string" ? data.at : null,
    acknowledged: Boolean(data.acknowledged || data.acknowledged_at || data.acknowledged_by),
  };
}

function addCheckins(list, incoming) {
  const byId = new Map(list.map((c) => [c.id, c]));
  for (const c of incoming) byId.set(c.id, c);
  return [...byId.values()].sort(byTime).slice(-MAX_KEPT);
}

const nameOr = (item) => item.display_name || "Someone";

export function step(state, event) {
  switch (event?.type) {
    case "checkin": {
      const checkin = checkinOf(event.data);
      if (!checkin) return { state, effects: [] };
      const known = state.checkins.some((c) => c.id === checkin.id);
      const next = { ...state, checkins: addCheckins(state.checkins, [checkin]) };
      const effects = known ? [] : [{ type: "announce", text: `${nameOr(checkin)} checked in: ${
        ratingText(checkin.rating)}${checkin.flagged ? ", flagged" : ""}.` }];
      return { state: next, effects };
    }
    case "seed_checkins": {
      const list = (Array.isArray(event.list) ? event.list : []).map(checkinOf).filter(Boolean);
      return { state: { ...state, checkins: addCheckins(state.checkins, list) }, effects: [] };
    }
    case "support_requested": {
      const request = supportOf(event.data);
      if (!request || state.support.some((s) => s.id === request.id)) return { state, effects: [] };
      const support = [...state.support, request].slice(-MAX_KEPT);
      return { state: { ...state, support }, effects: [{ type: "chime" },
        { type: "announce", text: `${nameOr(request)} asked for support.` }] };
    }
    case "seed_support": {
      const known = new Set(state.support.map((s) => s.id));
      const fresh = (Array.isArray(event.list) ? event.list : []).map(supportOf).filter((s) => s && !known.has(s.id));
      if (fresh.length === 0) return { state, effects: [] };
      const support = [...state.support, ...fresh].sort(byTime).slice(-MAX_KEPT);
      const open = fresh.some((s) => !s.acknowledged);
      return { state: { ...state, support }, effects: open ? [{ type: "chime" }] : [] };
    }
    case "support_acknowledged": {
      const id = event.data?.id;
      if (!state.support.some((s) => s.id === id && !s.acknowledged)) return { state, effects: [] };
      const support = state.support.map((s) => (s.id === id ? { ...s, acknowledged: true, by: event.data.by } : s));
      return { state: { ...state, support }, effects: [] };
    }
    default:
      return { state, effects: [] };
  }
}

/** Each person's latest check-in, by user id. */
export function latestByUser(state) {
  const latest = new Map();
  for (const c of state.checkins) latest.set(c.user_id, c); // sorted by time: the last one wins
  return latest;
}

/** Support requests not yet acknowledged, oldest first: the console's badge counts them. */
export function openSupport(state) {
  return state.support.filter((s) => !s.acknowledged);
}

/** The badge's words: "" when none, "1 open" ... */
export function badgeText(state) {
  const n = openSupport(state).length;
  return n === 0 ? "" : `${n} open`;
}
