// The call line: this tab's own Socket.IO connection for one-on-one calls, open while someone is signed in.
// It keeps the contacts and their live status, and carries out what the call state (state.js) asks for: requests
// to the server, the camera and microphone, and the peer connection (peer.js). Views and the call panel read it
// and subscribe to its changes; they never touch the socket.
import { io } from "socket.io-client";
import { getCalls, getContacts } from "../api.js";
import { setAttention } from "../attention.js";
import { getToken } from "../session.js";
import { attachLiveSession } from "../live-session.js";
import { busyReconnectDelay } from "../busy-retry.js";
import { createRequest } from "../socket-request.js";
import { deviceIdOf, openStream, openTrack, savedChoice, stopStream, trackOf } from "../devices/devices.js";
import { problemOf, problemText } from "../devices/choice.js";
import { createMissedCalls, RECORDS_TO_READ } from "./missed.js";
import { CallPeer } from "./peer.js";
import { DEFAULT_RING_SECONDS, IDLE, isUp, Phase, RING_MARGIN_SECONDS, step } from "./state.js";

// The server keeps a dropped side's place for HAVEN_GRACE_SECONDS (30 by default); past this it is surely over.
const AWAY_LIMIT_MS = 60000;
const RECONNECT_AFTER_REFUSAL_MS = 3000;
// How long an invite that timed out may still ring on the other side unseen: the ring time and a margin.
const STRAY_INVITE_MS = 60000;
// Camera turned off in a call: a moment of black frames goes out first (so the other side is not left with a frozen
// face), then the camera itself stops and its light goes off.
const CAMERA_STOP_AFTER_MS = 1000;
const CAMERA_PROBLEM = {
  denied: "Haven is not allowed to use your camera now. You can allow it in the browser's site settings.",
  unavailable: "Your camera could not be turned back on. Another app may be using it.",
};
const MAX_EARLY_SIGNALS = 200;
// The call in progress, so that a reload in the middle of it resumes it (the tab's own storage, like the token).
const CALL_KEY = "haven.call";
const CALL_EVENTS = ["incoming", "accepted", "declined", "ended", "reconnecting", "resumed"];
// Events of the same connection that other parts of the client follow through line.on() (direct messages);
// "connect" tells them the connection (re)opened, so they read again what they may have missed.
const RELAYED_EVENTS = ["chat:message", "chat:read", "chat:typing", "chat:deleted"];

function byName(a, b) {
  return String(a.display_name).localeCompare(String(b.display_name)) || String(a.user_id).localeCompare(b.user_id);
}

function readSavedCall() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CALL_KEY) || "null");
    return saved && typeof saved === "object" ? saved : null;
  } catch {
    return null;
  }
}

