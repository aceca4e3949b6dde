// What the server says on a live connection about the person's access (docs/protocol.md 7.7): a token about to
// expire is renewed and handed to the connection, a session the server ended ends here too, and fresh ICE servers
// reach the peer connections. Every open socket of the app (the group room's, the call line's) is attached with
// attachLiveSession; the app (main.js) says what an ended session and a notice look like with setSessionHandlers.
//
// The decisions are plain functions, tested without a browser (test/live-session.test.js).
import { refreshToken } from "./api.js";
import { getToken, getTokenExpiry, setToken } from "./session.js";
import { requestOn } from "./socket-request.js";

// A renewal that failed for a reason that may pass (no network, the server busy) is tried again this often, while
// the old token still has time left.
export const RETRY_DELAY_MS = 5000;
export const MAX_RETRIES = 2;
// A stored token counts as already renewed only when it outlives the expiry announced by this much: sign-in's
// "expires_at" has microseconds while the token's own expiry (the one announced) is cut to the second, and a renewed
// token outlives the old one by far more (half a token's life at the least).
export const RENEWED_MARGIN_MS = 5000;

export const WILL_END_NOTICE =
  "We could not renew your sign-in, so this session will end in a minute or so. You can sign in again then.";

// How each session:ended code ends things here: back to sign-in with a plain sentence, or connect again.
const ENDINGS = {
  token_expired: { action: "sign_in", message: "Your session has ended. Please sign in again." },
  signed_out: { action: "sign_in", message: "Your password was changed, so you were signed out. Please sign in again." },
  account_disabled: {
    action: "sign_in",
    message: "This account is no longer active. If you think this is a mistake, please contact your program.",
  },
  role_changed: { action: "reconnect", message: null },
};

// {action: "sign_in"|"reconnect", code, message} for a session:ended payload. A code this client does not know
// ends the session too (the server has closed the connection), with the server's own sentence.
export function endingOf(data) {
  const code = data && typeof data.code === "string" ? data.code : "unknown";
  const known = Object.prototype.hasOwnProperty.call(ENDINGS, code) ? ENDINGS[code] : null;
  if (known) return { code, ...known };
  const said = data && typeof data.message === "string" && data.message.trim() ? data.message : null;
  return { code, action: "sign_in", message: said || ENDINGS.token_expired.message };
}

// Milliseconds since the epoch for an "expires_at": an ISO 8601 time, or seconds since the epoch; null otherwise.
export function expiryOf(value) {
  if (typeof value === "number" && Number.isFinite(value)) return value * 1000;
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

// {iceServers, iceTransportPolicy} from an rtc:ice_servers payload, or null when it carries no server list.
export function iceUpdateOf(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.ice_servers)) return null;
  const policy = data.ice_transport_policy === "relay" ? "relay" : "all";
  return { iceServers: data.ice_servers, iceTransportPolicy: policy };
}

// Whether a renewal that failed this way is worth another try: the network or the server, not the token.
const passing = (err) => !Number.isInteger(err?.status) || err.status === 0 || err.status >= 500;

/**
 * The token's renewal, shared by every connection: two connections told at once that it expires get one new
 * token between them. renew(expiresAt) resolves to a token that outlives expiresAt (milliseconds), or rejects.
 * @param {object} deps
 * @param {() => Promise<{token: string, expires_at: string}>} deps.refresh POST /api/auth/refresh
 * @param {() => {token: string|null, expiresAt: number|null}} deps.stored the token kept now
 * @param {(token: string, expiresAt: string) => void} deps.store keeps a new token
 * @param {() => number} [deps.now]
 * @param {(ms: number) => Promise<void>} [deps.wait]
 */
export function createRenewal({ refresh, stored, store, now = Date.now, wait = sleep }) {
  let inFlight = null;

  async function attempt(expiresAt) {
    for (let tries = 0; ; tries += 1) {
      try {
        const data = await refresh();
        if (!data || typeof data.token !== "string" || !data.token) throw new Error("no token in the answer");
        store(data.token, data.expires_at);
        return data.token;
      } catch (err) {
        const timeLeft = expiresAt === null || now() + RETRY_DELAY_MS < expiresAt;
        if (tries >= MAX_RETRIES || !passing(err) || !timeLeft) throw err;
        await wait(RETRY_DELAY_MS);
      }
    }
  }

  return function renew(expiresAt) {
    const kept = stored();
    if (kept.token && kept.expiresAt !== null && expiresAt !== null && kept.expiresAt > expiresAt + RENEWED_MARGIN_MS) {
      return Promise.resolve(kept.token); // another connection renewed it already
    }
    inFlight ??= attempt(expiresAt).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * What every connection does with the session events; the app's answers come from handlers().
 * @param {object} deps
 * @param {(expiresAt: number|null) => Promise<string>} deps.renew from createRenewal
 * @param {() => {onEnded: Function, onNotice: Function}} deps.handlers
 */
export function createLiveSession({ renew, handlers }) {
  async function expiring(socket, data) {
    try {
      const token = await renew(expiryOf(data?.expires_at));
      // A connection that dropped meanwhile connects again with the stored (new) token by itself.
      if (!socket.connected) return;
      const ack = await requestOn(socket, "session:refresh", { token }); // a `busy` refusal is sent again
      if (ack.ok !== true) throw new Error(ack.error?.code || "no answer");
      handlers().onNotice(null);
    } catch {
      handlers().onNotice(WILL_END_NOTICE);
    }
  }

  // onIceServers({iceServers, iceTransportPolicy}): fresh TURN credentials for this connection's media.
  return function attach(socket, { onIceServers = () => {} } = {}) {
    socket.on("session:expiring", (data) => expiring(socket, data));
    socket.on("session:ended", (data) => handlers().onEnded(endingOf(data)));
    socket.on("rtc:ice_servers", (data) => {
      const update = iceUpdateOf(data);
      if (update) onIceServers(update);
    });
  };
}

let appHandlers = { onEnded: () => {}, onNotice: () => {} };

// main.js: onEnded(ending) carries out an endingOf(); onNotice(text|null) shows or clears a quiet notice.
export function setSessionHandlers({ onEnded, onNotice }) {
  appHandlers = { onEnded, onNotice };
}

const renewal = createRenewal({
  refresh: refreshToken,
  stored: () => ({ token: getToken(), expiresAt: getTokenExpiry() }),
  store: setToken,
});

export const attachLiveSession = createLiveSession({ renew: renewal, handlers: () => appHandlers });
