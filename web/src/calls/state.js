// A one-on-one call as this device sees it, as a pure reducer: step(state, event) -> {state, effects}.
//
// Events come from the server (call:* and acknowledgements), from the person (dial, accept, hang up), from this
// device's own connection (lost, back) and from the peer connection (link). Nothing here touches a socket, a
// camera or a timer: the effects name what should happen and line.js carries them out. An event that does not fit
// the state (another call's id, a late acknowledgement) changes nothing.

export const Phase = Object.freeze({
  IDLE: "idle",
  CALLING: "calling", // we dialled and it rings on their side (callId is null until the invite is acknowledged)
  RINGING: "ringing", // someone is calling us
  ANSWERED: "answered", // in the call; the media may still be connecting
  ENDED: "ended", // over; the reason stays on screen until dismissed
});

export const IDLE = Object.freeze({
  phase: Phase.IDLE,
  callId: null,
  role: null, // "caller" | "callee"
  other: null, // {user_id, display_name}
  remotePeer: null, // the other side's current peer id, once answered
  media: null, // {iceServers, iceTransportPolicy}: the server's media settings, as mediaOf keeps them
  ringSeconds: null,
  answering: false, // our call:accept is on its way
  away: null, // null | "self" (our connection dropped) | "other" (theirs did)
  link: null, // null | "connecting" | "connected" | "trouble" | "lost"
  reason: null, // why it ended: a call:ended reason, or "not_placed" / "not_answered" when refused
  bySelf: false, // this device ended it (hung up, declined, cancelled)
  message: null, // the server's sentence when a request was refused
  note: null, // "answered_elsewhere" when another device of ours took the call
  // Our last invite went unanswered by the server (timed out): it may still have reached it and be ringing on the
  // other side. Kept across the calls that follow until line.js says enough time has passed ("stray_over").
  strayInvite: false,
});

// How long after its ring time a call that still rings here is taken as missed, should its call:ended be lost.
export const RING_MARGIN_SECONDS = 5;
// The ring time when the server did not say (HAVEN_CALL_RING_SECONDS' default).
export const DEFAULT_RING_SECONDS = 45;

const MEDIA_WAYS = new Set(["all", "relay"]);

// The media settings of an acknowledgement, kept to what RTCPeerConnection takes.
export function mediaOf(ack) {
  const media = ack && typeof ack.media === "object" && ack.media ? ack.media : {};
  return {
    iceServers: Array.isArray(media.ice_servers) ? media.ice_servers : [],
    iceTransportPolicy: MEDIA_WAYS.has(media.ice_transport_policy) ? media.ice_transport_policy : "all",
  };
}

function person(value) {
  if (!value || typeof value !== "object" || typeof value.user_id !== "string") return null;
  return { user_id: value.user_id, display_name: typeof value.display_name === "string" ? value.display_name : "" };
}

function emit(event, payload, ack = null) {
  return { type: "emit", event, payload, ack };
}

function ended(state, reason, extra = {}) {
  return { ...state, phase: Phase.ENDED, answering: false, away: null, link: null, reason, ...extra };
}

// Whatever ends the call: the peer connection closes, the camera and microphone stop, nothing is kept to resume.
const END_MEDIA = [{ type: "close_peer" }, { type: "stop_media" }, { type: "forget" }];

function result(state, effects = []) {
  return { state, effects };
}

// A fresh state that still remembers an invite that may be ringing unseen.
function fresh(state, fields) {
  if (!state.strayInvite && !Object.keys(fields).length) return IDLE;
  return { ...IDLE, strayInvite: state.strayInvite, ...fields };
}

// Whether the server's refusal says the request may still have reached it (no answer in time), rather than that it
// was never sent or was refused.
const mayHaveLanded = (ack) => ack?.ok !== true && ack?.error?.code === "timeout";

// Whether an event from the server is about the call this device takes part in.
function ours(state, data) {
  return Boolean(state.callId && data && typeof data === "object" && data.call_id === state.callId);
}

