// A group room as this member sees it, as a pure reducer: step(state, event) -> {state, effects}.
//
// Events are the room's protocol events (the join acknowledgement, room:*, hand:queue, chat:message) and what the
// person does with the room's own parts (the pre-join, the side panel, the layout). Nothing here touches a socket, a
// camera, an element or a clock: the effects name what should happen (announce a sentence, play the arrival
// chime, start or stop the media, close a mesh connection) and views/room.js carries them out. The media's own way
// (mesh or forwarder, which track is whose) is room/forwarded.js's reducer.
//
// An event that does not fit the phase changes nothing, except roster events that come before our own entry
// (someone joining at the same moment as us can be announced before our join ack or room:admitted arrives): those
// are kept, boundedly, and applied on top of the entry's roster.

export const Phase = Object.freeze({
  PREJOIN: "prejoin", // choosing the camera and microphone (and, from a check-in link, checking in)
  CONNECTING: "connecting", // room:join is on its way, or will be once the connection is up
  AGREEMENT: "agreement", // the join asked for the group's agreement first
  WAITING: "waiting", // in the lobby
  JOINED: "joined",
  OVER: "over", // ended, removed, denied, refused or not open yet
});

export const KINDS = Object.freeze(["audio", "video"]);
export const KIND_WORD = Object.freeze({ audio: "microphone", video: "camera" });
export const ROLE_LABELS = Object.freeze({ facilitator: "Facilitator", participant: "Participant" });
const MAX_EARLY = 200; // roster events kept for an entry on its way; more than any room holds
const MAX_UNREAD = 999;
// A room:join with no answer in time on a live connection is sent again (a repeated join resumes the same place),
// after a wait that grows with each try; after the last, the person is offered "Try again".
export const JOIN_RETRIES = 3;
export const JOIN_RETRY_MS = 2000;
const LAYOUTS = new Set(["grid", "speaker"]);
const TABS = new Set(["chat", "people"]);

// Join refusals worth another try later (the room may open up); the rest are final.
export const RETRYABLE = new Set(["room_locked", "room_full", "unavailable", "busy", "internal_error", "timeout",
  "offline", "room_not_open"]);

export const OVER_TEXT = Object.freeze({
  denied: "A facilitator did not let you in this time.",
  removed: "A facilitator removed you from this session.",
  ended: "This session has ended. Thank you for being here.",
  superseded: "You joined this room from another window or device, so this window has left it.",
  signed_out: "Please sign in again to join the room.",
});
const SENT_TO_LOBBY = "A facilitator moved you to the waiting room. You will come back in when they let you in.";
const IN_LOBBY = "You are in the waiting room. A facilitator will let you in.";
const NO_ANSWER = "Haven did not answer in time. Please try again.";

export const INITIAL = Object.freeze({
  phase: Phase.PREJOIN,
  self: null, // {user_id, peer_id, role}; role is null while waiting
  participants: Object.freeze([]), // PARTICIPANT objects in roster order
  hands: Object.freeze([]), // user ids in raise order
  lobby: Object.freeze([]), // WAITING objects (facilitators only)
  locked: false,
  lobbyEnabled: true,
  selfUnmuteAllowed: null, // null until known
  screenShareAllowed: false,
  early: Object.freeze([]), // roster events that came before our entry
  waitingNote: null, // why we wait, when a facilitator sent us back
  agreement: null, // the agreement to accept, in the agreement phase
  over: null, // {reason, message, retry, opensAt}
  panel: Object.freeze({ open: true, tab: "chat" }), // the side panel: open or folded, and its tab
  unread: 0, // chat messages that came while the chat tab was not shown
  layout: "grid", // "grid" | "speaker"
  speaker: null, // the member the speaker view shows: the latest other member room:speakers named
  joinTries: 0, // room:join sent again after going unanswered, since the last answer
});

// The starting state: the side panel open on wide screens, folded on narrow ones; a check-in link or not.
export function initialState({ panelOpen = true } = {}) {
  return { ...INITIAL, panel: { open: Boolean(panelOpen), tab: "chat" } };
}

// -- reading the state --------------------------------------------------------------------------------

export const isFacilitator = (state) => state.self?.role === "facilitator";
export const participantOf = (state, userId) => state.participants.find((p) => p.user_id === userId) || null;
export const selfParticipant = (state) => (state.self ? participantOf(state, state.self.user_id) : null);
export const lobbyCount = (state) => (isFacilitator(state) ? state.lobby.length : 0);
export const handRaised = (state) => Boolean(state.self && state.hands.includes(state.self.user_id));
export const chatShown = (state) => state.phase === Phase.JOINED && state.panel.open && state.panel.tab === "chat";

