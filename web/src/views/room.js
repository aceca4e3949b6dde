// The group room: lobby, roster, raised hands, video (a mesh, or through Haven's forwarder), chat, and the
// facilitator's controls. Everything the server sends is shown through text nodes (dom.js); nothing is parsed as HTML.
// Which way the media goes, and what each tile shows, is decided in room/forwarded.js; this view carries it out.
import { io } from "socket.io-client";
import { getGroup } from "../api.js";
import { h, setAlert } from "../dom.js";
import { getToken } from "../session.js";
import { attachLiveSession } from "../live-session.js";
import { busyReconnectDelay } from "../busy-retry.js";
import { createRequest } from "../socket-request.js";
import { createChat } from "../room/chat.js";
import { Mesh } from "../room/mesh.js";
import { ForwarderLink } from "../room/forwarder-link.js";
import { INITIAL as MEDIA_INITIAL, meshOffers, playable, step as mediaStep, tileView } from "../room/forwarded.js";
import { VideoGrid, paintFigure } from "../room/tiles.js";
import { MEDIA_PROBLEMS, openLocalMedia, stopStream, trackOf } from "../room/media.js";
import { createAgreementCard } from "../room/agreement.js";
import { createCheckinForm } from "../room/checkin-form.js";
import { createSupportRequest } from "../room/support-request.js";
import { checkinSummary, createProgramConsole } from "../room/program-console.js";
import { opensMessage, parseTime } from "../program/when.js";

export const title = "Group room";
export const requiresAuth = true;

const RECONNECT_DELAY_MS = 2000; // times the attempt: 2 s, 4 s, 6 s...
const MAX_RECONNECTS = 5;
const KINDS = ["audio", "video"];
const KIND_WORD = { audio: "microphone", video: "camera" };
const ROLE_LABELS = { facilitator: "Facilitator", participant: "Participant" };
// Join refusals worth another try later (the room may open up); the rest are final.
const RETRYABLE = new Set(["room_locked", "room_full", "unavailable", "busy", "internal_error", "timeout", "offline",
  "room_not_open"]);
// A room that opens within this long is joined by itself at its opening time.
const AUTO_JOIN_WITHIN_MS = 12 * 3600000;

