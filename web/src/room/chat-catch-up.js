// Catching up one conversation from its history (docs/protocol.md 7.5, chat:history). Live chat:message fan-out is
// at most once, so the stored history is the record:
// - when the chat first opens, the latest page;
// - on a gap (a live message, or our own acknowledged one, more than one past `contiguous`, the highest seq held
//   with nothing missing before it: see chat-log.js), everything after `contiguous`, page after page while the
//   pages come back full, after a short wait in case the missing ones were only overtaken;
// - on entering the room again (after a reconnect or a stay in the lobby), everything after `contiguous`, then the
//   latest page again (deletions may have been missed too).
// One fetch at a time per conversation: a gap or an entry while one is on its way is fetched right after it.
import { isMessage } from "./chat-log.js";

export const LATEST_PAGE = 50;
export const CATCH_UP_PAGE = 200; // the protocol's largest `limit`
const MAX_CATCH_UP_PAGES = 100; // 20,000 messages: a bound, never reached in practice
export const GAP_WAIT_MS = 500; // live events from several nodes may arrive slightly out of order
export const RETRY_MS = 3000;
export const LOAD_PROBLEM = "Messages could not be loaded just now. Trying again…";

const lastSeq = (messages, from) => Math.max(from, ...messages.filter(isMessage).map((m) => m.seq));

/**
 * @param {object} options
 * @param {import("./chat-log.js").ChatLog} options.log the conversation's messages
 * @param {(event: string, payload: object) => Promise<object>} options.request resolves to the ack, never rejects
 * @param {() => string} options.conversation its name now (the join ack may rename it)
 * @param {() => boolean} [options.isActive] whether the chat is open: gaps are fetched, failures retried, only then
 * @param {(messages: object[], page: "first"|"latest"|"missing") => void} [options.show] puts a page's messages in
 *   the log (log.put) and on screen
 * @param {(problem: string|null) => void} [options.onProblem] a sentence while loading fails, null once it works
 * @param {() => void} [options.onSynced] after each round of fetches
 */
export function createCatchUp({ log, request, conversation, isActive = () => true,
  show = (messages) => messages.forEach((m) => log.put(m)), onProblem = () => {}, onSynced = () => {} }) {
  let loaded = false; // the latest page has come once
  let stale = false; // entered again: the latest page is asked again
  let wantAll = false; // a fetch after `contiguous` is due whatever the log holds (more may have come)
  let wantGap = false; // a fetch after `contiguous` is due while the log has a gap
  let running = null;
  let gapTimer = null;
  let retryTimer = null;
  let stopped = false;

  const history = (payload) => request("chat:history", { conversation: conversation(), ...payload });

  async function loadLatest() {
    const first = !loaded;
    const ack = await history({ limit: LATEST_PAGE });
    if (stopped) return true;
    if (!ack.ok || !Array.isArray(ack.messages)) return false;
    loaded = true;
    show(ack.messages, first ? "first" : "latest");
    if (first) {
      log.caughtUpTo(lastSeq(ack.messages, 0));
      checkGap(); // live messages that came before the page may have left a gap
    }
    return true;
  }

  async function fetchMissing() {
    for (let page = 0; page < MAX_CATCH_UP_PAGES; page += 1) {
      const from = log.contiguous;
      const heldWhenAsked = log.highest;
      const ack = await history({ after_seq: from, limit: CATCH_UP_PAGE });
      if (stopped) return true;
      if (!ack.ok || !Array.isArray(ack.messages)) return false;
      show(ack.messages, "missing");
      // A page holds everything this reader may read after `from`, up to its last seq (a participant's seqs skip
      // the sessions they did not attend). A page short of the limit is everything there was when asked: what was
      // held then is covered too, so a seq this reader may not read is never fetched again and again.
      if (ack.messages.length < CATCH_UP_PAGE) {
        log.caughtUpTo(Math.max(lastSeq(ack.messages, from), heldWhenAsked));
        return true;
      }
      log.caughtUpTo(lastSeq(ack.messages, from));
      if (log.contiguous <= from) return true; // defensive: no progress
    }
    return true;
  }

  async function round() {
    if (!loaded) return loadLatest();
    if (!stale) return fetchMissing();
    // Entered again: first what came after the highest seq held, then the latest page for missed deletions.
    stale = false;
    if (!(await fetchMissing()) || !(await loadLatest())) {
      stale = true;
      return false;
    }
    return true;
  }

  const due = () => !stopped && (wantAll || (wantGap && log.hasGap()));

  async function run() {
    let ok = true;
    while (ok && due()) {
      wantAll = false;
      wantGap = false;
      ok = await round();
    }
    if (stopped) return;
    onProblem(ok ? null : LOAD_PROBLEM);
    if (!ok && isActive() && !retryTimer) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        if (isActive()) sync("all");
      }, RETRY_MS);
    }
    onSynced();
  }

  function start() {
    running ??= run().finally(() => {
      running = null;
      if (due()) start(); // asked for between the last round and here
    });
    return running;
  }

  function sync(why) {
    if (why === "gap") wantGap = true;
    else wantAll = true;
    return start();
  }

  // After a message was placed (a live one, or our own once acknowledged): what is missing before it is fetched.
  function checkGap() {
    if (stopped || !loaded || gapTimer || !log.hasGap()) return;
    gapTimer = setTimeout(() => {
      gapTimer = null;
      if (isActive() && log.hasGap()) sync("gap");
    }, GAP_WAIT_MS);
  }

  return {
    get loaded() {
      return loaded;
    },

    // The chat opens (the join ack or room:admitted), also again after a reconnect; resolves once caught up.
    entered() {
      if (loaded) stale = true;
      return sync("all");
    },

    checkGap,

    stop() {
      stopped = true;
      clearTimeout(gapTimer);
      clearTimeout(retryTimer);
    },
  };
}
