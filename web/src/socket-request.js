// Requests on a Socket.IO connection (docs/protocol.md 7.2), the one way the app's connections send an event.
// Every client event is acknowledged; whatever goes wrong on the way (no connection, no answer in time, an answer that
// is not an object) comes back as a refusal of the same shape, {ok: false, error: {code, message}}, so callers branch
// on `ok` and `error.code` alone. A `busy` refusal is sent again here (busy-retry.js), for every event alike, before
// the caller sees an answer: while it waits, the caller's request is simply still on its way (a chat message still
// shows "Sending…").
import { retryWhileBusy } from "./busy-retry.js";

export const ACK_TIMEOUT_MS = 10000;

const refusal = (code, message) => ({ ok: false, error: { code, message } });

// One send of `event`, resolving to its ack or to a refusal made here; never rejects.
export function emitOnce(socket, event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!socket?.connected) {
      resolve(refusal("offline", "Haven is reconnecting. Please try again in a moment."));
      return;
    }
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) resolve(refusal("timeout", "Haven did not answer in time. Please try again."));
      else if (ack && typeof ack === "object") resolve(ack);
      else resolve(refusal("bad_ack", "Haven sent an unexpected answer."));
    });
  });
}

// A request on `socket`, its busy refusals sent again on the same socket; resolves to the answer, never rejects.
// `retry`: retryWhileBusy's options (onBusy; now, random and wait for tests).
export function requestOn(socket, event, payload, retry = {}) {
  return retryWhileBusy(() => emitOnce(socket, event, payload), retry);
}

/**
 * request(event, payload) -> Promise<ack> on the socket getSocket() returns when it is called (null when there is
 * none: the answer is then `offline`). Its retries stay on that socket, so a request never outlives the connection it
 * was made on (a tab signed in again as someone else has a new one); Socket.IO keeps the object across reconnects.
 * @param {() => object|null} getSocket
 * @param {object} [retry] as for requestOn
 */
export function createRequest(getSocket, retry = {}) {
  return (event, payload) => requestOn(getSocket(), event, payload, retry);
}