function writeSavedCall(value) {
  try {
    if (value) sessionStorage.setItem(CALL_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(CALL_KEY);
  } catch {
    // storage disabled: a reload simply ends the call
  }
}

export function createCallLine() {
  let state = IDLE;
  let socket = null;
  let me = null;
  let contacts = [];
  let contactsLoaded = false;
  let contactsError = null;
  let contactsAbort = null;
  let statusWhileLoading = null; // contact:status events seen while the list is on its way
  let peer = null;
  let peerGeneration = 0;
  let localStream = null;
  let mediaProblem = null;
  let mediaReady = null; // the camera and microphone being opened (a promise), or null
  let outputDeviceId = null; // the speakers chosen for this call, or null for the default
  // The device check before placing or answering a call: {kind: "dial", contact} or {kind: "answer", callId}.
  let preparing = null;
  let early = []; // rtc:signal messages for a peer connection that does not exist yet
  let awayTimer = null;
  let retryTimer = null;
  let ringTimer = null; // stops a ring whose call:ended never came
  let ringTimerCall = null;
  let strayTimer = null;
  let paused = false;
  let cameraOpening = false; // the camera is being turned back on
  const listeners = new Set();
  const relays = new Map(); // event name -> Set of handlers (line.on)
  const relay = (name, data) => {
    for (const fn of [...(relays.get(name) || [])]) fn(data);
  };

  function notify() {
    for (const listener of [...listeners]) listener();
  }

  const missed = createMissedCalls({
    load: () => getCalls(RECORDS_TO_READ),
    storage: (() => {
      try {
        return globalThis.localStorage || null;
      } catch {
        return null;
      }
    })(),
    onChange: (count) => {
      setAttention("calls", count);
      notify();
    },
  });

  // Another tab of this browser marked the missed calls seen: the count here clears too.
  globalThis.addEventListener?.("storage", (event) => missed.storageChanged(event.key));

  // -- requests -------------------------------------------------------------------------------------------
  // Every request goes through socket-request.js: a `busy` refusal is sent again there, after the server's hint.
  const request = createRequest(() => socket);

  function sendSignal(message) {
    if (!socket?.connected) return; // the resume after reconnecting starts afresh
    request("rtc:signal", message).then((ack) => {
      if (ack.ok === false) console.debug("haven: call signal refused", ack.error?.code);
    });
  }

  // -- the call state and its effects -----------------------------------------------------------------------
  function dispatch(event) {
    const before = state;
    const { state: next, effects } = step(state, event);
    state = next;
    for (const effect of effects) run(effect);
    if (next === before) return;
    if (preparing?.kind === "answer" && (next.phase !== Phase.RINGING || next.callId !== preparing.callId)) {
      preparing = null; // the call stopped ringing (or was answered elsewhere) while the person checked devices
    }
    if (next.phase === Phase.ENDED && before.phase === Phase.RINGING && next.role === "callee" && !next.bySelf
      && (next.reason === "missed" || next.reason === "cancelled")) {
      missed.addLive(next.callId);
    }
    if (next.phase !== Phase.RINGING && next.phase !== Phase.ANSWERED) early = [];
    if (next.phase === Phase.ANSWERED && next.away === "self") {
      awayTimer ??= setTimeout(() => {
        awayTimer = null;
        dispatch({ type: "away_too_long" });
      }, AWAY_LIMIT_MS);
    } else if (awayTimer) {
      clearTimeout(awayTimer);
      awayTimer = null;
    }
    watchRing(next);
    if (next.strayInvite && !before.strayInvite) {
      clearTimeout(strayTimer);
      strayTimer = setTimeout(() => dispatch({ type: "stray_over" }), STRAY_INVITE_MS);
    } else if (!next.strayInvite && strayTimer) {
      clearTimeout(strayTimer);
      strayTimer = null;
    }
    notify();
  }

  // A ringing call stops ringing here after its ring time and a margin, even when its call:ended is lost.
  function watchRing(current) {
    const ringing = current.phase === Phase.RINGING ? current.callId : null;
    if (ringing === ringTimerCall) return;
    clearTimeout(ringTimer);
    ringTimer = null;
    ringTimerCall = ringing;
    if (!ringing) return;
    const seconds = (current.ringSeconds ?? DEFAULT_RING_SECONDS) + RING_MARGIN_SECONDS;
    ringTimer = setTimeout(() => {
      ringTimer = null;
      dispatch({ type: "ring_over", callId: ringing });
    }, seconds * 1000);
  }

  function run(effect) {
    switch (effect.type) {
      case "emit":
        request(effect.event, effect.payload).then((ack) => {
          if (effect.ack) dispatch({ type: effect.ack, ack });
        });
        break;
      case "open_media":
        openMedia();
        break;
      case "stop_media":
        stopMedia();
        break;
      case "peer":
        startPeer(effect.offer);
        break;
      case "close_peer":
        closePeer();
        break;
      case "remember":
        writeSavedCall({ call_id: state.callId, role: state.role, other: state.other });
        break;
      case "forget":
        writeSavedCall(null);
        break;
      case "ice_servers":
        peer?.setIceServers(effect.iceServers);
        break;
      default:
        break;
    }
  }

  // Without a pre-join (a call resumed after a reload), the saved devices open as the person last chose them.
  function openMedia() {
    if (mediaReady) return mediaReady;
    const saved = savedChoice();
    const ready = openStream({ audio: { deviceId: saved?.audioDeviceId || null },
      video: { deviceId: saved?.videoDeviceId || null } }).then(({ stream, status }) => {
      if (mediaReady !== ready) {
        stopStream(stream); // the call ended while the camera was opening
        return;
      }
      const audio = trackOf(stream, "audio");
      const video = trackOf(stream, "video");
      if (audio && saved?.audio === false) audio.enabled = false;
      if (video && saved?.video === false) video.enabled = false;
      localStream = stream;
      outputDeviceId = saved?.outputDeviceId || null;
      mediaProblem = problemText(problemOf(status)) || null;
      notify();
    });
    mediaReady = ready;
    return ready;
  }

  // The camera and microphone the person chose in the pre-join become the call's.
  function adopt(choice) {
    stopMedia();
    localStream = choice?.stream || null;
    outputDeviceId = choice?.outputDeviceId || null;
    mediaProblem = localStream ? null
      : "You are in this call without a camera or microphone. You can see and hear, but the other person cannot.";
    mediaReady = Promise.resolve();
  }

  function stopMedia() {
    mediaReady = null;
    stopStream(localStream);
    localStream = null;
    mediaProblem = null;
  }

  // A device switched during the call: the new track goes in the local stream and on the peer connection's sender.
  function replaceTrack(kind, track) {
    if (!localStream) localStream = new MediaStream();
    const old = trackOf(localStream, kind);
    // Another camera chosen while the camera is off (stopped): it stays off, and dark, until turned on.
    if (kind === "video" && track && old?.readyState === "ended" && !track.enabled) track.stop();
    if (old && old !== track) localStream.removeTrack(old);
    if (track && !localStream.getTracks().includes(track)) localStream.addTrack(track);
    peer?.replaceTrack(kind, track);
    notify();
  }

  async function startPeer(offer) {
    closePeer();
    const generation = peerGeneration;
    await (mediaReady || openMedia());
    if (generation !== peerGeneration || state.phase !== Phase.ANSWERED || !state.remotePeer) return;
    const remoteId = state.remotePeer;
    const created = new CallPeer({
      remoteId,
      ...(state.media || {}),
      localStream: () => localStream,
      polite: state.role === "callee",
      restartsIce: state.role === "caller",
      send: sendSignal,
      onTrack: () => {
        if (peer === created) notify();
      },
      onLink: (link) => {
        if (peer === created) dispatch({ type: "link", link });
      },
    });
    peer = created;
    if (offer) created.start();
    const held = early.filter((m) => m.from === remoteId);
    early = early.filter((m) => m.from !== remoteId);
    for (const message of held) created.handle(message);
    notify();
  }

  function closePeer() {
    peerGeneration += 1;
    peer?.close();
    peer = null;
  }

  // -- contacts -------------------------------------------------------------------------------------------
  async function loadContacts() {
    contactsAbort?.abort();
    const abort = new AbortController();
    contactsAbort = abort;
    const seen = new Map();
    statusWhileLoading = seen;
    try {
      const data = await getContacts(abort.signal);
      if (abort.signal.aborted) return;
      const list = Array.isArray(data?.contacts) ? data.contacts.filter((c) => c && typeof c.user_id === "string") : [];
      contacts = list.map((c) => (seen.has(c.user_id) ? { ...c, status: seen.get(c.user_id) } : c)).sort(byName);
      contactsLoaded = true;
      contactsError = null;
    } catch (err) {
      if (err?.name === "AbortError" || abort.signal.aborted) return;
      contactsError = err?.message || "Your contacts could not be loaded.";
    } finally {
      if (statusWhileLoading === seen) statusWhileLoading = null;
      if (contactsAbort === abort) contactsAbort = null;
    }
    notify();
  }

  function contactStatus(data) {
    if (!data || typeof data.user_id !== "string" || typeof data.status !== "string") return;
    statusWhileLoading?.set(data.user_id, data.status);
    let changed = false;
    contacts = contacts.map((c) => {
      if (c.user_id !== data.user_id || c.status === data.status) return c;
      changed = true;
      return { ...c, status: data.status };
    });
    if (changed) notify();
  }

  // -- the connection -------------------------------------------------------------------------------------
  function connect() {
    socket = io(location.origin, {
      auth: (cb) => cb({ token: getToken() }),
      transports: ["websocket"],
      reconnectionDelayMax: 5000,
    });
    const mine = socket;
    const later = (ms) => {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        if (socket === mine && !mine.connected) mine.connect();
      }, ms);
    };
    mine.on("connect", () => {
      dispatch({ type: "connection_back" });
      loadContacts(); // statuses may have changed while we were away: events are delivered at most once
      missed.refresh(); // a call may have rung out while this tab was away (or in a group room)
      relay("connect", null);
    });
    for (const name of RELAYED_EVENTS) mine.on(name, (data) => relay(name, data));
    mine.on("disconnect", (reason) => {
      if (reason === "io client disconnect") return;
      dispatch({ type: "connection_lost" });
      if (reason === "io server disconnect") later(1000); // e.g. a node shutting down: another answers
    });
    mine.on("connect_error", (err) => {
      const code = err?.data?.code;
      if (code === "not_authenticated") stop(); // the next REST call signs the person out
      // Refused by the server: no automatic retry follows. `busy` says when to come back (with a jitter).
      else if (code) later(busyReconnectDelay(err.data) ?? RECONNECT_AFTER_REFUSAL_MS);
    });
    for (const name of CALL_EVENTS) {
      mine.on(`call:${name}`, (data) => dispatch({ type: name, data, selfPeer: mine.id }));
    }
    mine.on("contact:status", contactStatus);
    attachLiveSession(mine, { onIceServers: (media) => dispatch({ type: "ice_servers", media }) });
    mine.on("rtc:signal", (message) => {
      if (!message || typeof message.from !== "string") return;
      if (state.phase !== Phase.RINGING && state.phase !== Phase.ANSWERED) return;
      // While our own connection is away, the old peer connection is finished even if the other side's peer id
      // is unchanged: their new offer may come before our resume is acknowledged, and is for the new connection.
      if (peer && state.away !== "self" && message.from === peer.remoteId) peer.handle(message);
      else if (early.length < MAX_EARLY_SIGNALS) early.push(message);
    });
  }

  function start(user) {
    if (!user || me?.id === user.id) return;
    stop();
    me = user;
    missed.start(user.id);
    const saved = readSavedCall();
    if (saved) dispatch({ type: "restore", call: saved });
    if (!paused) connect();
    notify();
  }

  function disconnect() {
    clearTimeout(retryTimer);
    socket?.removeAllListeners();
    socket?.disconnect();
    socket = null;
  }

  // While this tab is in a group room it holds no call line: the room's own connection shows the person online,
  // and someone in a group is busy for calls anyway. A call that is up is never paused (nor is a room opened then).
  function setPaused(value) {
    const pause = Boolean(value);
    if (pause === paused || (pause && isUp(state))) return;
    paused = pause;
    if (preparing) {
      preparing = null; // a group room is opening: the device check for a call is dropped
      notify();
    }
    if (!me) return;
    if (paused) {
      if (state.phase === Phase.RINGING) dispatch({ type: "connection_lost" }); // it rings on the other devices
      disconnect();
    } else if (!socket) {
      connect();
    }
  }

  // Signing out (or leaving the app): a call in progress is ended, never left ringing or open.
  function stop() {
    if (!socket && !me) return;
    if (state.phase !== Phase.IDLE && state.phase !== Phase.ENDED) dispatch({ type: "hangup" });
    clearTimeout(awayTimer);
    clearTimeout(retryTimer);
    clearTimeout(ringTimer);
    clearTimeout(strayTimer);
    awayTimer = null;
    ringTimer = null;
    ringTimerCall = null;
    strayTimer = null;
    contactsAbort?.abort();
    closePeer();
    stopMedia();
    writeSavedCall(null);
    disconnect();
    me = null;
    preparing = null;
    missed.stop();
    state = IDLE;
    contacts = [];
    contactsLoaded = false;
    contactsError = null;
    early = [];
    notify();
  }

  // Pre-join before a call: "dial" a contact, or "answer" the call ringing now. The call panel shows the device
  // check while `preparing` is set; dial(contact, choice) / accept(choice) / decline() end it.
  function prepare(kind, contact = null) {
    const phase = state.phase;
    if (kind === "dial" && contact && (phase === Phase.IDLE || phase === Phase.ENDED)) {
      preparing = { kind, contact };
    } else if (kind === "answer" && phase === Phase.RINGING && !state.answering) {
      preparing = { kind, callId: state.callId };
    } else {
      return;
    }
    notify();
  }

  function unprepare() {
    if (!preparing) return;
    preparing = null;
    notify();
  }

  // Places the call; `choice` is the pre-join's (its stream becomes the call's), or none to open the saved devices.
  function dial(contact, choice = null) {
    preparing = null;
    const phase = state.phase;
    if (phase !== Phase.IDLE && phase !== Phase.ENDED) {
      stopStream(choice?.stream);
      notify();
      return;
    }
    if (choice) adopt(choice);
    dispatch({ type: "dial", contact });
    if (state.phase !== Phase.CALLING) {
      stopMedia();
      notify();
    }
  }

  function accept(choice = null) {
    preparing = null;
    if (state.phase !== Phase.RINGING || state.answering) {
      stopStream(choice?.stream);
      notify();
      return;
    }
    if (choice) adopt(choice);
    dispatch({ type: "accept" });
  }

  // The speakers chosen during the call (the device menu); the panel sends the other person's sound there.
  function setOutput(deviceId) {
    const next = deviceId || null;
    if (next === outputDeviceId) return;
    outputDeviceId = next;
    notify();
  }

  function toggle(kind) {
    const track = trackOf(localStream, kind);
    if (!track) return;
    if (kind === "video" && track.readyState === "ended") {
      cameraBackOn(track);
      return;
    }
    track.enabled = !track.enabled;
    if (kind === "video" && !track.enabled) {
      setTimeout(() => {
        if (!track.enabled && trackOf(localStream, "video") === track) {
          track.stop();
          notify();
        }
      }, CAMERA_STOP_AFTER_MS);
    }
    notify();
  }

  // The camera was stopped when turned off: it is opened again (the same one, or the default if it is gone) and put
  // on the connection in place of the stopped track.
  async function cameraBackOn(old) {
    if (cameraOpening) return;
    cameraOpening = true;
    const stream = localStream;
    const wanted = deviceIdOf(old) || savedChoice()?.videoDeviceId || null;
    try {
      let track;
      try {
        track = await openTrack("video", wanted);
      } catch (err) {
        if (!wanted || err?.problem === "denied") throw err;
        track = await openTrack("video", null);
      }
      if (localStream !== stream || trackOf(localStream, "video") !== old || !isUp(state)) {
        track.stop(); // the call ended, or its camera changed, meanwhile
        return;
      }
      track.enabled = true;
      if (Object.values(CAMERA_PROBLEM).includes(mediaProblem)) mediaProblem = null;
      replaceTrack("video", track);
    } catch (err) {
      mediaProblem = CAMERA_PROBLEM[err?.problem === "denied" ? "denied" : "unavailable"];
      notify();
    } finally {
      cameraOpening = false;
    }
  }

  return {
    get state() {
      return state;
    },
    get me() {
      return me;
    },
    get contacts() {
      return contacts;
    },
    get contactsLoaded() {
      return contactsLoaded;
    },
    get contactsError() {
      return contactsError;
    },
    get localStream() {
      return localStream;
    },
    get mediaProblem() {
      return mediaProblem;
    },
    get outputDeviceId() {
      return outputDeviceId;
    },
    get preparing() {
      return preparing;
    },
    // The ids of calls missed since the person last opened the Mentor calls page (newest first).
    get missedCalls() {
      return missed.ids;
    },
    markCallsSeen: () => missed.markSeen(),
    get remoteStream() {
      return peer?.remoteStream || null;
    },
    get peerConnection() {
      return peer?.pc || null;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // Whether the line's connection is open now (it is closed while this tab is in a group room).
    get connected() {
      return Boolean(socket?.connected);
    },
    // fn(data) for each `event` (one of RELAYED_EVENTS, or "connect"); returns the function that stops it.
    on(event, fn) {
      if (!relays.has(event)) relays.set(event, new Set());
      relays.get(event).add(fn);
      return () => relays.get(event)?.delete(fn);
    },
    // A request on the line's connection (acknowledged; `busy` is retried): {ok: false, error: {code: "offline"}}
    // while it is closed.
    request: (event, payload) => request(event, payload),
    start,
    stop,
    setPaused,
    refreshContacts: loadContacts,
    prepare,
    unprepare,
    dial,
    accept,
    decline: () => {
      preparing = null;
      dispatch({ type: "decline" });
      notify();
    },
    hangup: () => dispatch({ type: "hangup" }),
    dismiss: () => dispatch({ type: "dismiss" }),
    toggle,
    setOutput,
    replaceTrack,
    restartIce: () => peer?.restartIce(),
  };
}
