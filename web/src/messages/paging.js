// A direct conversation's thread as pages of history (no DOM here): the latest page first, then older pages as the
// person scrolls up (chat:history with before_seq), without losing their place. thread.js keeps the messages in a
// ChatLog (room/chat-log.js, shared with the room's chat) and asks these questions of it.
import { isMessage } from "../room/chat-log.js";

export const PAGE = 50; // the protocol's default `limit`
export const NEAR_TOP_PX = 120; // an older page is asked this close to the top
export const NEAR_BOTTOM_PX = 64; // a new message keeps the view at the bottom when it was this close
export const TYPING_SEND_EVERY_MS = 2000; // the server relays chat:typing at most every 2 s anyway
export const TYPING_SHOW_MS = 5000;

/**
 * Whether older messages may remain after a page of history: a full page whose lowest seq is above 1.
 * @param {object[]} messages the page, as chat:history returned it
 * @param {number} [limit]
 */
export function hasOlder(messages, limit = PAGE) {
  const seqs = (Array.isArray(messages) ? messages : []).filter(isMessage).map((m) => m.seq);
  return seqs.length >= limit && Math.min(...seqs) > 1;
}

// The payload asking for the page before the oldest seq held; null when nothing is held.
export function olderRequest(conversation, oldestSeq, limit = PAGE) {
  return Number.isInteger(oldestSeq) && oldestSeq > 1 ? { conversation, before_seq: oldestSeq, limit } : null;
}

/**
 * Where the scroller goes after messages were put above what the person was reading: by as much as the content
 * grew, so the message they were looking at stays where it was.
 */
export function keptScrollTop({ topBefore, heightBefore, heightAfter }) {
  return Math.max(0, topBefore + (heightAfter - heightBefore));
}

export function nearTop(scrollTop, threshold = NEAR_TOP_PX) {
  return scrollTop <= threshold;
}

export function nearBottom({ scrollTop, scrollHeight, clientHeight }, threshold = NEAR_BOTTOM_PX) {
  return scrollHeight - scrollTop - clientHeight < threshold;
}

// Whether a chat:typing may be sent now: at most one every TYPING_SEND_EVERY_MS.
export function typingDue(lastSentAt, now, every = TYPING_SEND_EVERY_MS) {
  return now - lastSentAt >= every;
}

// The read mark to send, or null: the highest seq held, when it is past the last one sent and the person can see it.
export function readMarkDue({ highest, readSeq, visible }) {
  return visible && Number.isInteger(highest) && highest > readSeq ? highest : null;
}