export function nameOf(state, userId) {
  const p = participantOf(state, userId);
  if (p && typeof p.display_name === "string" && p.display_name) return p.display_name;
  const w = state.lobby.find((x) => x.user_id === userId);
  return w && typeof w.display_name === "string" && w.display_name ? w.display_name : "Someone";
}

// The place in the hand queue, 1 for the first raised; 0 when the hand is down.
export function handPlace(state, userId) {
  return state.hands.indexOf(userId) + 1;
}

// Whether a facilitator's mute of this kind stands on this member (by default: on us).
export function mutedByFacilitator(state, kind, userId = state.self?.user_id) {
  const p = userId ? participantOf(state, userId) : null;
  return Boolean(p?.muted && p.muted[kind] === true);
}

// Who has a facilitator's mute standing, and of what: [{user_id, audio, video}].
export function heldMembers(state) {
  return state.participants
    .filter((p) => p.muted && (p.muted.audio === true || p.muted.video === true))
    .map((p) => ({ user_id: p.user_id, audio: p.muted.audio === true, video: p.muted.video === true }));
}

// The member sharing their screen (the first, should two), or null.
export function screenSharer(state) {
  return state.participants.find((p) => p.screen === true) || null;
}

// A facilitator may always share; a participant where the group allows it.
export const canShareScreen = (state) => state.phase === Phase.JOINED
  && (isFacilitator(state) || state.screenShareAllowed === true);

// What the stage shows: "grid", or "speaker" with the member in the large tile. A shared screen is always pinned
// large (its sharer's video is the screen), whatever the layout chosen; then the speaker view follows who spoke
// last; with no one named yet, the first other member.
export function stageFocus(state) {
  const sharer = screenSharer(state);
  if (sharer) return { layout: "speaker", userId: sharer.user_id, screen: true };
  if (state.layout !== "speaker") return { layout: "grid", userId: null, screen: false };
  const others = state.participants.filter((p) => p.user_id !== state.self?.user_id);
  const chosen = others.find((p) => p.user_id === state.speaker) || others[0] || null;
  return { layout: "speaker", userId: chosen ? chosen.user_id : null, screen: false };
}

// The shape of a grid of n tiles that fills a box of width x height best: the column count whose tiles (kept at
// the given aspect ratio) come out largest. {cols, rows}.
export function gridShape(n, width, height, aspect = 4 / 3) {
  const count = Math.max(1, Math.floor(n) || 1);
  if (!(width > 0) || !(height > 0)) {
    const cols = Math.ceil(Math.sqrt(count));
    return { cols, rows: Math.ceil(count / cols) };
  }
  let best = { cols: 1, rows: count, size: -1 };
  for (let cols = 1; cols <= count; cols += 1) {
    const rows = Math.ceil(count / cols);
    const tileWidth = Math.min(width / cols, (height / rows) * aspect);
    if (tileWidth > best.size + 0.5) best = { cols, rows, size: tileWidth };
  }
  return { cols: best.cols, rows: best.rows };
}

