// A group room's media as this member sees it, as pure functions: which way the media goes (mesh: browser to
// browser; sfu: one connection to Haven's forwarder), what to close and open when that changes, and in a forwarded
// room which remote track belongs to whom and who is speaking; and what each member's tile shows.
//
// Nothing here touches a socket, an RTCPeerConnection or an element: step() returns the effects, and
// views/room.js (with mesh.js and forwarder-link.js) carries them out. Tested in web/test/forwarded.test.js.

const KINDS = ["audio", "video"];
const POLICIES = new Set(["all", "relay"]);
const MAX_SPEAKERS = 50; // more than any room holds; a longer list is cut, never stored whole

// The server's `media` object (join ack, room:admitted, room:media), kept to what the client uses.
// A forwarded room without a forwarder peer id cannot be reached: peerId stays null and nothing is opened.
export function roomMediaOf(media) {
  const m = media && typeof media === "object" ? media : {};
  const sfu = m.mode === "sfu";
  return {
    mode: sfu ? "sfu" : "mesh",
    peerId: sfu && typeof m.peer_id === "string" && m.peer_id ? m.peer_id : null,
    iceServers: Array.isArray(m.ice_servers) ? m.ice_servers : [],
    iceTransportPolicy: POLICIES.has(m.ice_transport_policy) ? m.ice_transport_policy : "all",
    meshLimit: Number.isInteger(m.mesh_limit) ? m.mesh_limit : null,
  };
}

export const INITIAL = Object.freeze({
  media: null, // roomMediaOf(...) while in the room, null otherwise
  tracks: Object.freeze({}), // track key -> {userId, kind, live}: what the forwarder sends us
  speakers: Object.freeze([]), // user ids, loudest first
});

function opening(media, meshOffers) {
  if (media.mode === "mesh") return [{ type: "open_mesh", offers: meshOffers, ...settings(media) }];
  if (!media.peerId) return [];
  return [{ type: "open_forwarder", peerId: media.peerId, ...settings(media) }];
}

function settings(media) {
  return { iceServers: media.iceServers, iceTransportPolicy: media.iceTransportPolicy };
}

function closing(media) {
  if (!media) return [];
  return [{ type: media.mode === "mesh" ? "close_mesh" : "close_forwarder" }];
}

function sameWay(a, b) {
  return Boolean(a && b && a.mode === b.mode && a.peerId === b.peerId);
}

function cleared(state, media) {
  return { ...state, media, tracks: {}, speakers: [] };
}

// step(state, event) -> {state, effects}. Events:
//   enter {media}      we entered the room (or entered again after a reconnect, with a new peer id): start afresh
//   media {media}      room:media: the mode changed or the forwarder moved; anything else keeps the connection
//   leave              we are out of the room (lobby, ended, left): close everything
//   track {key, userId, kind, live}   the forwarder sends a track for this stream (stream id = publisher's user id)
//   track_live {key, live}            it was muted (nothing arrives, or it went inactive) or unmuted
//   track_gone {key}                  it was removed from its stream or ended
//   speakers {userIds}                room:speakers
//   member_left {userId}
// Effects: close_mesh, close_forwarder, open_mesh {offers, iceServers, iceTransportPolicy},
// open_forwarder {peerId, iceServers, iceTransportPolicy}, ice_servers {iceServers}.
export function step(state, event) {
  const same = { state, effects: [] };
  switch (event.type) {
    case "enter": {
      const media = roomMediaOf(event.media);
      // A newcomer offers to everyone already there (mesh.js's rule).
      return { state: cleared(state, media), effects: [...closing(state.media), ...opening(media, "newcomer")] };
    }
    case "media": {
      if (!state.media) return same;
      const media = roomMediaOf(event.media);
      if (sameWay(state.media, media)) {
        return { state: { ...state, media }, effects: [{ type: "ice_servers", iceServers: media.iceServers }] };
      }
      // Everyone switches at once, so no one is the newcomer: the lower peer id offers to the higher.
      return { state: cleared(state, media), effects: [...closing(state.media), ...opening(media, "lower_offers")] };
    }
    case "leave":
      return { state: cleared(state, null), effects: closing(state.media) };
    case "track": {
      if (state.media?.mode !== "sfu" || typeof event.key !== "string" || typeof event.userId !== "string") return same;
      if (!KINDS.includes(event.kind)) return same;
      const track = { userId: event.userId, kind: event.kind, live: event.live !== false };
      return { state: { ...state, tracks: { ...state.tracks, [event.key]: track } }, effects: [] };
    }
    case "track_live": {
      const track = state.tracks[event.key];
      if (!track || track.live === Boolean(event.live)) return same;
      return { state: { ...state, tracks: { ...state.tracks, [event.key]: { ...track, live: Boolean(event.live) } } },
        effects: [] };
    }
    case "track_gone": {
      if (!Object.prototype.hasOwnProperty.call(state.tracks, event.key)) return same;
      const tracks = { ...state.tracks };
      delete tracks[event.key];
      return { state: { ...state, tracks }, effects: [] };
    }
    case "speakers": {
      if (!state.media) return same;
      const ids = Array.isArray(event.userIds) ? event.userIds.filter((id) => typeof id === "string" && id) : [];
      return { state: { ...state, speakers: [...new Set(ids)].slice(0, MAX_SPEAKERS) }, effects: [] };
    }
    case "member_left":
      if (!state.speakers.includes(event.userId)) return same;
      return { state: { ...state, speakers: state.speakers.filter((id) => id !== event.userId) }, effects: [] };
    default:
      return same;
  }
}