function ordinal(n) {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] || s[v] || s[0]}`;
}

function messageOf(ack, fallback = "Something went wrong. Please try again.") {
  const message = ack?.error?.message;
  return typeof message === "string" && message.trim() ? message : fallback;
}

function button(label, attrs = {}) {
  return h("button", { type: "button", class: "button", ...attrs }, label);
}

// A toggle whose name stays the same; its state is in aria-pressed (and shown, not spoken, as On/Off).
function toggleButton(id, label) {
  const state = h("span", { class: "toggle-state", "aria-hidden": "true" });
  const el = h("button", { type: "button", id, class: "button toggle", "aria-pressed": "false" },
    h("span", { class: "toggle-label" }, label), state);
  return { el, label: el.firstChild, state };
}

export async function render(root, { navigate, signal, params = {} }) {
  const roomId = String(params.roomId || "").toLowerCase();

  // -- the page ---------------------------------------------------------------------------------------
  const heading = h("h2", { id: "room-title", tabindex: "-1" }, "Group room");
  const connection = h("p", { id: "room-status", class: "muted", role: "status" }, "Connecting…");
  const error = h("p", { id: "room-error", class: "alert", role: "alert", hidden: true });
  const notice = h("div", { id: "room-notice", role: "status" });
  const mediaNote = h("p", { id: "media-note", class: "card calm", hidden: true });

  const waitingText = h("p", { class: "waiting-lead" }, "Waiting for a facilitator to let you in.");
  const waitingDetail = h("p", { class: "muted" },
    "You can check your camera and microphone while you wait. Take your time; you will join as soon as they do.");
  const request = createRequest(() => socket);
  const lobbyCheckin = createCheckinForm({ roomId, request });
  const waiting = h("div", { id: "waiting", class: "card calm stack", hidden: true }, waitingText, waitingDetail,
    lobbyCheckin.el);

  // Before joining (#/room/<id>/checkin: a group without a waiting room): a check-in, then on into the room.
  let prejoinDone = !params.checkinFirst;
  let releasePrejoin = () => {};
  const prejoinGate = new Promise((resolve) => { releasePrejoin = resolve; });
  const continueButton = button("Continue to the room", { id: "continue-to-room" });
  const prejoin = h("div", { id: "prejoin", class: "card calm stack", hidden: true },
    h("p", { class: "waiting-lead", id: "prejoin-title", tabindex: "-1" }, "Before you join"),
    params.checkinFirst ? createCheckinForm({ roomId, request }).el : null,
    h("div", { class: "row" }, continueButton));
  continueButton.addEventListener("click", () => {
    prejoinDone = true;
    releasePrejoin();
    showPhase();
  });

  const agreement = createAgreementCard({ groupId: roomId, onAccepted: () => {
    phase = "connecting";
    connection.textContent = "Joining…";
    showPhase();
    join();
  } });
  const support = createSupportRequest({ roomId, request });

  const overTitle = h("h3", { id: "room-over-title", tabindex: "-1" });
  const retryButton = button("Try again", { id: "retry-join", class: "button button-quiet", hidden: true });
  const over = h("div", { id: "room-over", class: "card calm stack", hidden: true },
    overTitle,
    h("div", { class: "row" }, h("a", { href: "#/groups", id: "back-to-groups", class: "button" }, "Back to my groups"),
      retryButton),
  );

  const localVideo = h("video", { id: "local-video", muted: true, autoplay: true, playsinline: true });
  localVideo.muted = true; // the attribute alone does not mute an element made by script
  localVideo.playsInline = true;
  const localNote = h("span", { class: "camera-off-note", "aria-hidden": "true" }, "Camera off");
  const localState = h("span", { class: "tile-state" });
  const localTile = h("figure", { class: "tile tile-local", hidden: true },
    localVideo, localNote, h("figcaption", {}, h("span", { class: "tile-name" }, "You"),
      h("span", { class: "tile-speaking", "aria-hidden": "true" }, "Speaking"), localState));
  const videos = h("div", { id: "videos", class: "video-grid", "aria-label": "Video" }, localTile);
  const linkNote = h("p", { id: "media-link-note", class: "card calm", role: "status", hidden: true });

  const audioToggle = toggleButton("toggle-audio", "Microphone");
  const videoToggle = toggleButton("toggle-video", "Camera");
  const handToggle = toggleButton("raise-hand", "Raise hand");
  handToggle.el.hidden = true;
  const leaveButton = button("Leave", { id: "leave-room", class: "button button-quiet" });
  const controls = h("div", { class: "controls", role: "group", "aria-label": "Your controls" },
    audioToggle.el, videoToggle.el, handToggle.el, support.button, leaveButton);

  const lockedNote = h("p", { id: "room-locked-note", class: "muted", hidden: true },
    "The room is locked: no one new can join.");
  const rosterTitle = h("h3", { id: "roster-title", tabindex: "-1" }, "In the room");
  const roster = h("ul", { id: "roster", class: "roster", "aria-labelledby": "roster-title" });
  const handQueue = h("ol", { id: "hand-queue", class: "hand-queue", "aria-labelledby": "hands-title" });
  const handsEmpty = h("p", { class: "muted", id: "hands-empty" }, "No hands raised.");

  const lobbyList = h("ul", { id: "lobby", class: "lobby", "aria-labelledby": "lobby-title" });
  const lobbyEmpty = h("p", { class: "muted", id: "lobby-empty" }, "No one is waiting.");
  const lockToggle = toggleButton("lock-room", "Lock room");
  const lobbyToggle = toggleButton("toggle-lobby", "Waiting room");
  const lockButton = lockToggle.el;
  const lobbyButton = lobbyToggle.el;
  const endButton = button("End session", { id: "end-room", class: "button button-danger" });
  const facilitatorPanel = h("section", { id: "facilitator-panel", class: "panel stack", "aria-labelledby": "fac-title",
    hidden: true },
  h("h3", { id: "fac-title" }, "Facilitator"),
  h("div", { class: "row" }, lockButton, lobbyButton, endButton),
  h("h4", { id: "lobby-title" }, "Waiting to join"),
  lobbyList, lobbyEmpty,
  );
  const facTitle = facilitatorPanel.querySelector("#fac-title");
  const programConsole = createProgramConsole({ roomId, groupId: roomId, request, onChange: (open) => {
    facTitle.textContent = open ? `Facilitator (${open} asking for support)` : "Facilitator";
  } });
  facilitatorPanel.append(programConsole.checkins, programConsole.support, programConsole.live);

  const people = h("div", { class: "side stack", hidden: true },
    h("section", { class: "panel stack", "aria-labelledby": "roster-title" }, rosterTitle, lockedNote, roster),
    h("section", { class: "panel stack", "aria-labelledby": "hands-title" },
      h("h3", { id: "hands-title" }, "Raised hands"), handQueue, handsEmpty),
    facilitatorPanel,
  );
  const chat = createChat({
    conversation: `room:${roomId}`,
    request: (event, payload) => request(event, payload),
    showError: (message) => {
      if (!signal.aborted) setAlert(error, message);
    },
    clearError: () => setAlert(error, ""),
    getSelf: () => self,
    nameOf: (userId) => participants.get(userId)?.display_name || null,
  });
  const stage = h("div", { class: "stage stack" }, videos, controls, support.el, chat.el);
  const layout = h("div", { class: "room-layout" }, stage, people);

  const section = h("section", { class: "room stack", "aria-labelledby": "room-title" },
    h("div", { class: "room-head" }, heading, connection), error, notice, mediaNote, linkNote, prejoin, agreement.el,
    waiting, over, layout);
  root.classList.add("view-wide");
  root.replaceChildren(section);
  heading.focus();

  // -- state ------------------------------------------------------------------------------------------
  let phase = "connecting"; // connecting | agreement | waiting | joined | over
  let self = null; // {user_id, peer_id, role}
  let participants = new Map(); // user id -> PARTICIPANT, in roster order
  let hands = [];
  let lobby = [];
  let locked = false;
  let lobbyEnabled = true;
  let group = null;
  let localStream = null;
  let mesh = null;
  let link = null; // the forwarder connection, in a forwarded room
  let reconnects = 0; // attempts since the forwarder connection last came up
  let media = MEDIA_INITIAL; // room/forwarded.js's state: the media mode, the forwarder's tracks, who speaks
  let socket = null;
  let left = false;
  let connectErrorShown = false;
  const early = []; // rtc:signal messages that came before the mesh or the forwarder connection existed
  // Roster events that came before our own entry (someone joining at the same moment as us can be announced before
  // our join ack or room:admitted arrives): applied on top of the entry's roster.
  const earlyRoster = [];
  const busy = { audio: false, video: false };
  const grid = new VideoGrid(videos); // tiles keyed "peer:<peer id>" (mesh) or "user:<user id>" (forwarded)
  const remoteTracks = new Map(); // forwarder track key -> MediaStreamTrack
  const timers = new Set();
  const peersRegistry = new Map(); // peer id -> RTCPeerConnection, for tests and debugging
  window.havenPeers = peersRegistry;

  const isFacilitator = () => self?.role === "facilitator";
  const nameOf = (userId) => participants.get(userId)?.display_name || "Someone";
  const userOfPeer = (peerId) => {
    for (const p of participants.values()) if (p.peer_id === peerId) return p.user_id;
    return null;
  };
  const later = (fn, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  getGroup(roomId, signal).then((g) => {
    group = g;
    if (g && typeof g.name === "string" && g.name) heading.textContent = g.name;
  }).catch(() => {
    // The join will say whether this person may be here; the heading can stay generic.
  });

  // -- talking to the server --------------------------------------------------------------------------
  // Every request goes through socket-request.js (made above): a `busy` refusal is sent again there.

  // A person's action: its refusal is shown in the alert region.
  async function act(event, payload) {
    setAlert(error, "");
    const ack = await request(event, payload);
    if (!ack.ok && !signal.aborted) setAlert(error, messageOf(ack));
    return ack;
  }

  function sendSignal(message) {
    if (!socket?.connected) return;
    request("rtc:signal", message).then((ack) => {
      if (ack.ok === false) console.debug("haven: signal refused", ack.error?.code);
    });
  }

  // -- notices ----------------------------------------------------------------------------------------
  function showNotice(text, actions = [], kind = null) {
    const box = h("div", { class: "notice", "data-kind": kind || "" },
      h("p", { class: "notice-text" }, text),
      h("div", { class: "row" }, ...actions,
        button("Dismiss", { class: "button button-quiet dismiss-notice", onclick: () => notice.replaceChildren() })),
    );
    notice.replaceChildren(box);
  }

  function clearNotice(kind) {
    const box = notice.firstElementChild;
    if (box && (!kind || box.dataset.kind === kind)) notice.replaceChildren();
  }

  // -- local media and the controls -------------------------------------------------------------------
  function updateControls() {
    for (const kind of KINDS) {
      const t = kind === "audio" ? audioToggle : videoToggle;
      const track = trackOf(localStream, kind);
      const on = Boolean(track && track.enabled);
      t.el.setAttribute("aria-pressed", String(on));
      t.el.classList.toggle("is-off", !on);
      t.el.disabled = !track;
      t.state.textContent = !track ? "Unavailable" : busy[kind] ? "…" : on ? "On" : "Off";
      if (busy[kind]) t.el.setAttribute("aria-busy", "true");
      else t.el.removeAttribute("aria-busy");
    }
    const videoOn = Boolean(trackOf(localStream, "video")?.enabled);
    localTile.classList.toggle("camera-off", !videoOn);
    const raised = Boolean(self && hands.includes(self.user_id));
    handToggle.el.setAttribute("aria-pressed", String(raised));
    handToggle.state.textContent = raised ? "Raised" : "";
    handToggle.el.hidden = phase !== "joined";
  }

  async function turnOff(kind) {
    const track = trackOf(localStream, kind);
    if (!track) return;
    track.enabled = false; // at once: privacy first, then tell the room
    updateControls();
    if (phase === "joined") await act("room:media", { room_id: roomId, kind, enabled: false });
  }

  async function turnOn(kind) {
    const track = trackOf(localStream, kind);
    if (!track || busy[kind]) return;
    if (phase === "joined") {
      busy[kind] = true;
      updateControls();
      const ack = await act("room:media", { room_id: roomId, kind, enabled: true });
      busy[kind] = false;
      if (signal.aborted) return;
      if (!ack.ok) {
        updateControls(); // refused (e.g. a facilitator's mute stands): the track stays off
        return;
      }
    }
    track.enabled = true;
    clearNotice(kind);
    updateControls();
  }

  function toggle(kind) {
    const track = trackOf(localStream, kind);
    if (!track || busy[kind]) return;
    if (track.enabled) turnOff(kind);
    else turnOn(kind);
  }

  audioToggle.el.addEventListener("click", () => toggle("audio"));
  videoToggle.el.addEventListener("click", () => toggle("video"));
  handToggle.el.addEventListener("click", () => {
    if (phase !== "joined" || !self) return;
    const raised = hands.includes(self.user_id);
    act(raised ? "hand:lower" : "hand:raise", { room_id: roomId });
  });

  // On entry the server's flags and the local tracks are brought into line: a kind the server has off
  // (a facilitator's mute that still stands) goes off here; a kind we have off (or have no device for)
  // is turned off there.
  function syncMediaOnEntry() {
    const me = self ? participants.get(self.user_id) : null;
    for (const kind of KINDS) {
      const track = trackOf(localStream, kind);
      const localOn = Boolean(track && track.enabled);
      const serverOn = me ? me[kind] !== false : true;
      if (!serverOn && track) track.enabled = false;
      else if (serverOn && !localOn) request("room:media", { room_id: roomId, kind, enabled: false });
    }
    updateControls();
  }

  const mediaReady = openLocalMedia().then(({ stream, error: problem }) => {
    if (signal.aborted) {
      stopStream(stream);
      return;
    }
    localStream = stream;
    if (stream && trackOf(stream, "video")) {
      localVideo.srcObject = stream;
      localTile.hidden = false;
      localVideo.play().catch(() => {});
    }
    if (problem) {
      mediaNote.textContent = MEDIA_PROBLEMS[problem] || MEDIA_PROBLEMS.unavailable;
      mediaNote.hidden = false;
    }
    updateControls();
  });

  // -- remote media: a mesh, or one connection to the forwarder -------------------------------------------
  const meshKey = (peerId) => `peer:${peerId}`;
  const memberKey = (userId) => `user:${userId}`;
  const forwarded = () => media.media?.mode === "sfu";

  function linkLabels(state) {
    if (state === "failed" || state === "disconnected") return ["Connection trouble"];
    if (state === "new" || state === "connecting") return ["Connecting…"];
    return [];
  }

  function paintMeshTile(peerId) {
    const peer = mesh?.peers.get(peerId);
    const userId = peer?.userId || userOfPeer(peerId);
    grid.paint(meshKey(peerId), tileView(media, userId ? participants.get(userId) : null, userId),
      linkLabels(peer?.pc.connectionState));
  }

  // A forwarded room has a tile for every other member, showing whatever the forwarder sends in their stream.
  function paintForwardedTiles() {
    const others = [...participants.values()].filter((p) => p.user_id !== self?.user_id);
    const wanted = new Set(others.map((p) => memberKey(p.user_id)));
    for (const key of grid.keys()) if (!wanted.has(key)) grid.remove(key);
    const labels = linkLabels(link?.state);
    for (const p of others) {
      const key = memberKey(p.user_id);
      grid.ensure(key, p.user_id);
      grid.setTracks(key, playable(media, p.user_id).map((k) => remoteTracks.get(k)).filter(Boolean));
      grid.paint(key, tileView(media, p), labels);
    }
  }

  function renderTiles() {
    if (forwarded()) paintForwardedTiles();
    else for (const key of grid.keys()) paintMeshTile(key.slice("peer:".length));
    if (self?.user_id) paintFigure(localTile, localState, tileView(media, participants.get(self.user_id), self.user_id));
    // For tests and debugging: the way the media goes and the forwarder connection's state.
    videos.dataset.mediaMode = media.media?.mode || "";
    videos.dataset.forwarder = link ? link.state : "";
  }

  function onMeshTrack(peer) {
    grid.ensure(meshKey(peer.id), peer.userId || "");
    grid.setTracks(meshKey(peer.id), peer.stream.getTracks());
    paintMeshTile(peer.id);
  }

  function newMesh(iceServers, iceTransportPolicy) {
    mesh?.destroy();
    mesh = new Mesh({
      iceServers, // exactly as the server gave them (an empty list in tests: no outside STUN server)
      iceTransportPolicy, // "relay": only TURN relay candidates, so no member learns another's address
      localStream: () => localStream,
      send: sendSignal,
      onTrack: onMeshTrack,
      onState: (peer) => paintMeshTile(peer.id),
      onClosed: (peer) => grid.remove(meshKey(peer.id)),
      registry: peersRegistry,
    });
  }

  function dropMesh() {
    mesh?.destroy();
    mesh = null;
    for (const key of grid.keys()) if (key.startsWith("peer:")) grid.remove(key);
  }

  // One media event through forwarded.js: what it decides is done here.
  function mediaEvent(event) {
    const { state, effects } = mediaStep(media, event);
    media = state;
    for (const effect of effects) runMediaEffect(effect);
  }

  function trackEvent(event) {
    mediaEvent(event);
    if (phase === "joined") renderTiles();
  }

  function newLink({ peerId, iceServers, iceTransportPolicy }) {
    linkNote.hidden = true;
    const opened = new ForwarderLink({
      peerId,
      iceServers, // exactly as given: never a public STUN server of our own choosing
      iceTransportPolicy,
      localStream: () => localStream,
      send: (message) => request("rtc:signal", message),
      onTrack: ({ key, track, streamId, kind, live }) => {
        remoteTracks.set(key, track);
        trackEvent({ type: "track", key, userId: streamId, kind, live });
      },
      onTrackLive: (key, live) => trackEvent({ type: "track_live", key, live }),
      onTrackGone: (key) => {
        remoteTracks.delete(key);
        trackEvent({ type: "track_gone", key });
      },
      onState: (state) => {
        if (link !== opened) return;
        if (state === "connected") reconnects = 0;
        if (state === "failed") reconnect(opened, { peerId, iceServers, iceTransportPolicy });
        if (phase === "joined") renderTiles();
      },
      onRefused: (refusal) => {
        if (link !== opened || signal.aborted) return;
        console.warn("haven: the forwarder refused our media", refusal.code);
        linkNote.textContent = `We could not connect your video to the room. ${messageOf({ error: refusal },
          "Please leave and join again.")}`;
        linkNote.hidden = false;
      },
      registry: peersRegistry,
    });
    link = opened;
    opened.start();
  }

  // A failed connection to the forwarder is replaced by a new one (a fresh offer the forwarder takes in place of
  // the old, keeping our tracks at the others), a few times, each a little later.
  function reconnect(failed, params) {
    if (reconnects >= MAX_RECONNECTS || signal.aborted) {
      linkNote.textContent = "Your video connection to the room failed. Please leave and join again.";
      linkNote.hidden = false;
      return;
    }
    reconnects += 1;
    setTimeout(() => {
      if (link !== failed || signal.aborted) return;
      dropLink();
      newLink(params);
    }, RECONNECT_DELAY_MS * reconnects);
  }

  function dropLink() {
    link?.close();
    link = null;
    remoteTracks.clear();
    linkNote.hidden = true;
    for (const key of grid.keys()) if (key.startsWith("user:")) grid.remove(key);
  }

  function runMediaEffect(effect) {
    switch (effect.type) {
      case "close_mesh":
        dropMesh();
        break;
      case "close_forwarder":
        dropLink();
        break;
      case "open_mesh":
        newMesh(effect.iceServers, effect.iceTransportPolicy);
        for (const { peerId, userId } of meshOffers(effect.offers, self, participants.values())) {
          mesh.connectTo(peerId, userId);
        }
        break;
      case "open_forwarder":
        newLink(effect);
        break;
      case "ice_servers":
        mesh?.setIceServers(effect.iceServers);
        link?.setIceServers(effect.iceServers);
        break;
      default:
        break;
    }
    if (effect.type.startsWith("open_")) for (const message of early.splice(0)) handleSignal(message);
  }

  // Out of the room (lobby, ended, left): every media connection closes.
  function dropMedia() {
    mediaEvent({ type: "leave" });
    dropMesh();
    dropLink();
    early.length = 0;
  }

  function handleSignal(message) {
    if (!message || typeof message !== "object" || message.from === self?.peer_id) return;
    if (link) {
      link.handle(message); // only the forwarder's own signals are taken
      return;
    }
    if (!mesh) {
      if (early.length < 200) early.push(message);
      return;
    }
    mesh.handle(message, userOfPeer(message.from));
  }

  // -- the roster, hands and lobby --------------------------------------------------------------------
  function mediaText(p, kind) {
    const word = kind === "audio" ? "Mic" : "Camera";
    if (p[kind]) return `${word} on`;
    return p.muted?.[kind] ? `${word} off (facilitator)` : `${word} off`;
  }

  function facilitatorActions(p) {
    const who = p.display_name || "this person";
    const data = { "data-user-id": p.user_id };
    const small = "button button-small button-quiet";
    return h("div", { class: "participant-actions", role: "group", "aria-label": `Actions for ${who}` },
      button("Mute mic", { ...data, class: `${small} mute-audio`, "data-action": "mute-audio",
        disabled: p.muted?.audio === true }),
      !p.audio && button("Ask to unmute", { ...data, class: `${small} ask-unmute`, "data-action": "ask-unmute-audio" }),
      button("Turn off camera", { ...data, class: `${small} mute-video`, "data-action": "mute-video",
        disabled: p.muted?.video === true }),
      !p.video && button("Ask to turn camera on", { ...data, class: `${small} ask-unmute-video`,
        "data-action": "ask-unmute-video" }),
      hands.includes(p.user_id) && button("Lower hand", { ...data, class: `${small} lower-hand`,
        "data-action": "lower-hand" }),
      p.role !== "facilitator" && button("Send to waiting room", { ...data, class: `${small} send-to-lobby`,
        "data-action": "send-to-lobby" }),
      p.role !== "facilitator" && button("Remove", { ...data, class: `${small} remove`, "data-action": "remove" }),
    );
  }

  function participantItem(p) {
    const mine = p.user_id === self?.user_id;
    const place = hands.indexOf(p.user_id);
    return h("li", { class: "participant", "data-user-id": p.user_id },
      h("div", { class: "participant-main" },
        h("span", { class: "participant-name" }, p.display_name || "Someone", mine ? " (you)" : ""),
        h("span", { class: `role role-${p.role}` }, ROLE_LABELS[p.role] || "Member"),
      ),
      h("div", { class: "participant-state" },
        place >= 0 && h("span", { class: "hand", "data-hand": "raised" }, `Hand raised (${ordinal(place + 1)})`),
        h("span", { class: `media-state${p.audio ? "" : " off"}`, "data-kind": "audio" }, mediaText(p, "audio")),
        h("span", { class: `media-state${p.video ? "" : " off"}`, "data-kind": "video" }, mediaText(p, "video")),
        p.connected === false && h("span", { class: "media-state off" }, "Reconnecting…"),
      ),
      isFacilitator() && !mine && facilitatorActions(p),
    );
  }

  // Replaces a list's items, keeping keyboard focus on the same control when it still exists.
  function replaceKeepingFocus(list, items, fallback) {
    const active = document.activeElement;
    let key = null;
    if (active && list.contains(active)) {
      key = { user: active.closest("li")?.dataset.userId, action: active.dataset.action || active.className };
    }
    list.replaceChildren(...items);
    if (!key) return;
    const match = [...list.querySelectorAll("button")].find((b) =>
      b.closest("li")?.dataset.userId === key.user && (b.dataset.action || b.className) === key.action);
    (match || fallback).focus();
  }

  function renderRoster() {
    const list = [...participants.values()];
    rosterTitle.textContent = `In the room (${list.length})`;
    replaceKeepingFocus(roster, list.map(participantItem), rosterTitle);
    lockedNote.hidden = !locked;
  }

  function renderHands() {
    const items = hands.map((userId, i) =>
      h("li", { class: "hand-entry", "data-user-id": userId },
        h("span", {}, nameOf(userId), userId === self?.user_id ? " (you)" : ""),
        isFacilitator() && button("Lower hand", { class: "button button-small button-quiet lower-hand",
          "data-action": "lower-hand", "data-user-id": userId, "aria-label": `Lower hand: ${nameOf(userId)}` }),
        h("span", { class: "visually-hidden" }, `, ${ordinal(i + 1)} in line`),
      ));
    replaceKeepingFocus(handQueue, items, rosterTitle);
    handsEmpty.hidden = hands.length > 0;
  }

  function waitingItem(w) {
    const who = w.display_name || "Someone";
    const since = typeof w.since === "number" && Number.isFinite(w.since)
      ? new Date(w.since * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })
      : null;
    const data = { "data-user-id": w.user_id };
    return h("li", { class: "waiting-person", "data-user-id": w.user_id },
      h("div", { class: "participant-main" },
        h("span", { class: "participant-name" }, who),
        since && h("span", { class: "muted" }, `waiting since ${since}`),
      ),
      w.removed_before && h("p", { class: "muted removed-before" }, "Removed earlier in this session."),
      checkinSummary(programConsole.checkinOf(w.user_id)),
      h("div", { class: "participant-actions", role: "group", "aria-label": `Lobby actions for ${who}` },
        button("Admit", { ...data, class: "button button-small admit", "data-action": "admit" }),
        button("Deny", { ...data, class: "button button-small button-quiet deny", "data-action": "deny" }),
      ),
    );
  }

  function renderFacilitator() {
    facilitatorPanel.hidden = !(phase === "joined" && isFacilitator());
    if (facilitatorPanel.hidden) return;
    replaceKeepingFocus(lobbyList, lobby.map(waitingItem), lockButton);
    lobbyEmpty.hidden = lobby.length > 0;
    lockButton.setAttribute("aria-pressed", String(locked));
    lockToggle.state.textContent = locked ? "Locked" : "Off";
    lobbyButton.setAttribute("aria-pressed", String(lobbyEnabled));
    lobbyToggle.state.textContent = lobbyEnabled ? "On" : "Off";
  }

  function renderAll() {
    renderRoster();
    renderHands();
    renderFacilitator();
    renderTiles();
    updateControls();
  }

  function applyRoom(room) {
    if (!room || typeof room !== "object") return;
    if (Array.isArray(room.participants)) {
      participants = new Map(room.participants.filter((p) => p && p.user_id).map((p) => [p.user_id, p]));
    }
    if (Array.isArray(room.hands)) hands = room.hands.slice();
    if (Array.isArray(room.lobby)) lobby = room.lobby.slice();
    if (typeof room.locked === "boolean") locked = room.locked;
    if (typeof room.lobby_enabled === "boolean") lobbyEnabled = room.lobby_enabled;
  }

  // -- phases -----------------------------------------------------------------------------------------
  function showPhase() {
    const aside = phase === "over" || phase === "agreement" || !prejoinDone;
    prejoin.hidden = prejoinDone || phase === "over";
    if (phase !== "agreement") agreement.hide();
    waiting.hidden = phase !== "waiting";
    over.hidden = phase !== "over";
    layout.hidden = aside;
    people.hidden = phase !== "joined";
    controls.hidden = aside;
    support.setVisible((phase === "joined" || phase === "waiting") && !isFacilitator());
    if (phase !== "joined") chat.leave();
    renderFacilitator();
    updateControls();
  }

  function enterRoom(payload) {
    const me = payload.self || {};
    self = { user_id: me.user_id, peer_id: me.peer_id, role: me.role };
    applyRoom(payload.room);
    phase = "joined";
    connection.textContent = "You are in the room.";
    later(() => {
      if (phase === "joined" && connection.textContent === "You are in the room.") connection.textContent = "";
    }, 4000);
    syncMediaOnEntry();
    // A fresh entry (also after a reconnect, with a new peer id): whatever was open closes, and the media starts
    // the way the room's goes: as the newcomer of a mesh, or with an offer to the forwarder.
    mediaEvent({ type: "enter", media: payload.media });
    // After the media started: anyone who joined after us is the newcomer of a mesh and offers to us.
    for (const apply of earlyRoster.splice(0)) apply();
    showPhase();
    renderAll();
    chat.enter(payload.chat); // loads the history, or catches up after a reconnect
    if (isFacilitator()) programConsole.seed().then(() => renderFacilitator());
  }

  function goWaiting(detail) {
    phase = "waiting";
    earlyRoster.length = 0;
    dropMedia();
    participants = new Map();
    hands = [];
    lobby = [];
    connection.textContent = "";
    if (detail) waitingDetail.textContent = detail;
    showPhase();
  }

  // The end of this visit to the room (ended, removed, denied, refused).
  function finish(message, { retry = false } = {}) {
    phase = "over";
    earlyRoster.length = 0;
    dropMedia();
    overTitle.textContent = message;
    retryButton.hidden = !retry;
    connection.textContent = "";
    notice.replaceChildren();
    if (!retry) {
      stopStream(localStream);
      localStream = null;
      localVideo.srcObject = null;
      localTile.hidden = true;
      socket?.disconnect();
    }
    showPhase();
    overTitle.focus();
  }

  retryButton.addEventListener("click", () => {
    retryButton.hidden = true;
    phase = "connecting";
    showPhase();
    join();
  });

  // The room opens later: say when in the person's own time, and join by itself then if that is soon.
  function notOpenYet(ack) {
    finish(opensMessage(ack.opens_at), { retry: true });
    const opens = parseTime(ack.opens_at);
    const wait = opens ? opens.getTime() - Date.now() : Infinity;
    if (wait > 0 && wait < AUTO_JOIN_WITHIN_MS) {
      later(() => {
        if (phase !== "over" || signal.aborted || left) return;
        retryButton.hidden = true;
        phase = "connecting";
        showPhase();
        join();
      }, wait + 1000);
    }
  }

  async function join() {
    await mediaReady;
    if (!prejoinDone) {
      showPhase();
      prejoin.querySelector("#prejoin-title")?.focus();
      await prejoinGate;
    }
    if (signal.aborted || phase === "over" || left) return;
    const ack = await request("room:join", { room_id: roomId });
    if (signal.aborted || phase === "over" || left) return;
    if (!ack.ok) {
      const code = ack.error?.code;
      if (code === "offline" || code === "timeout") return; // the next connect joins again
      if (code === "agreement_required") {
        phase = "agreement";
        connection.textContent = "";
        showPhase();
        agreement.show(ack.agreement);
        return;
      }
      if (code === "room_not_open") {
        notOpenYet(ack);
        return;
      }
      finish(messageOf(ack, "You cannot join this room right now."), { retry: RETRYABLE.has(code) });
      return;
    }
    if (ack.status === "waiting") {
      self = { user_id: ack.self?.user_id, peer_id: ack.self?.peer_id, role: null };
      goWaiting();
    } else if (ack.status === "joined") {
      enterRoom(ack);
    }
  }

  leaveButton.addEventListener("click", async () => {
    leaveButton.disabled = true;
    if (phase === "joined" || phase === "waiting") await request("room:leave", { room_id: roomId });
    left = true;
    navigate("#/groups");
  });

  // -- facilitator actions ----------------------------------------------------------------------------
  people.addEventListener("click", async (event) => {
    const btn = event.target.closest?.("button[data-action]");
    if (!btn || !people.contains(btn) || phase !== "joined") return;
    const userId = btn.dataset.userId;
    const target = { room_id: roomId, user_id: userId };
    const who = nameOf(userId);
    switch (btn.dataset.action) {
      case "mute-audio":
        await act("room:mute", { ...target, kind: "audio" });
        break;
      case "mute-video":
        await act("room:mute", { ...target, kind: "video" });
        break;
      case "ask-unmute-audio":
      case "ask-unmute-video": {
        const kind = btn.dataset.action.endsWith("video") ? "video" : "audio";
        const ack = await act("room:ask_unmute", { ...target, kind });
        if (ack.ok) showNotice(`We asked ${who} to turn their ${KIND_WORD[kind]} back on when they are ready.`);
        break;
      }
      case "lower-hand":
        await act("hand:lower", target);
        break;
      case "send-to-lobby":
        await act("room:send_to_lobby", target);
        break;
      case "remove":
        if (!window.confirm(`Remove ${who} from this session? They can come back only if a facilitator admits them.`)) {
          return;
        }
        await act("room:remove", target);
        break;
      case "admit":
        await act("room:admit", target);
        break;
      case "deny":
        await act("room:deny", target);
        break;
      default:
        break;
    }
  });

  lockButton.addEventListener("click", () => act("room:lock", { room_id: roomId, locked: !locked }));
  lobbyButton.addEventListener("click", () => act("room:lobby", { room_id: roomId, enabled: !lobbyEnabled }));
  endButton.addEventListener("click", () => {
    if (!window.confirm("End this session for everyone in the room and the waiting room?")) return;
    act("room:end", { room_id: roomId });
  });

  // -- the connection ---------------------------------------------------------------------------------
  socket = io(location.origin, {
    auth: (cb) => cb({ token: getToken() }),
    transports: ["websocket"],
    reconnectionDelayMax: 5000,
  });

  const forThisRoom = (handler) => (data) => {
    if (signal.aborted || !data || typeof data !== "object" || data.room_id !== roomId) return;
    handler(data);
  };

  socket.on("connect", () => {
    if (connectErrorShown) setAlert(error, "");
    connectErrorShown = false;
    if (phase !== "joined") connection.textContent = phase === "over" ? "" : "Connected. Joining…";
    join();
  });

  socket.on("connect_error", (err) => {
    if (signal.aborted) return;
    const data = err?.data;
    if (data && typeof data.message === "string") {
      setAlert(error, data.message);
      connectErrorShown = true;
      connection.textContent = "";
      // A refused connect is not retried by Socket.IO itself. `busy`: the server's hint (with a jitter) is the wait.
      const busyWait = busyReconnectDelay(data);
      if (busyWait !== null) later(() => socket && !socket.connected && socket.connect(), busyWait);
      else if (data.code === "unavailable") later(() => socket && !socket.connected && socket.connect(), 1500);
      else if (data.code === "not_authenticated") finish("Please sign in again to join the room.");
    } else {
      setAlert(error, "Could not reach Haven. Trying again…");
      connectErrorShown = true;
    }
  });

  socket.on("disconnect", (reason) => {
    if (signal.aborted || phase === "over" || reason === "io client disconnect") return;
    connection.textContent = "Connection lost. Reconnecting…";
    // The server closed us (e.g. it is restarting): connect again; another node answers.
    if (reason === "io server disconnect") later(() => socket && !socket.connected && socket.connect(), 1000);
  });

  socket.on("room:admitted", forThisRoom((payload) => {
    if (phase !== "waiting" && phase !== "connecting") return;
    enterRoom(payload);
    heading.focus();
  }));
  socket.on("room:denied", forThisRoom(() => finish("A facilitator did not let you in this time.")));
  socket.on("room:waiting", forThisRoom(() => goWaiting("A facilitator moved you to the waiting room. "
    + "You will come back in when they let you in.")));
  socket.on("room:removed", forThisRoom(() => finish("A facilitator removed you from this session.")));
  socket.on("room:ended", forThisRoom(() => finish("This session has ended. Thank you for being here.")));
  socket.on("room:superseded", forThisRoom(() =>
    finish("You joined this room from another window or device, so this window has left it.")));

  // A roster event: applied when in the room, kept for the entry while it may be on its way.
  const rosterEvent = (handler) => forThisRoom((data) => {
    if (phase === "joined") handler(data);
    else if ((phase === "connecting" || phase === "waiting") && earlyRoster.length < 200) {
      earlyRoster.push(() => handler(data));
    }
  });

  socket.on("room:participant_joined", rosterEvent(({ participant }) => {
    if (phase !== "joined" || !participant?.user_id) return;
    participants.set(participant.user_id, participant);
    renderAll(); // the newcomer will offer to us
  }));

  socket.on("room:participant_updated", rosterEvent(({ participant }) => {
    if (phase !== "joined" || !participant?.user_id) return;
    const before = participants.get(participant.user_id);
    participants.set(participant.user_id, participant);
    if (participant.user_id !== self?.user_id && before?.peer_id && before.peer_id !== participant.peer_id) {
      mesh?.close(before.peer_id); // they came back on a new connection and will offer again
    }
    renderAll();
  }));

  socket.on("room:participant_left", rosterEvent(({ user_id: userId }) => {
    if (phase !== "joined" || userId === self?.user_id) return;
    const before = participants.get(userId);
    participants.delete(userId);
    hands = hands.filter((id) => id !== userId);
    if (before?.peer_id) mesh?.close(before.peer_id);
    const stray = mesh?.peerForUser(userId);
    if (stray) mesh.close(stray.id);
    mediaEvent({ type: "member_left", userId }); // in a forwarded room their tile goes; the forwarder ends their tracks
    renderAll();
  }));

  socket.on("room:lobby", forThisRoom(({ waiting: list }) => {
    lobby = Array.isArray(list) ? list : [];
    renderFacilitator();
  }));

  socket.on("hand:queue", forThisRoom(({ queue }) => {
    hands = Array.isArray(queue) ? queue.slice() : [];
    if (phase === "joined") renderAll();
  }));

  socket.on("room:locked", forThisRoom(({ locked: value }) => {
    locked = Boolean(value);
    if (phase === "joined") renderAll();
  }));

  socket.on("room:settings", forThisRoom(({ lobby_enabled: value }) => {
    lobbyEnabled = Boolean(value);
    renderFacilitator();
  }));

  socket.on("room:state", forThisRoom(({ room }) => {
    if (phase !== "joined") return;
    applyRoom(room);
    // Connections to anyone no longer there, or there on another connection, are finished.
    for (const peer of [...(mesh?.peers.values() || [])]) {
      const p = participants.get(peer.userId || userOfPeer(peer.id));
      if (!p || p.peer_id !== peer.id) mesh.close(peer.id);
    }
    renderAll();
  }));

  // The room's media changed way (mesh to forwarder) or its forwarder moved: the old connections close, the new open.
  socket.on("room:media", forThisRoom(({ media: next }) => {
    if (phase !== "joined" || !next || typeof next !== "object") return;
    mediaEvent({ type: "media", media: next });
    renderAll();
  }));

  socket.on("room:speakers", forThisRoom(({ user_ids: userIds }) => {
    if (phase !== "joined") return;
    mediaEvent({ type: "speakers", userIds });
    renderTiles();
  }));

  socket.on("room:muted", forThisRoom(({ kind }) => {
    if (!KINDS.includes(kind)) return;
    const track = trackOf(localStream, kind);
    if (track) track.enabled = false;
    updateControls();
    const after = group?.self_unmute_allowed === false
      ? " A facilitator can ask you to turn it back on."
      : group?.self_unmute_allowed === true ? " You can turn it back on when you are ready." : "";
    showNotice(`A facilitator muted your ${KIND_WORD[kind]}.${after}`, [], kind);
  }));

  socket.on("room:unmute_requested", forThisRoom(({ kind }) => {
    if (!KINDS.includes(kind)) return;
    const track = trackOf(localStream, kind);
    const actions = track
      ? [button(`Turn ${KIND_WORD[kind]} on`, { id: "accept-unmute", class: "button", onclick: () => turnOn(kind) })]
      : [];
    showNotice(`A facilitator invited you to turn your ${KIND_WORD[kind]} back on, if you would like to.`, actions, kind);
  }));

  // The program's events: check-ins and support requests reach facilitators only; an acknowledgement reaches the
  // facilitators and the member who asked.
  socket.on("lobby:checkin", forThisRoom((data) => {
    programConsole.received("checkin", data);
    renderFacilitator();
  }));
  socket.on("support:requested", forThisRoom((data) => programConsole.received("support_requested", data)));
  socket.on("support:acknowledged", forThisRoom((data) => {
    if (isFacilitator()) programConsole.received("support_acknowledged", data);
    else support.acknowledged(data);
  }));

  socket.on("chat:message", (message) => {
    if (!signal.aborted) chat.received(message);
  });
  socket.on("chat:deleted", (data) => {
    if (!signal.aborted) chat.deleted(data);
  });
  socket.on("chat:typing", (data) => {
    if (!signal.aborted) chat.typing(data);
  });

  socket.on("rtc:signal", (message) => {
    if (!signal.aborted && phase === "joined") handleSignal(message);
  });

  // The token's renewal and the session's end are the app's; fresh TURN credentials are this room's.
  attachLiveSession(socket, {
    onIceServers: ({ iceServers }) => {
      if (signal.aborted) return;
      mesh?.setIceServers(iceServers);
      link?.setIceServers(iceServers);
    },
  });

  // -- leaving the view -------------------------------------------------------------------------------
  signal.addEventListener("abort", () => {
    if (!left && socket?.connected && (phase === "joined" || phase === "waiting")) {
      socket.emit("room:leave", { room_id: roomId });
    }
    for (const t of timers) clearTimeout(t);
    timers.clear();
    dropMedia();
    chat.destroy();
    stopStream(localStream);
    localStream = null;
    localVideo.srcObject = null;
    socket?.removeAllListeners();
    socket?.disconnect();
    socket = null;
    peersRegistry.clear();
    if (window.havenPeers === peersRegistry) delete window.havenPeers;
    root.classList.remove("view-wide");
  }, { once: true });

  showPhase();
}