export function ordinal(n) {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] || s[v] || s[0]}`;
}

// The words for a member's microphone or camera in the people list.
export function mediaText(p, kind) {
  const word = kind === "audio" ? "Mic" : "Camera";
  if (p[kind]) return `${word} on`;
  return p.muted?.[kind] ? `${word} off (facilitator)` : `${word} off`;
}

// -- the reducer -------------------------------------------------------------------------------------

const announce = (text) => ({ type: "announce", text });

function roomOf(state, room) {
  if (!room || typeof room !== "object") return state;
  const next = { ...state };
  if (Array.isArray(room.participants)) {
    next.participants = room.participants.filter((p) => p && typeof p === "object" && p.user_id);
  }
  if (Array.isArray(room.hands)) next.hands = room.hands.filter((id) => typeof id === "string");
  if (Array.isArray(room.lobby)) next.lobby = room.lobby.filter((w) => w && w.user_id);
  if (typeof room.locked === "boolean") next.locked = room.locked;
  if (typeof room.lobby_enabled === "boolean") next.lobbyEnabled = room.lobby_enabled;
  if (typeof room.screen_share_allowed === "boolean") next.screenShareAllowed = room.screen_share_allowed;
  if (typeof room.self_unmute_allowed === "boolean") next.selfUnmuteAllowed = room.self_unmute_allowed;
  return next;
}

// The visit ends. The camera and microphone stop whatever the reason: a later try goes through the pre-join again,
// so nothing is live while the page only says when the room opens. A final end also closes the connection.
function over(state, reason, { message = OVER_TEXT[reason] || "", retry = false, opensAt = null } = {}) {
  const effects = state.phase === Phase.JOINED || state.phase === Phase.WAITING ? [{ type: "out" }] : [];
  effects.push({ type: "stop_media" });
  if (!retry) effects.push({ type: "disconnect" });
  return {
    state: { ...state, phase: Phase.OVER, early: [], over: { reason, message, retry, opensAt }, unread: 0,
      joinTries: 0 },
    effects,
  };
}

// What a change of the room (one member's record, the settings, the whole room:state) means for one's own share:
// it ends when our record stops saying `screen`, or when the group no longer lets participants share. keepOff: a
// facilitator turned our video off (the camera stays off, the server has it off already).
function ownChecks(before, after) {
  const selfId = after.self?.user_id;
  const was = selfId ? participantOf(before, selfId) : null;
  const now = selfId ? participantOf(after, selfId) : null;
  const ended = (was?.screen === true && now !== null && now.screen !== true)
    || (before.screenShareAllowed === true && after.screenShareAllowed === false && !isFacilitator(after));
  return ended ? [{ type: "screen_ended", keepOff: now?.muted?.video === true }] : [];
}

// room:admitted, or the join acknowledged with status "joined": the entry payload.
function enter(state, payload) {
  const me = payload?.self && typeof payload.self === "object" ? payload.self : {};
  let next = roomOf({ ...state, participants: [], hands: [], lobby: [] }, payload?.room);
  next = {
    ...next,
    phase: Phase.JOINED,
    self: { user_id: me.user_id ?? state.self?.user_id ?? null, peer_id: me.peer_id ?? null, role: me.role ?? null },
    early: [],
    waitingNote: null,
    agreement: null,
    over: null,
  };
  if (isFacilitator(next) && state.panel.open && state.self?.role !== "facilitator") {
    next.panel = { ...state.panel, tab: "people" }; // a facilitator's first look: who waits, who is here
  }
  // A fresh entry (also after a reconnect, with a new peer id): whatever was open closes, and the media starts.
  // `participants`: the entry's own roster (those announced early came after us: in a mesh they offer to us).
  const effects = [{ type: "enter", media: payload?.media ?? null, chat: payload?.chat ?? null,
    participants: next.participants }];
  for (const event of state.early) {
    const applied = roster(next, event);
    next = applied.state;
    effects.push(...applied.effects);
  }
  return { state: next, effects };
}

// Into the lobby (or still there, after a reconnect). Coming into it is said aloud: the room around the person
// disappears, and the view moves focus to the waiting card.
function waiting(state, self, note = null) {
  const effects = state.phase === Phase.JOINED ? [{ type: "out" }] : [];
  if (state.phase !== Phase.WAITING) effects.push(announce(note || IN_LOBBY));
  return {
    state: { ...state, phase: Phase.WAITING, self: self ?? state.self, participants: [], hands: [], lobby: [],
      early: [], waitingNote: note, unread: 0, speaker: null, joinTries: 0 },
    effects,
  };
}

// A roster event while in the room.
function roster(state, event) {
  const same = { state, effects: [] };
  switch (event.type) {
    case "participant_joined": {
      const p = event.participant;
      if (!p?.user_id) return same;
      const exists = state.participants.some((x) => x.user_id === p.user_id);
      const participants = exists
        ? state.participants.map((x) => (x.user_id === p.user_id ? p : x))
        : [...state.participants, p];
      return { state: { ...state, participants }, effects: [] };
    }
    case "participant_updated": {
      const p = event.participant;
      if (!p?.user_id) return same;
      const before = participantOf(state, p.user_id);
      const participants = before
        ? state.participants.map((x) => (x.user_id === p.user_id ? p : x))
        : [...state.participants, p];
      const effects = [];
      if (p.user_id !== state.self?.user_id && before?.peer_id && before.peer_id !== p.peer_id) {
        effects.push({ type: "close_peer", peerId: before.peer_id }); // they came back on a new connection
      }
      const next = { ...state, participants };
      effects.push(...ownChecks(state, next));
      const mine = p.user_id === state.self?.user_id;
      if (!mine && p.screen === true && before?.screen !== true) {
        effects.push(announce(`${nameOf(next, p.user_id)} is sharing their screen.`));
      }
      return { state: next, effects };
    }
    case "participant_left": {
      const userId = event.userId;
      if (typeof userId !== "string" || userId === state.self?.user_id) return same;
      const before = participantOf(state, userId);
      const effects = [];
      if (before?.peer_id) effects.push({ type: "close_peer", peerId: before.peer_id, userId });
      effects.push({ type: "member_left", userId });
      return {
        state: {
          ...state,
          participants: state.participants.filter((p) => p.user_id !== userId),
          hands: state.hands.filter((id) => id !== userId),
          speaker: state.speaker === userId ? null : state.speaker,
        },
        effects,
      };
    }
    default:
      return same;
  }
}

function lobbyChanged(state, list) {
  const lobby = Array.isArray(list) ? list.filter((w) => w && typeof w.user_id === "string") : [];
  const next = { ...state, lobby };
  if (state.phase !== Phase.JOINED || !isFacilitator(state)) return { state: next, effects: [] };
  const before = new Set(state.lobby.map((w) => w.user_id));
  const arrived = lobby.filter((w) => !before.has(w.user_id));
  if (arrived.length === 0) return { state: next, effects: [] };
  const names = arrived.map((w) => (typeof w.display_name === "string" && w.display_name ? w.display_name : "Someone"));
  const text = names.length === 1
    ? `${names[0]} is waiting to join.`
    : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are waiting to join.`;
  return { state: next, effects: [{ type: "chime" }, announce(text)] };
}

