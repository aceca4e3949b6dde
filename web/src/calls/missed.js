// Missed calls: calls to this person that nobody answered (the caller gave up, or it rang out) since they last opened
// the Mentor calls page. Counted from the call records (GET /api/calls) and from calls that end unanswered while the
// tab is open; what was seen is remembered per person in this browser (localStorage), by the newest record's time
// (the server's clock, not this device's) and the ids already seen. A browser that remembers nothing yet starts from
// the newest record (old history is not news there), and every tab follows what another tab marked seen.

export const SEEN_PREFIX = "haven.calls.seen.";
const MISSED_OUTCOMES = new Set(["missed", "cancelled"]);
const MAX_SEEN_IDS = 100;
export const RECORDS_TO_READ = 50;

// Whether a call record is one that this person missed.
export function isMissedFor(record, selfId) {
  return Boolean(record) && record.callee_id === selfId && MISSED_OUTCOMES.has(record.outcome) && !record.answered_at;
}

function timeOf(value) {
  const t = typeof value === "string" ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? t : null;
}

/** The ids of the calls missed and not yet seen, newest first: records newer than seen.at, then live ones. */
export function missedIds({ records = [], live = [], seen = null, selfId }) {
  const seenIds = new Set(seen?.ids || []);
  const at = timeOf(seen?.at);
  const out = [];
  for (const record of records) {
    if (!isMissedFor(record, selfId) || seenIds.has(record.id)) continue;
    const invited = timeOf(record.invited_at);
    if (at !== null && (invited === null || invited <= at)) continue;
    out.push(record.id);
  }
  for (const id of live) {
    if (!seenIds.has(id) && !out.includes(id)) out.unshift(id);
  }
  return out;
}

/** Where a browser that remembers nothing starts: every record there is now counts as seen, but not the calls this
 * tab saw ring out itself (`live`), which are news. */
export function firstSeen({ records = [], live = [], selfId }) {
  const liveIds = new Set(live);
  return seenNow({ records: records.filter((r) => !liveIds.has(r?.id)), live: [], seen: null, selfId });
}

/** What is remembered after the person looked: the newest record's time, and every missed id known now. */
export function seenNow({ records = [], live = [], seen = null, selfId }) {
  let at = timeOf(seen?.at);
  let atText = at === null ? null : seen.at;
  for (const record of records) {
    const t = timeOf(record?.invited_at);
    if (t !== null && (at === null || t > at)) {
      at = t;
      atText = record.invited_at;
    }
  }
  const ids = [...live, ...records.filter((r) => isMissedFor(r, selfId)).map((r) => r.id), ...(seen?.ids || [])];
  return { at: atText, ids: [...new Set(ids)].slice(0, MAX_SEEN_IDS) };
}

export function readSeen(storage, userId) {
  try {
    const value = JSON.parse(storage?.getItem(SEEN_PREFIX + userId) || "null");
    if (!value || typeof value !== "object") return null;
    return { at: typeof value.at === "string" ? value.at : null,
      ids: Array.isArray(value.ids) ? value.ids.filter((id) => typeof id === "string").slice(0, MAX_SEEN_IDS) : [] };
  } catch {
    return null;
  }
}

function writeSeen(storage, userId, seen) {
  try {
    storage?.setItem(SEEN_PREFIX + userId, JSON.stringify(seen));
  } catch {
    // storage disabled: the count simply starts again from the records next time
  }
}

/**
 * Keeps the count for the signed-in person. load() -> {calls: [...]} (GET /api/calls); onChange(count) after every
 * change of the count.
 */
export function createMissedCalls({ load, storage, onChange }) {
  let userId = null;
  let records = [];
  let live = [];
  let seen = null;
  let ids = [];
  let generation = 0;

  function recount() {
    const next = userId ? missedIds({ records, live, seen, selfId: userId }) : [];
    const changed = next.length !== ids.length || next.some((id, i) => id !== ids[i]);
    ids = next;
    if (changed) onChange(ids.length);
  }

  return {
    get ids() {
      return ids;
    },
    get count() {
      return ids.length;
    },
    start(id) {
      generation += 1;
      userId = id;
      records = [];
      live = [];
      seen = readSeen(storage, id);
      recount();
      return this.refresh();
    },
    stop() {
      generation += 1;
      userId = null;
      records = [];
      live = [];
      seen = null;
      recount();
    },
    async refresh() {
      if (!userId) return;
      const mine = generation;
      let data;
      try {
        data = await load();
      } catch {
        return; // the count waits for the next connection; nothing is lost
      }
      if (mine !== generation) return;
      records = Array.isArray(data?.calls) ? data.calls.filter((c) => c && typeof c.id === "string") : [];
      if (!seen) {
        // Another tab may have started the memory meanwhile; otherwise this browser starts it from now.
        seen = readSeen(storage, userId);
        if (!seen) {
          seen = firstSeen({ records, live, selfId: userId });
          writeSeen(storage, userId, seen);
        }
      }
      recount();
    },
    // The browser's storage changed (the `storage` event, fired by another tab): what it marked seen is seen here too.
    storageChanged(key) {
      if (!userId || (key !== null && key !== SEEN_PREFIX + userId)) return;
      seen = readSeen(storage, userId) || seen;
      recount();
    },
    // A call to this person ended unanswered while the tab was open.
    addLive(callId) {
      if (!userId || typeof callId !== "string" || live.includes(callId)) return;
      live = [callId, ...live].slice(0, MAX_SEEN_IDS);
      recount();
    },
    // The person opened the Mentor calls page: what was missed is now seen.
    markSeen() {
      if (!userId) return;
      seen = seenNow({ records, live, seen, selfId: userId });
      writeSeen(storage, userId, seen);
      recount();
    },
  };
}