// The peer connections a member opens when a mesh starts: {peerId, userId} for each member it offers to.
// "newcomer": everyone there (they only answer); "lower_offers": those whose peer id sorts after ours, so that of
// any two members exactly one offers.
export function meshOffers(rule, self, participants) {
  const others = [...participants].filter((p) =>
    p && p.user_id !== self?.user_id && p.connected !== false && typeof p.peer_id === "string" && p.peer_id);
  const chosen = rule === "lower_offers" ? others.filter((p) => String(self?.peer_id) < p.peer_id) : others;
  return chosen.map((p) => ({ peerId: p.peer_id, userId: p.user_id }));
}

// The keys of the tracks the forwarder sends for one member, by kind (usually one each; more while a
// renegotiation replaces one).
export function tracksOf(state, userId) {
  const out = { audio: [], video: [] };
  for (const [key, track] of Object.entries(state.tracks)) if (track.userId === userId) out[track.kind].push(key);
  return out;
}

// The tracks a member's tile plays: per kind, the newest live one (or the newest, when none is live yet). A stream
// briefly holds two of a kind while a renegotiation replaces one; a <video> would play whichever comes first.
export function playable(state, userId) {
  const keys = [];
  for (const kind of KINDS) {
    const mine = Object.entries(state.tracks).filter(([, t]) => t.userId === userId && t.kind === kind);
    const live = mine.filter(([, t]) => t.live);
    const chosen = (live.length > 0 ? live : mine).at(-1);
    if (chosen) keys.push(chosen[0]);
  }
  return keys;
}

function hasLiveVideo(state, userId) {
  return Object.values(state.tracks).some((t) => t.userId === userId && t.kind === "video" && t.live);
}

// What a member's tile shows. `participant` is the roster entry (may be missing while it is not known yet).
//   videoShown: the picture is shown (their camera is on and, in a forwarded room, a live video track arrives);
//   speaking:   room:speakers names them (in a mesh, the room's own measure of their sound, fed in the same way);
//   audio/video: "on", "off" (their own choice) or "held" (a facilitator's mute stands: the server forwards none).
export function tileView(state, participant, userId = participant?.user_id) {
  const p = participant && typeof participant === "object" ? participant : {};
  const kindState = (kind) => {
    if (p.muted && p.muted[kind] === true) return "held";
    return p[kind] === false ? "off" : "on";
  };
  const audio = kindState("audio");
  const video = kindState("video");
  const forwarded = state.media?.mode === "sfu";
  return {
    userId,
    name: typeof p.display_name === "string" && p.display_name ? p.display_name : "Someone",
    audio,
    video,
    videoShown: video === "on" && (!forwarded || hasLiveVideo(state, userId)),
    speaking: Boolean(userId && state.speakers.includes(userId)),
    reconnecting: p.connected === false,
    screen: p.screen === true, // their video is their shared screen
  };
}

// The words on a tile for its microphone and camera; a facilitator's mute reads differently from a member's own.
export function tileLabels(view) {
  const labels = [];
  if (view.audio === "held") labels.push("Mic muted by a facilitator");
  else if (view.audio === "off") labels.push("Mic off");
  if (view.video === "held") labels.push("Camera turned off by a facilitator");
  if (view.screen) labels.push("Sharing their screen");
  if (view.reconnecting) labels.push("Reconnecting…");
  return labels;
}