function handsChanged(state, queue) {
  const hands = Array.isArray(queue) ? queue.filter((id) => typeof id === "string") : [];
  const next = { ...state, hands };
  if (state.phase !== Phase.JOINED) return { state: next, effects: [] };
  const selfId = state.self?.user_id;
  const effects = [];
  for (const id of hands) {
    if (state.hands.includes(id)) continue;
    effects.push(announce(id === selfId
      ? `Your hand is raised, ${ordinal(hands.indexOf(id) + 1)} in line.`
      : `${nameOf(state, id)} raised their hand.`));
  }
  for (const id of state.hands) {
    if (hands.includes(id)) continue;
    effects.push(announce(id === selfId ? "Your hand is lowered." : `${nameOf(state, id)} lowered their hand.`));
  }
  return { state: next, effects };
}

function settings(state, data) {
  const next = { ...state };
  if (typeof data.lobby_enabled === "boolean") next.lobbyEnabled = data.lobby_enabled;
  if (typeof data.self_unmute_allowed === "boolean") next.selfUnmuteAllowed = data.self_unmute_allowed;
  if (typeof data.screen_share_allowed === "boolean") next.screenShareAllowed = data.screen_share_allowed;
  // A participant's share stops when the group no longer allows it.
  return { state: next, effects: ownChecks(state, next) };
}

function joinAck(state, ack) {
  const same = { state, effects: [] };
  if (!ack || typeof ack !== "object") return same;
  if (!ack.ok) {
    const code = ack.error?.code;
    if (code === "offline") return same; // the connection is down: the next connect joins again
    if (code === "timeout") {
      // No answer on a connection that may still be up: ask again a little later, a few times, then offer a retry.
      const tries = state.joinTries + 1;
      if (tries > JOIN_RETRIES) return over(state, "refused", { message: NO_ANSWER, retry: true });
      return { state: { ...state, joinTries: tries }, effects: [{ type: "join", delayMs: JOIN_RETRY_MS * tries }] };
    }
    if (code === "agreement_required") {
      return { state: { ...state, phase: Phase.AGREEMENT, agreement: ack.agreement ?? null }, effects: [] };
    }
    if (code === "room_not_open") return over(state, "not_open", { message: "", retry: true, opensAt: ack.opens_at });
    const message = typeof ack.error?.message === "string" && ack.error.message.trim()
      ? ack.error.message
      : "You cannot join this room right now.";
    return over(state, "refused", { message, retry: RETRYABLE.has(code) });
  }
  if (ack.status === "waiting") {
    return waiting(state, { user_id: ack.self?.user_id ?? null, peer_id: ack.self?.peer_id ?? null, role: null });
  }
  if (ack.status === "joined") return enter({ ...state, joinTries: 0 }, ack);
  return same;
}

