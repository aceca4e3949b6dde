// The group room: the pre-join (camera, microphone, speakers), then the lobby or the room itself: the video stage,
// the control bar, chat and people in a side panel, and the facilitator's console. This module only wires the parts
// together: what the room is (phase, roster, hands, lobby, panel) is room/state.js's reducer of protocol events, the
// media connections are room/media-session.js, and each part of the page is a small view in room/. Everything the
// server sends is shown through text nodes (dom.js); nothing is parsed as HTML.
import { io } from "socket.io-client";
import { getGroup } from "../api.js";
import { busyReconnectDelay } from "../busy-retry.js";
import { createDeviceMenu } from "../devices/devices.js";
import { createPrejoin } from "../devices/prejoin.js";
import { h, setAlert } from "../dom.js";
import { createHelpBox } from "../help.js";
import { attachLiveSession } from "../live-session.js";
import { opensMessage, parseTime } from "../program/when.js";
import { createAgreementCard } from "../room/agreement.js";
import { createAnnouncer } from "../room/announcer.js";
import { createChat } from "../room/chat.js";
import { ARRIVAL_NOTES, chime } from "../room/chime.js";
import { createCheckinForm } from "../room/checkin-form.js";
import { createControlBar } from "../room/control-bar.js";
import { createFacilitatorConsole } from "../room/facilitator-console.js";
import { createMediaSession } from "../room/media-session.js";
import { admitAll, admitAllSummary, askedKind, moderationRequests } from "../room/moderation.js";
import { createOutgoing } from "../room/outgoing.js";
import { canShareDisplay, createOwnMedia } from "../room/own-media.js";
import { createPeoplePanel } from "../room/people-panel.js";
import { checkinSummary, createProgramConsole } from "../room/program-console.js";
import { createSidePanel, NARROW } from "../room/side-panel.js";
import { createStage } from "../room/stage.js";
import {
  KINDS, KIND_WORD, Phase, canShareScreen, chatShown, handRaised, initialState, isFacilitator, lobbyCount,
  mutedByFacilitator, nameOf, screenSharer, stageFocus, step,
} from "../room/state.js";
import { createSupportRequest } from "../room/support-request.js";
import { getToken } from "../session.js";
import { createRequest } from "../socket-request.js";

export const title = "Group room";
export const requiresAuth = true;

// A room that opens within this long says so by itself at its opening time ("Join now").
const OPEN_PROMPT_WITHIN_MS = 12 * 3600000;
const IN_ROOM_NOTE = "You are in the room.";

function messageOf(ack, fallback = "Something went wrong. Please try again.") {
  const message = ack?.error?.message;
  return typeof message === "string" && message.trim() ? message : fallback;
}

function button(label, attrs = {}) {
  return h("button", { type: "button", class: "button", ...attrs }, label);
}

