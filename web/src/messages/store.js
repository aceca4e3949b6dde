// Unread messages, kept live across the whole client while someone is signed in: started on sign-in (main.js), it
// reads GET /api/conversations and follows the call line's chat events (calls/line.js: line.on). The total of direct
// conversations goes on the Messages link and in the tab's title (attention.js); views read the per-conversation
// counts (the conversations page, the home page).
//
// The call line is closed while this tab is in a group room, so direct messages are not heard then; its "connect"
// on leaving the room (and after any reconnect) reads the list again. Events heard while the list is on its way are
// applied again on top of it (unread.js never counts a message twice).
import { getConversations } from "../api.js";
import { setAttention } from "../attention.js";
import { EMPTY, directUnread, kindOf, nameOf, reduce, unreadOf } from "./unread.js";

export const RETRY_MS = 10000;

/**
 * @param {object} deps
 * @param {{on: Function, connected: boolean}} deps.line the call line (its relayed chat events)
 * @param {(signal: AbortSignal) => Promise<{conversations: object[]}>} [deps.load] GET /api/conversations
 * @param {(source: string, n: number) => void} [deps.attention]
 * @param {() => number} [deps.now]
 */
export function createMessagesStore({ line, load = getConversations, attention = setAttention, now = Date.now }) {
  let state = EMPTY;
  let me = null;
  let offs = [];
  let abort = null;
  let loading = null;
  let again = false;
  let held = null; // events heard while the list is on its way
  let error = null;
  let retryTimer = null;
  let reading = null; // the conversation on screen in a visible tab (its thread marks what comes as read)
  const listeners = new Set();
  const arrivals = new Set();

  function changed() {
    attention("messages", directUnread(state));
    for (const fn of [...listeners]) fn();
  }

  function apply(event) {
    held?.push(event);
    const { state: next, refresh: stale } = reduce(state, event);
    const changedNow = next !== state;
    state = next;
    if (changedNow) changed();
    if (stale) refresh();
    return changedNow;
  }

  async function loadOnce(signal) {
    held = [];
    try {
      const data = await load(signal);
      if (signal.aborted) return;
      let next = reduce(state, { type: "loaded", conversations: data?.conversations }).state;
      for (const event of held) next = reduce(next, event).state;
      state = next;
      error = null;
    } catch (err) {
      if (err?.name === "AbortError" || signal.aborted) return;
      error = err?.message || "Your conversations could not be loaded.";
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => me && refresh(), RETRY_MS);
    } finally {
      held = null;
    }
    changed();
  }

  // Reads the list again (once more after the one on its way, when asked meanwhile).
  function refresh() {
    if (!me || !abort) return Promise.resolve();
    if (loading) {
      again = true;
      return loading;
    }
    const signal = abort.signal;
    loading = (async () => {
      do {
        again = false;
        await loadOnce(signal);
      } while (again && !signal.aborted);
    })().finally(() => {
      loading = null;
    });
    return loading;
  }

  function onMessage(message) {
    if (!me || !message || typeof message !== "object") return;
    const name = nameOf(message.conversation);
    const before = unreadOf(state.entries[name]);
    apply({ type: "message", message, selfId: me.id, reading: name === reading, now: now() });
    if (unreadOf(state.entries[name]) > before) for (const fn of [...arrivals]) fn(message);
  }

  function start(user) {
    if (!user || me?.id === user.id) return;
    stop();
    me = user;
    abort = new AbortController();
    offs = [
      line.on("chat:message", onMessage),
      line.on("chat:read", (d) => apply({ type: "read", conversation: d?.conversation, seq: d?.seq })),
      line.on("chat:deleted", (d) => apply({ type: "deleted", conversation: d?.conversation, seq: d?.seq })),
      line.on("connect", () => refresh()),
    ];
    refresh();
  }

  function stop() {
    for (const off of offs) off();
    offs = [];
    abort?.abort();
    abort = null;
    clearTimeout(retryTimer);
    me = null;
    error = null;
    reading = null;
    state = EMPTY;
    changed();
  }

  return {
    start,
    stop,
    refresh,
    get loaded() {
      return state.loaded;
    },
    get error() {
      return error;
    },
    // The unread state's entries (unread.js), by conversation name.
    get entries() {
      return state.entries;
    },
    get directUnread() {
      return directUnread(state);
    },
    unreadOf: (conversation) => unreadOf(state.entries[nameOf(conversation)]),
    // A group's room chat: unread messages there (the home page shows them to facilitators).
    roomUnread: (groupId) => unreadOf(state.entries[`room:${nameOf(groupId)}`]),
    // The thread on screen (null when none, or the tab is hidden): what comes there is read as it comes.
    setReading(conversation) {
      reading = conversation ? nameOf(conversation) : null;
    },
    // The thread's read mark, acknowledged by the server.
    markRead: (conversation, seq) => apply({ type: "read", conversation, seq }),
    // The server refused this conversation (its pairing or shared group ended): it no longer counts as unread, and
    // the list is read again (which no longer names it).
    markClosed: (conversation) => apply({ type: "closed", conversation }),
    // A message this device sent (the server does not send it back to the sending connection).
    noteSent(message) {
      if (me && kindOf(nameOf(message?.conversation))) {
        apply({ type: "message", message: { ...message, sender_id: me.id }, selfId: me.id, now: now() });
      }
    },
    // fn() on every change; returns the function that stops it.
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    // fn(message) for each message from someone else that adds to an unread count.
    onArrival(fn) {
      arrivals.add(fn);
      return () => arrivals.delete(fn);
    },
  };
}