export function step(state, event) {
  const same = result(state);
  const data = event.data;
  switch (event.type) {
    // -- the person ------------------------------------------------------------------------------------
    case "dial": {
      const other = person(event.contact);
      if (!other || (state.phase !== Phase.IDLE && state.phase !== Phase.ENDED)) return same;
      return result(fresh(state, { phase: Phase.CALLING, role: "caller", other }),
        [{ type: "open_media" }, emit("call:invite", { user_id: other.user_id }, "invite_ack")]);
    }
    case "accept":
      if (state.phase !== Phase.RINGING || state.answering) return same;
      return result({ ...state, answering: true },
        [{ type: "open_media" }, emit("call:accept", { call_id: state.callId }, "accept_ack")]);
    case "decline":
      if (state.phase !== Phase.RINGING || state.answering) return same;
      return result(ended(state, "declined", { bySelf: true }),
        [emit("call:decline", { call_id: state.callId }), ...END_MEDIA]);
    case "cancel":
      if (state.phase !== Phase.CALLING) return same;
      // Without a call id the invite is still on its way; its acknowledgement is answered with a cancel.
      return result(ended(state, "cancelled", { bySelf: true }),
        [...(state.callId ? [emit("call:cancel", { call_id: state.callId })] : []), ...END_MEDIA]);
    case "hangup":
      if (state.phase === Phase.CALLING) return step(state, { type: "cancel" });
      if (state.phase === Phase.RINGING) return step(state, { type: "decline" });
      if (state.phase !== Phase.ANSWERED) return same;
      return result(ended(state, "hangup", { bySelf: true }),
        [emit("call:hangup", { call_id: state.callId }), ...END_MEDIA]);
    case "dismiss":
      if (state.phase !== Phase.ENDED && !state.note) return same;
      return result(fresh(state, {}));

    // -- acknowledgements ------------------------------------------------------------------------------
    case "invite_ack": {
      const ack = event.ack || {};
      if (state.phase !== Phase.CALLING || state.callId) {
        // Cancelled before the invite was acknowledged: the call rings on their side, so stop it.
        const late = ack.ok && ack.state === "ringing" && typeof ack.call_id === "string";
        if (mayHaveLanded(ack)) return result({ ...state, strayInvite: true });
        return result(state, late ? [emit("call:cancel", { call_id: ack.call_id })] : []);
      }
      if (!ack.ok) {
        return result(ended(state, "not_placed", { message: ack.error?.message || null,
          strayInvite: state.strayInvite || mayHaveLanded(ack) }), END_MEDIA);
      }
      const next = { ...state, callId: ack.call_id, media: mediaOf(ack) };
      if (ack.state === "ended") return result(ended(next, ack.reason || "busy"), END_MEDIA);
      return result(next);
    }
    case "accept_ack": {
      const ack = event.ack || {};
      if (state.phase !== Phase.RINGING || !state.answering) return same;
      if (!ack.ok) {
        // Without an answer in time the accept may still have reached the server and answered the call, which would
        // then stay open with nobody on this side: end it (while it still rings, this declines it).
        const close = mayHaveLanded(ack) ? [emit("call:hangup", { call_id: state.callId })] : [];
        return result(ended(state, "not_answered", { message: ack.error?.message || null }), [...close, ...END_MEDIA]);
      }
      return result({ ...state, phase: Phase.ANSWERED, answering: false, remotePeer: ack.peer_id,
        media: mediaOf(ack), link: "connecting" }, [{ type: "peer", offer: false }, { type: "remember" }]);
    }
    case "resume_ack": {
      const ack = event.ack || {};
      if (state.phase !== Phase.ANSWERED || state.away !== "self") return same;
      const code = ack.error?.code;
      if (!ack.ok && (code === "offline" || code === "timeout")) return same; // the next connect asks again
      if (!ack.ok) return result(ended(state, "connection_lost"), END_MEDIA);
      const role = ack.role === "callee" ? "callee" : "caller";
      return result({ ...state, role, away: null, remotePeer: ack.peer_id, media: mediaOf(ack), link: "connecting" },
        [{ type: "open_media" }, { type: "peer", offer: role === "caller" }]);
    }

    // -- the server ------------------------------------------------------------------------------------
    case "incoming": {
      const from = person(data?.from);
      if (!from || typeof data.call_id !== "string") return same;
      if (state.phase === Phase.RINGING && state.callId === data.call_id) return same; // sent again on reconnect
      if (state.phase !== Phase.IDLE && state.phase !== Phase.ENDED) return same; // this device is busy
      return result(fresh(state, { phase: Phase.RINGING, callId: data.call_id, role: "callee", other: from,
        ringSeconds: Number.isFinite(data.ring_seconds) ? data.ring_seconds : null }));
    }
    case "ring_over":
      // The ring time has passed (and a margin) and call:ended never came: stop ringing here; it was missed.
      if (state.phase !== Phase.RINGING || state.answering || event.callId !== state.callId) return same;
      return result(ended(state, "missed"), END_MEDIA);
    case "stray_over":
      return state.strayInvite ? result({ ...state, strayInvite: false }) : same;
    case "accepted":
      if (!ours(state, data)) {
        // Answered, a call this device does not know, placed by this person (the callee's peer id is both the one
        // to talk to and the one that answered; for a call to this person they differ): our invite that timed out
        // reached the server after all (while it rings our line is busy, so no other device of ours can have placed
        // one). Nobody is here for it: end it.
        const idle = state.phase === Phase.IDLE || state.phase === Phase.ENDED
          || (state.phase === Phase.CALLING && !state.callId);
        const placedByUs = typeof data?.peer_id === "string" && data.peer_id === data.answered_by;
        if (!state.strayInvite || !idle || !placedByUs || typeof data.call_id !== "string") return same;
        return result({ ...state, strayInvite: false }, [emit("call:hangup", { call_id: data.call_id })]);
      }
      if (state.role === "caller" && state.phase === Phase.CALLING) {
        return result({ ...state, phase: Phase.ANSWERED, remotePeer: data.peer_id, link: "connecting" },
          [{ type: "peer", offer: true }, { type: "remember" }]);
      }
      if (state.role === "callee" && state.phase === Phase.RINGING && data.answered_by !== event.selfPeer) {
        return result(fresh(state, { note: "answered_elsewhere", other: state.other }), [{ type: "stop_media" }]);
      }
      return same; // our own answer: its acknowledgement moves us on
    case "ended":
      if (!ours(state, data) || state.phase === Phase.ENDED || state.phase === Phase.IDLE) return same;
      return result(ended(state, typeof data.reason === "string" ? data.reason : "hangup"),
        END_MEDIA);
    case "reconnecting":
      if (!ours(state, data) || state.phase !== Phase.ANSWERED || data.user_id !== state.other?.user_id) return same;
      return result({ ...state, away: state.away === "self" ? "self" : "other" });
    case "resumed":
      if (!ours(state, data) || state.phase !== Phase.ANSWERED || data.user_id !== state.other?.user_id) return same;
      // They are back on a new connection: both drop the old peer connection, and the caller offers again.
      return result({ ...state, away: state.away === "self" ? "self" : null, remotePeer: data.peer_id,
        link: "connecting" }, [{ type: "peer", offer: state.role === "caller" }]);

    // -- this device's connection ----------------------------------------------------------------------
    case "connection_lost": {
      // A caller's closed connection ends a call of theirs that rings: an invite that may have landed is over too.
      const lost = state.strayInvite ? { ...state, strayInvite: false } : state;
      if (lost.phase === Phase.ANSWERED) return result({ ...lost, away: "self" });
      if (lost.phase === Phase.CALLING) return result(ended(lost, "connection_lost"), END_MEDIA);
      // Still ringing? It rings again on the new connection.
      if (lost.phase === Phase.RINGING) return result(IDLE, [{ type: "stop_media" }]);
      return result(lost);
    }
    case "connection_back":
      if (state.phase !== Phase.ANSWERED || state.away !== "self") return same;
      return result(state, [emit("call:resume", { call_id: state.callId }, "resume_ack")]);
    case "away_too_long":
      if (state.phase !== Phase.ANSWERED || state.away !== "self") return same;
      return result(ended(state, "connection_lost"), END_MEDIA);
    case "restore": {
      // After a reload in the middle of a call: ask to resume it as soon as we are connected.
      const other = person(event.call?.other);
      if (state.phase !== Phase.IDLE || !other || typeof event.call?.call_id !== "string") return same;
      return result({ ...IDLE, phase: Phase.ANSWERED, callId: event.call.call_id,
        role: event.call.role === "callee" ? "callee" : "caller", other, away: "self", link: "connecting" });
    }

    // -- fresh ICE servers (rtc:ice_servers) -----------------------------------------------------------
    case "ice_servers": {
      // event.media is {iceServers, iceTransportPolicy}. Only a call that has its media settings has a connection
      // to update; a later call gets its own in its acknowledgement.
      const fresh = event.media;
      if (!state.media || state.phase === Phase.ENDED || !Array.isArray(fresh?.iceServers)) return same;
      const media = { iceServers: fresh.iceServers,
        iceTransportPolicy: MEDIA_WAYS.has(fresh.iceTransportPolicy) ? fresh.iceTransportPolicy : "all" };
      return result({ ...state, media }, [{ type: "ice_servers", iceServers: media.iceServers }]);
    }

    // -- the peer connection ---------------------------------------------------------------------------
    case "link":
      if (state.phase !== Phase.ANSWERED || state.link === event.link) return same;
      return result({ ...state, link: event.link });
    default:
      return same;
  }
}

// Whether the call takes the screen: while calling and in the call (not while it only rings here).
export function isUp(state) {
  return state.phase === Phase.CALLING || state.phase === Phase.ANSWERED;
}