export async function render(root, { navigate, signal, params = {} }) {
  const roomId = String(params.roomId || "").toLowerCase();
  const narrow = window.matchMedia(NARROW);
  let state = initialState({ panelOpen: !narrow.matches });
  let socket = null;
  let left = false;
  let connectErrorShown = false;
  let conversation = `room:${roomId}`;
  let deviceMenu = null; // made once the pre-join chose the devices
  let visit = null; // AbortController of one pass through the pre-join and the devices it chose
  const timers = new Set();
  const peersRegistry = new Map(); // peer id -> RTCPeerConnection, for tests and debugging
  window.havenPeers = peersRegistry;
  const request = createRequest(() => socket);
  const later = (fn, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  // -- the page -----------------------------------------------------------------------------------------
  const heading = h("h2", { id: "room-title", tabindex: "-1" }, "Group room");
  const connection = h("p", { id: "room-status", class: "muted", role: "status" });
  const error = h("p", { id: "room-error", class: "alert", role: "alert", hidden: true });
  const notice = h("div", { id: "room-notice", role: "status" });
  const mediaNote = h("p", { id: "media-note", class: "card calm", hidden: true });
  const linkNote = h("p", { id: "media-link-note", class: "card calm", role: "status", hidden: true });
  const announcer = createAnnouncer();

  // Before joining: the devices (and, from a check-in link, the check-in first). Nobody sees or hears anything yet.
  // The pre-join is made afresh for each try (openPrejoin, below): the devices stop whenever a visit ends.
  const checkinFirst = params.checkinFirst
    ? h("section", { id: "checkin-first", class: "card calm stack", "aria-label": "Check in before you join" },
      createCheckinForm({ roomId, request }).el)
    : null;
  const prejoinArea = h("div", { class: "room-prejoin stack" });

  const agreement = createAgreementCard({ groupId: roomId,
    onAccepted: () => dispatch({ type: "agreement_accepted" }) });

  const waitingDetail = h("p", { id: "waiting-detail", class: "muted" });
  // Focus comes here on arriving in the lobby (the room around the person is gone); its name is the lead line.
  const waiting = h("section", { id: "waiting", class: "card calm stack", hidden: true, tabindex: "-1",
    "aria-labelledby": "waiting-lead", "aria-describedby": "waiting-detail" },
  h("p", { id: "waiting-lead", class: "waiting-lead" }, "Waiting for a facilitator to let you in."), waitingDetail,
  createCheckinForm({ roomId, request }).el, createHelpBox({ compact: true }));

  const overTitle = h("h3", { id: "room-over-title", tabindex: "-1" });
  const retryButton = button("Try again", { id: "retry-join", class: "button button-quiet", hidden: true });
  retryButton.addEventListener("click", () => dispatch({ type: "retry" }));
  const over = h("div", { id: "room-over", class: "card calm stack", hidden: true }, overTitle,
    h("div", { class: "row" }, h("a", { href: "#/groups", id: "back-to-groups", class: "button" }, "Back to my groups"),
      retryButton));

  const support = createSupportRequest({ roomId, request });
  const stage = createStage({ onLayout: (layout) => dispatch({ type: "layout", layout }) });
  const outgoing = createOutgoing({ replaceOnSenders: (kind, track) => media.replaceTrack(kind, track) });
  const media = createMediaSession({
    grid: stage.grid,
    videos: stage.videos,
    local: { figure: stage.localTile, state: stage.localState },
    request,
    localStream: () => outgoing.stream,
    room: () => state,
    onSpeakers: (userIds) => dispatch({ type: "speakers", userIds }),
    onLinkNote: (text) => setAlert(linkNote, text),
    registry: peersRegistry,
  });

  const own = createOwnMedia({ roomId, outgoing, request, act, room: () => state, changed: () => draw(),
    notice: { show: showNotice, clear: clearNotice }, showError: (text) => setAlert(error, text), signal });
  const controlBar = createControlBar({ on: onControl, support: support.button, signal });
  const closeDevices = button("Close", { class: "button button-small button-quiet", id: "close-devices" });
  const deviceHolder = h("div", {});
  const devicesPopover = h("section", { id: "devices-popover", class: "devices-popover stack",
    "aria-labelledby": "devices-title", hidden: true },
  h("div", { class: "section-head" }, h("h3", { id: "devices-title", tabindex: "-1" }, "Devices"), closeDevices),
  deviceHolder);
  controlBar.el.append(devicesPopover);
  closeDevices.addEventListener("click", () => showDevices(false));
  devicesPopover.addEventListener("keydown", (event) => {
    if (event.key === "Escape") showDevices(false);
  });

  let facilitator = null; // the console below; the program console reports open support requests to it
  const programConsole = createProgramConsole({ roomId, groupId: roomId, request,
    onChange: (open) => facilitator?.setSupportOpen(open) });
  facilitator = createFacilitatorConsole({ onAction: moderate, program: programConsole,
    checkinOf: (userId) => checkinSummary(programConsole.checkinOf(userId)) });
  const people = createPeoplePanel({ getState: () => state, onAction: moderate });
  const chat = createChat({
    conversation,
    request: (event, payload) => request(event, payload),
    showError: (message) => {
      if (!signal.aborted) setAlert(error, message);
    },
    clearError: () => setAlert(error, ""),
    getSelf: () => state.self,
    nameOf: (userId) => (state.participants.some((p) => p.user_id === userId) ? nameOf(state, userId) : null),
    onCaughtUp: (messages) => dispatch({ type: "chat_caught_up", messages }),
  });
  const side = createSidePanel({
    chat: chat.el,
    people: [facilitator.lobbySection, people.hands, people.present, facilitator.settingsSection,
      facilitator.endSection],
    footer: createHelpBox({ compact: true }),
    onTab: (tab) => dispatch({ type: "panel", open: true, tab }),
    onClose: () => {
      const tab = state.panel.tab;
      dispatch({ type: "panel", open: false });
      (tab === "chat" ? controlBar.chatButton : controlBar.peopleButton).focus();
    },
  });

  const roomMain = h("div", { class: "room-main", hidden: true }, stage.el, controlBar.el, side.el);
  const section = h("section", { class: "room stack", "aria-labelledby": "room-title" },
    h("div", { class: "room-head" }, heading, connection),
    error, notice, support.el, mediaNote, linkNote, announcer.el,
    prejoinArea, agreement.el, waiting, over, roomMain);
  root.classList.add("view-wide", "view-room");
  root.replaceChildren(section);
  heading.focus();

  getGroup(roomId, signal).then((g) => {
    if (g && typeof g.name === "string" && g.name) heading.textContent = g.name;
    dispatch({ type: "settings", data: { self_unmute_allowed: g?.self_unmute_allowed,
      screen_share_allowed: g?.screen_share_allowed } });
  }).catch(() => {
    // The join will say whether this person may be here; the heading can stay generic.
  });

  // -- the reducer, carried out -------------------------------------------------------------------------
  function dispatch(event) {
    if (signal.aborted) return;
    const before = state;
    const next = step(state, event);
    state = next.state;
    if (before.phase !== state.phase) phaseChanged(before, state);
    for (const effect of next.effects) runEffect(effect);
    draw();
  }

  function runEffect(effect) {
    switch (effect.type) {
      case "announce":
        announcer.say(effect.text);
        break;
      case "chime":
        chime(ARRIVAL_NOTES, 0.15);
        break;
      case "join":
        if (effect.delayMs) later(join, effect.delayMs); // unanswered: asked again a little later
        else join();
        break;
      case "prejoin":
        openPrejoin({ focus: true });
        break;
      case "enter":
        entered(effect);
        break;
      case "out":
        own.stopShare({ tell: false });
        media.leave();
        break;
      case "stop_media":
        visit?.abort(); // the device menu of this visit goes with its devices
        visit = null;
        deviceMenu = null;
        deviceHolder.replaceChildren();
        outgoing.stop();
        stage.setLocalStream(null, { showTile: false });
        break;
      case "disconnect":
        socket?.disconnect();
        break;
      case "close_peer":
        media.closePeer(effect.peerId, effect.userId);
        break;
      case "member_left":
        media.memberLeft(effect.userId);
        break;
      case "prune_peers":
        media.prune();
        break;
      case "mute_local":
        own.mutedByFacilitator(effect.kind);
        break;
      case "screen_ended":
        own.stopShare({ tell: false, keepOff: Boolean(effect.keepOff) });
        break;
      default:
        break;
    }
  }

  function phaseChanged(before, after) {
    if (before.phase === Phase.JOINED) chat.leave();
    if (after.phase !== Phase.AGREEMENT) agreement.hide();
    switch (after.phase) {
      case Phase.CONNECTING:
        connection.textContent = "Joining…";
        if (before.phase === Phase.PREJOIN) heading.focus();
        break;
      case Phase.AGREEMENT:
        connection.textContent = "";
        agreement.show(after.agreement);
        break;
      case Phase.WAITING:
        connection.textContent = "";
        waitingDetail.textContent = after.waitingNote || "Take your time: you join as soon as they let you in. "
          + "You can still change your camera and microphone below.";
        waiting.hidden = false;
        waiting.focus(); // the room (and whatever had focus in it) is gone; the reducer says why aloud
        break;
      case Phase.JOINED:
        if (before.phase === Phase.WAITING) heading.focus();
        break;
      case Phase.OVER:
        overEntered(after.over);
        break;
      default:
        break;
    }
  }

  // A fresh entry (also after a reconnect, with a new peer id).
  function entered({ media: roomMedia, chat: chatInfo, participants }) {
    connection.textContent = IN_ROOM_NOTE;
    later(() => {
      if (connection.textContent === IN_ROOM_NOTE) connection.textContent = "";
    }, 4000);
    own.syncOnEntry();
    media.enter({ media: roomMedia, participants });
    if (typeof chatInfo?.conversation === "string" && chatInfo.conversation) {
      conversation = chatInfo.conversation.toLowerCase();
    }
    chat.enter(chatInfo); // loads the history, or catches up after a reconnect
    if (isFacilitator(state)) programConsole.seed().then(() => draw());
  }

  // The end of this visit to the room (ended, removed, denied, refused, not open yet). The camera and microphone
  // are off by now (state.js); another try goes through the pre-join.
  function overEntered(info) {
    connection.textContent = "";
    notice.replaceChildren();
    showDevices(false);
    overTitle.textContent = info.reason === "not_open" ? opensMessage(info.opensAt) : info.message;
    retryButton.textContent = "Try again";
    retryButton.hidden = !info.retry;
    over.hidden = false;
    overTitle.focus();
    if (info.reason !== "not_open") return;
    // The room opens later: if that is soon, the page says so then and offers "Join now" (which opens the pre-join:
    // the camera does not come on by itself hours later).
    const opens = parseTime(info.opensAt);
    const wait = opens ? opens.getTime() - Date.now() : Infinity;
    if (wait > 0 && wait < OPEN_PROMPT_WITHIN_MS) {
      later(() => {
        if (state.phase !== Phase.OVER || state.over?.reason !== "not_open") return;
        overTitle.textContent = "The room is open now.";
        retryButton.textContent = "Join now";
        announcer.say("The room is open now. Join now to check your camera and microphone and go in.");
      }, wait + 1000);
    }
  }

  // -- drawing ------------------------------------------------------------------------------------------
  function draw() {
    const { phase } = state;
    const joined = phase === Phase.JOINED;
    const inStage = joined || phase === Phase.WAITING || phase === Phase.CONNECTING;
    prejoinArea.hidden = phase !== Phase.PREJOIN;
    waiting.hidden = phase !== Phase.WAITING;
    over.hidden = phase !== Phase.OVER;
    roomMain.hidden = !inStage;
    roomMain.classList.toggle("side-open", joined && state.panel.open);
    section.classList.toggle("in-stage", inStage);
    support.setVisible((joined || phase === Phase.WAITING) && !isFacilitator(state));
    chat.setShown(chatShown(state));
    controlBar.update(barView());
    side.update({ shown: joined, open: state.panel.open, tab: state.panel.tab, unread: state.unread,
      waiting: lobbyCount(state) });
    people.update(state);
    facilitator.update(state, { joined });
    drawStage();
    fitRoom();
  }

  function barView() {
    const joined = state.phase === Phase.JOINED;
    const kind = (k) => {
      const track = outgoing.device(k);
      const on = k === "video" ? outgoing.cameraOn : Boolean(track?.enabled);
      return { available: Boolean(track), on, busy: own.busy[k],
        held: joined && mutedByFacilitator(state, k), locked: k === "video" && outgoing.sharing };
    };
    return {
      audio: kind("audio"),
      video: kind("video"),
      hand: { shown: joined, raised: handRaised(state) },
      share: { shown: canShareScreen(state) && canShareDisplay(), sharing: outgoing.sharing, busy: own.starting },
      panel: state.panel,
      unread: state.unread,
      waiting: lobbyCount(state),
      inRoom: joined,
    };
  }

  function drawStage() {
    media.paint();
    const selfId = state.self?.user_id;
    if (outgoing.stream) stage.setLocalStream(outgoing.stream, { showTile: Boolean(outgoing.device("video")) });
    stage.paintLocal({ cameraOn: outgoing.cameraOn, sharing: outgoing.sharing });
    // Our own shared screen is not pinned on our own stage: the others see it, we see them.
    const view = outgoing.sharing
      ? { ...state, participants: state.participants.map((p) => (p.user_id === selfId ? { ...p, screen: false } : p)) }
      : state;
    const sharer = screenSharer(view);
    const label = outgoing.sharing ? "You are sharing your screen."
      : sharer ? `${nameOf(state, sharer.user_id)} is sharing their screen.` : null;
    stage.arrange({ focus: stageFocus(view), chosenLayout: state.layout, label, inRoom: state.phase === Phase.JOINED });
  }

  // The room fills the window below its heading: the stage and the panel take the height the control bar leaves.
  function fitRoom() {
    if (roomMain.hidden) return;
    const top = roomMain.getBoundingClientRect().top + window.scrollY;
    const value = `${Math.round(top)}px`;
    if (section.style.getPropertyValue("--room-top") !== value) section.style.setProperty("--room-top", value);
  }
  const onResize = () => {
    fitRoom();
    stage.refit();
  };
  window.addEventListener("resize", onResize);

  function showNotice(text, actions = [], kind = null) {
    notice.replaceChildren(h("div", { class: "notice", "data-kind": kind || "" },
      h("p", { class: "notice-text" }, text),
      h("div", { class: "row" }, ...actions,
        button("Dismiss", { class: "button button-quiet dismiss-notice", onclick: () => notice.replaceChildren() }))));
  }

  function clearNotice(kind) {
    const box = notice.firstElementChild;
    if (box && (!kind || box.dataset.kind === kind)) notice.replaceChildren();
  }

  // The camera and microphone themselves, for the device menu: never the shared screen that stands in the camera's
  // place (switching cameras during a share changes the camera that comes back).
  function devicesInUse() {
    return new MediaStream(KINDS.map((kind) => outgoing.device(kind)).filter(Boolean));
  }

  function showDevices(open) {
    if (open) deviceMenu?.update(devicesInUse());
    devicesPopover.hidden = !open;
    controlBar.devicesButton.setAttribute("aria-expanded", String(open));
    if (open) devicesPopover.querySelector("select, button")?.focus();
    else if (devicesPopover.contains(document.activeElement)) {
      // On a phone the Devices button sits in the folded "More" (a click in the popover folds it): focus "More".
      const opener = controlBar.devicesButton;
      (opener.getClientRects().length > 0 ? opener : controlBar.moreButton).focus();
    }
  }

  // -- talking to the server ----------------------------------------------------------------------------
  // A person's action: its refusal is shown in the alert region. (Every request goes through socket-request.js:
  // a `busy` refusal is sent again there.)
  async function act(event, payload) {
    setAlert(error, "");
    const ack = await request(event, payload);
    if (!ack.ok && !signal.aborted) setAlert(error, messageOf(ack));
    return ack;
  }

  // Only the latest join's answer counts: an older one that timed out after a reconnect's join was sent is stale.
  let joinsSent = 0;
  async function join() {
    if (signal.aborted || left || !socket?.connected) return; // the next connect joins
    if (state.phase === Phase.PREJOIN || state.phase === Phase.OVER) return;
    const mine = ++joinsSent;
    const ack = await request("room:join", { room_id: roomId });
    if (!signal.aborted && !left && mine === joinsSent) dispatch({ type: "join_ack", ack });
  }

  async function leave() {
    controlBar.el.querySelector("#leave-room").disabled = true;
    if (state.phase === Phase.JOINED || state.phase === Phase.WAITING) await request("room:leave", { room_id: roomId });
    left = true;
    navigate("#/groups");
  }

  // -- the control bar ---------------------------------------------------------------------------------
  function togglePanel(tab) {
    const shown = state.panel.open && state.panel.tab === tab;
    dispatch({ type: "panel", open: !shown, tab });
    if (!shown && narrow.matches) side.tabOf(tab).focus(); // the sheet covers the stage: go into it
  }

  function onControl(action, detail) {
    switch (action) {
      case "toggle":
        own.toggle(detail);
        break;
      case "hand":
        if (state.phase === Phase.JOINED && state.self) {
          act(handRaised(state) ? "hand:lower" : "hand:raise", { room_id: roomId });
        }
        break;
      case "share":
        own.toggleShare();
        break;
      case "chat":
      case "people":
        togglePanel(action);
        break;
      case "devices":
        showDevices(devicesPopover.hidden);
        break;
      case "leave":
        leave();
        break;
      default:
        break;
    }
  }

  // -- the facilitator's acts ---------------------------------------------------------------------------
  // -> whether it went through ({ok}); a confirm step puts focus back on its opener when it did not.
  async function moderate(action, userId) {
    if (state.phase !== Phase.JOINED) return { ok: false };
    const requests = moderationRequests(state, roomId, action, userId);
    if (action === "admit-all") return admitEveryone(requests);
    for (const { event, payload } of requests) {
      const ack = await act(event, payload);
      if (!ack.ok || signal.aborted) return ack;
      const kind = askedKind(action);
      if (kind) {
        showNotice(`We asked ${nameOf(state, userId)} to turn their ${KIND_WORD[kind]} back on when they are ready.`);
      }
    }
    return { ok: true };
  }

  // "Admit all": everyone who still waits, one after the other; the result in words (someone who left meanwhile
  // does not stop the others).
  async function admitEveryone(requests) {
    setAlert(error, "");
    const result = await admitAll(requests, request);
    if (signal.aborted) return { ok: !result.error };
    const text = admitAllSummary(result);
    if (result.error) setAlert(error, text);
    else showNotice(text);
    return { ok: !result.error };
  }

  // -- the pre-join and its choice ----------------------------------------------------------------------
  // A fresh pre-join: the first time, and for each try after a visit ended ("Try again", "Join now"; focus: go to
  // its heading, as the page under the person's focus changes).
  function openPrejoin({ focus = false } = {}) {
    visit?.abort();
    visit = new AbortController();
    const forVisit = visit.signal;
    const prejoin = createPrejoin({ purpose: "room", title: "Check your camera and microphone",
      joinLabel: "Join the room", signal: forVisit, lead: "Nobody in the room sees or hears you until you join." });
    prejoinArea.replaceChildren(...[checkinFirst, prejoin.el].filter(Boolean));
    if (focus) {
      prejoinArea.hidden = false;
      over.hidden = true;
      prejoin.el.querySelector("#prejoin-title")?.focus();
    }
    prejoin.chosen.then((choice) => {
      if (signal.aborted || forVisit.aborted || !choice) return;
      chosen(choice, forVisit);
    });
  }
  signal.addEventListener("abort", () => visit?.abort(), { once: true });

  function chosen(choice, forVisit) {
    outgoing.use(choice.stream, { videoDeviceId: choice.videoDeviceId });
    // Joining with the camera off: it is let go before entry (its light goes out); turning it on opens it again.
    outgoing.releaseCamera();
    stage.setLocalStream(outgoing.stream, { showTile: Boolean(outgoing.device("video")) });
    if (choice.outputDeviceId) stage.grid.setSink(choice.outputDeviceId);
    media.startAudio(); // the Join press lets the speaking meter's audio start
    const none = !outgoing.stream || outgoing.stream.getTracks().length === 0;
    setAlert(mediaNote, none ? "You are joining without a camera or microphone: you can still listen, watch and chat."
      : "");
    const menu = createDeviceMenu({
      stream: devicesInUse(),
      signal: forVisit,
      idPrefix: "room-device",
      onTrack: async (kind, track) => {
        await outgoing.useDevice(kind, track);
        stage.setLocalStream(outgoing.stream, { showTile: Boolean(outgoing.device("video")) });
        draw();
      },
      onOutput: (deviceId) => stage.grid.setSink(deviceId),
    });
    deviceMenu = menu;
    deviceHolder.replaceChildren(menu.el);
    dispatch({ type: "prejoin_done" });
  }
  openPrejoin();

  // -- the connection -----------------------------------------------------------------------------------
  socket = io(location.origin, {
    auth: (cb) => cb({ token: getToken() }),
    transports: ["websocket"],
    reconnectionDelayMax: 5000,
  });

  const forThisRoom = (handler) => (data) => {
    if (signal.aborted || !data || typeof data !== "object" || data.room_id !== roomId) return;
    handler(data);
  };
  const on = (event, toEvent) => socket.on(event, forThisRoom((data) => dispatch(toEvent(data))));

  socket.on("connect", () => {
    if (connectErrorShown) setAlert(error, "");
    connectErrorShown = false;
    if (state.phase === Phase.CONNECTING || state.phase === Phase.WAITING) {
      connection.textContent = "Connected. Joining…";
    }
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
      else if (data.code === "not_authenticated") dispatch({ type: "signed_out" });
    } else {
      setAlert(error, "Could not reach Haven. Trying again…");
      connectErrorShown = true;
    }
  });

  socket.on("disconnect", (reason) => {
    if (signal.aborted || state.phase === Phase.OVER || reason === "io client disconnect") return;
    if (state.phase !== Phase.PREJOIN) connection.textContent = "Connection lost. Reconnecting…";
    // The server closed us (e.g. it is restarting): connect again; another node answers.
    if (reason === "io server disconnect") later(() => socket && !socket.connected && socket.connect(), 1000);
  });

  on("room:admitted", (payload) => ({ type: "admitted", payload }));
  on("room:denied", () => ({ type: "denied" }));
  on("room:waiting", () => ({ type: "sent_to_lobby" }));
  on("room:removed", () => ({ type: "removed" }));
  on("room:ended", () => ({ type: "ended" }));
  on("room:superseded", () => ({ type: "superseded" }));
  on("room:participant_joined", ({ participant }) => ({ type: "participant_joined", participant }));
  on("room:participant_updated", ({ participant }) => ({ type: "participant_updated", participant }));
  on("room:participant_left", ({ user_id: userId }) => ({ type: "participant_left", userId }));
  on("room:lobby", ({ waiting: list }) => ({ type: "lobby", waiting: list }));
  on("hand:queue", ({ queue }) => ({ type: "hands", queue }));
  on("room:locked", ({ locked }) => ({ type: "locked", locked }));
  on("room:settings", (data) => ({ type: "settings", data }));
  on("room:state", ({ room }) => ({ type: "room_state", room }));
  on("room:muted", ({ kind }) => ({ type: "muted", kind }));

  // The room's media changed way (mesh to forwarder) or its forwarder moved: the old connections close, the new open.
  socket.on("room:media", forThisRoom(({ media: next }) => {
    if (state.phase !== Phase.JOINED || !next || typeof next !== "object") return;
    media.roomMedia(next);
    draw();
  }));

  socket.on("room:speakers", forThisRoom(({ user_ids: userIds }) => {
    if (state.phase !== Phase.JOINED) return;
    media.speakers(userIds);
    dispatch({ type: "speakers", userIds });
  }));

  socket.on("room:unmute_requested", forThisRoom(({ kind }) => {
    if (!KINDS.includes(kind)) return;
    const word = KIND_WORD[kind];
    const actions = outgoing.device(kind)
      ? [button(`Turn ${word} on`, { id: "accept-unmute", class: "button", onclick: () => own.turnOn(kind) })]
      : [];
    showNotice(`A facilitator invited you to turn your ${word} back on, if you would like to.`, actions, kind);
  }));

  // The program's events: check-ins and support requests reach facilitators only; an acknowledgement reaches the
  // facilitators and the member who asked.
  socket.on("lobby:checkin", forThisRoom((data) => {
    programConsole.received("checkin", data);
    draw();
  }));
  socket.on("support:requested", forThisRoom((data) => programConsole.received("support_requested", data)));
  socket.on("support:acknowledged", forThisRoom((data) => {
    if (isFacilitator(state)) programConsole.received("support_acknowledged", data);
    else support.acknowledged(data);
  }));

  socket.on("chat:message", (message) => {
    if (signal.aborted) return;
    chat.received(message);
    if (String(message?.conversation || "").toLowerCase() === conversation) dispatch({ type: "chat_message", message });
  });
  socket.on("chat:deleted", (data) => {
    if (!signal.aborted) chat.deleted(data);
  });
  socket.on("chat:typing", (data) => {
    if (!signal.aborted) chat.typing(data);
  });

  socket.on("rtc:signal", (message) => {
    if (!signal.aborted && state.phase === Phase.JOINED) media.handleSignal(message);
  });

  // The token's renewal and the session's end are the app's; fresh TURN credentials are this room's.
  attachLiveSession(socket, {
    onIceServers: ({ iceServers }) => {
      if (!signal.aborted) media.setIceServers(iceServers);
    },
  });

  // -- leaving the view ---------------------------------------------------------------------------------
  signal.addEventListener("abort", () => {
    if (!left && socket?.connected && (state.phase === Phase.JOINED || state.phase === Phase.WAITING)) {
      socket.emit("room:leave", { room_id: roomId });
    }
    for (const t of timers) clearTimeout(t);
    timers.clear();
    window.removeEventListener("resize", onResize);
    media.destroy();
    stage.destroy();
    chat.destroy();
    announcer.destroy();
    outgoing.stop();
    socket?.removeAllListeners();
    socket?.disconnect();
    socket = null;
    peersRegistry.clear();
    if (window.havenPeers === peersRegistry) delete window.havenPeers;
    root.classList.remove("view-wide", "view-room");
  }, { once: true });

  draw();
}