export function step(state, event) {
  const same = { state, effects: [] };
  const joined = state.phase === Phase.JOINED;
  switch (event.type) {
    // -- the person ---------------------------------------------------------------------------------
    case "prejoin_done":
      if (state.phase !== Phase.PREJOIN) return same;
      return { state: { ...state, phase: Phase.CONNECTING, joinTries: 0 }, effects: [{ type: "join" }] };
    case "agreement_accepted":
      if (state.phase !== Phase.AGREEMENT) return same;
      return { state: { ...state, phase: Phase.CONNECTING, agreement: null, joinTries: 0 },
        effects: [{ type: "join" }] };
    case "retry":
      // Another try (the person's, or the room's opening time come) goes through the pre-join: the camera and
      // microphone stopped when the visit ended, and open again only there.
      if (state.phase !== Phase.OVER || !state.over?.retry) return same;
      return { state: { ...state, phase: Phase.PREJOIN, over: null, joinTries: 0 }, effects: [{ type: "prejoin" }] };
    case "panel": {
      const open = typeof event.open === "boolean" ? event.open : state.panel.open;
      const tab = TABS.has(event.tab) ? event.tab : state.panel.tab;
      const next = { ...state, panel: { open, tab } };
      if (chatShown(next)) next.unread = 0;
      return { state: next, effects: [] };
    }
    case "layout":
      if (!LAYOUTS.has(event.layout)) return same;
      return { state: { ...state, layout: event.layout }, effects: [] };

    // -- the server ---------------------------------------------------------------------------------
    case "join_ack":
      // Also in the room or the lobby: every new connection joins again (a reconnect resumes the place).
      if (state.phase === Phase.PREJOIN || state.phase === Phase.OVER) return same;
      return joinAck(state, event.ack);
    case "admitted":
      if (state.phase !== Phase.WAITING && state.phase !== Phase.CONNECTING) return same;
      return enter(state, event.payload);
    case "denied":
    case "removed":
    case "ended":
    case "superseded":
    case "signed_out":
      if (state.phase === Phase.OVER || state.phase === Phase.PREJOIN) return same;
      return over(state, event.type);
    case "sent_to_lobby":
      if (!joined) return same;
      return waiting(state, null, SENT_TO_LOBBY);
    case "participant_joined":
    case "participant_updated":
    case "participant_left":
      if (joined) return roster(state, event);
      if ((state.phase === Phase.CONNECTING || state.phase === Phase.WAITING) && state.early.length < MAX_EARLY) {
        return { state: { ...state, early: [...state.early, event] }, effects: [] };
      }
      return same;
    case "lobby":
      return lobbyChanged(state, event.waiting);
    case "hands":
      return handsChanged(state, event.queue);
    case "locked":
      return { state: { ...state, locked: Boolean(event.locked) }, effects: [] };
    case "settings":
      return settings(state, event.data || {});
    case "room_state": {
      // The whole room again (after the server's store came back): the same checks of our own record as a single
      // update gets.
      if (!joined) return same;
      const next = roomOf(state, event.room);
      return { state: next, effects: [{ type: "prune_peers" }, ...ownChecks(state, next)] };
    }
    case "speakers": {
      if (!joined) return same;
      const ids = Array.isArray(event.userIds) ? event.userIds : [];
      const other = ids.find((id) => typeof id === "string" && id !== state.self?.user_id
        && state.participants.some((p) => p.user_id === id));
      if (!other || other === state.speaker) return same;
      return { state: { ...state, speaker: other }, effects: [] };
    }
    case "muted": {
      if (!joined || !KINDS.includes(event.kind)) return same;
      return { state, effects: [{ type: "mute_local", kind: event.kind }] };
    }
    case "chat_message": {
      const m = event.message;
      if (!joined || !m || typeof m !== "object" || chatShown(state)) return same;
      if (m.sender_id && m.sender_id === state.self?.user_id) return same;
      const who = typeof m.display_name === "string" && m.display_name ? m.display_name : nameOf(state, m.sender_id);
      return {
        state: { ...state, unread: Math.min(MAX_UNREAD, state.unread + 1) },
        effects: [announce(`New message from ${who}.`)],
      };
    }
    case "chat_caught_up": {
      // Messages the history brought (after a reconnect, or a gap in the live ones): unread like live ones while the
      // chat is not shown, and said once for the lot.
      if (!joined || chatShown(state) || !Array.isArray(event.messages)) return same;
      const n = event.messages.filter((m) => m && typeof m === "object" && m.deleted !== true
        && typeof m.body === "string" && !(m.sender_id && m.sender_id === state.self?.user_id)).length;
      if (n === 0) return same;
      return {
        state: { ...state, unread: Math.min(MAX_UNREAD, state.unread + n) },
        effects: [announce(n === 1 ? "1 new message in the chat." : `${n} new messages in the chat.`)],
      };
    }
    default:
      return same;
  }
}
