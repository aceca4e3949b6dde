// The messages of one conversation as this client holds them: in `seq` order, one per id and one per seq, whether
// they came from history, a live chat:message or our own chat:send. A deleted message keeps its place as a tombstone
// and counts as held. `contiguous` is the highest seq up to which nothing is missing (from the first message loaded
// on); `highest` is the highest seq held. Live fan-out is at most once, so `highest > contiguous` is a gap that
// chat-catch-up.js fills from the history. No DOM here: the chat panel (chat.js) hangs its list items on the records.

// Whether a value from the server is a message this log can place.
export function isMessage(m) {
  return Boolean(m && typeof m === "object" && typeof m.id === "string" && Number.isInteger(m.seq) && m.seq > 0);
}

// Index at which a seq goes in an array sorted by seq.
export function insertionIndex(records, seq) {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ChatLog {
  constructor() {
    this.records = []; // by seq
    this.contiguous = 0;
    this.highest = 0;
    this.byId = new Map();
    this.bySeq = new Map();
  }

  get(id) {
    return this.byId.get(id) || null;
  }

  // The seqs held, in order (for tests and debugging).
  seqs() {
    return this.records.map((rec) => rec.seq);
  }

  // A record with an id and a seq (our own message once acknowledged, or one made by put); false if either is held.
  add(rec) {
    if (this.byId.has(rec.id) || this.bySeq.has(rec.seq)) return false;
    this.records.splice(insertionIndex(this.records, rec.seq), 0, rec);
    this.byId.set(rec.id, rec);
    this.bySeq.set(rec.seq, rec);
    if (rec.seq > this.highest) this.highest = rec.seq;
    this.advance();
    return true;
  }

  /**
   * A message from history or a live event. Returns {rec, change}: change is "added" for a message new here,
   * "deleted" when it tells of the deletion of one held, null when it changes nothing (held already, or not a message).
   */
  put(m) {
    if (!isMessage(m)) return { rec: null, change: null };
    const deleted = m.deleted === true || m.body === null || m.body === undefined;
    const held = this.byId.get(m.id);
    if (held) {
      if (!deleted || held.deleted) return { rec: held, change: null };
      this.markDeleted(held);
      return { rec: held, change: "deleted" };
    }
    const rec = { id: m.id, seq: m.seq, sender_id: m.sender_id, display_name: m.display_name,
      body: deleted ? null : String(m.body), sent_at: m.sent_at, deleted };
    return this.add(rec) ? { rec, change: "added" } : { rec: null, change: null };
  }

  markDeleted(rec) {
    rec.deleted = true;
    rec.body = null;
  }

  // Moves `contiguous` over the seqs held right after it.
  advance() {
    while (this.bySeq.has(this.contiguous + 1)) this.contiguous += 1;
  }

  // Nothing is missing up to `seq` (the history said so): `contiguous` goes at least that far.
  caughtUpTo(seq) {
    if (seq > this.contiguous) this.contiguous = seq;
    this.advance();
  }

  // Whether a seq past `contiguous` is held, so something before it is missing.
  hasGap() {
    return this.highest > this.contiguous;
  }
}
