// What a call looks like on screen, whatever view is open: the incoming-call prompt (with its ring and, in a
// background tab, a system notification), the device check before answering or placing a call, the call itself
// (both videos and a control bar pinned in reach: microphone, camera, devices, hang up) and the note that says how it
// ended. It only reads the call line and calls its actions; everything shown goes in as text (dom.js).
//
// The call area sits inside the page's <main> (index.html), beside the view: while the device check or the call takes
// the screen the view is hidden, and the call's screen is the main landmark's content.
import { setRingingTitle } from "../attention.js";
import { h } from "../dom.js";
import { createDeviceMenu, stopStream, trackOf } from "../devices/devices.js";
import { icon } from "../devices/icons.js";
import { createPrejoin } from "../devices/prejoin.js";
import { createRinger, notifyIncomingCall } from "./alerts.js";
import { callStatusText, endedText, noteText } from "./messages.js";
import { isUp, Phase } from "./state.js";

const KIND_WORDS = { audio: { label: "Microphone", on: "mic", off: "mic-off" },
  video: { label: "Camera", on: "camera", off: "camera-off" } };

// A control of the bar: an icon, its word (a shorter one on narrow screens, where the full word stays for assistive
// technology only) and, for a toggle, "On" or "Off" in words. The name is the full word; aria-pressed says the state.
function controlButton(id, iconName, label, { short = label, ...extra } = {}) {
  const state = h("span", { class: "call-control-state", "aria-hidden": "true" });
  const el = h("button", { type: "button", id, class: "call-control", ...extra }, icon(iconName),
    h("span", { class: "call-control-text" },
      h("span", { class: "call-control-label label-long" }, label),
      h("span", { class: "call-control-label label-short", "aria-hidden": "true" }, short), state));
  return { el, state, iconName };
}

function setIcon(control, name) {
  if (control.iconName === name) return;
  control.iconName = name;
  control.el.querySelector("svg")?.replaceWith(icon(name));
}

// Whether the person is typing something that a sudden move of focus would interrupt.
function typing() {
  const el = document.activeElement;
  if (!el || !(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  return (tag === "TEXTAREA" || (tag === "INPUT" && !["button", "checkbox", "radio", "submit"].includes(el.type)))
    && Boolean(el.value);
}

/**
 * @param {object} line the call line (line.js)
 * @param {object} places
 * @param {HTMLElement} places.host where the call's sections go
 * @param {HTMLElement} places.view the page's own view, hidden while a call takes the screen
 * @param {HTMLElement[]} [places.hideDuringCall] other parts of the page hidden while a call takes the screen
 */
export function mountCallPanel(line, { host, view, hideDuringCall = [] }) {
  // Announced at once by screen readers: the region exists before its text changes, so the change is heard.
  const announcer = h("p", { id: "call-announcer", class: "visually-hidden", "aria-live": "assertive",
    "aria-atomic": "true" });

  // -- ringing ----------------------------------------------------------------------------------------------
  const incomingText = h("h2", { id: "incoming-call-text", class: "incoming-text", tabindex: "-1" });
  const incomingNote = h("p", { id: "incoming-call-note", class: "muted" },
    "You can check your camera and microphone before the call starts.");
  const acceptButton = h("button", { type: "button", id: "accept-call", class: "button incoming-accept" },
    icon("phone"), h("span", {}, "Accept"));
  const declineButton = h("button", { type: "button", id: "decline-call", class: "button button-quiet" }, "Decline");
  const incoming = h("section", { id: "incoming-call", class: "incoming", role: "alertdialog",
    "aria-labelledby": "incoming-call-text", "aria-describedby": "incoming-call-note", hidden: true,
    "data-ringing": "false" },
  h("div", { class: "stack incoming-body" }, incomingText, incomingNote),
  h("div", { class: "row" }, acceptButton, declineButton),
  );

  // -- the device check before a call -----------------------------------------------------------------------
  const prejoinHost = h("div", { id: "call-prejoin", class: "call-prejoin", hidden: true });

  // -- the call ---------------------------------------------------------------------------------------------
  const title = h("h2", { id: "call-title", tabindex: "-1" }, "Call");
  const status = h("p", { id: "call-status", class: "muted", role: "status" });
  const mediaNote = h("p", { id: "call-media-note", class: "card calm", hidden: true });

  const remoteVideo = h("video", { id: "remote-video", autoplay: true, playsinline: true });
  remoteVideo.playsInline = true;
  const remoteName = h("span", { class: "tile-name" });
  const remoteWaiting = h("span", { class: "call-waiting-note", "aria-hidden": "true" });
  const soundButton = h("button", { type: "button", id: "call-sound", class: "button tile-sound", hidden: true },
    "Turn on sound");
  const remoteTile = h("figure", { class: "tile call-remote" }, remoteVideo, remoteWaiting, soundButton,
    h("figcaption", {}, remoteName));

  const localVideo = h("video", { id: "call-local-video", muted: true, autoplay: true, playsinline: true });
  localVideo.muted = true; // the attribute alone does not mute an element made by script
  localVideo.playsInline = true;
  const localMuted = h("span", { class: "call-local-muted" });
  const localTile = h("figure", { class: "tile tile-local call-local" }, localVideo,
    h("span", { class: "camera-off-note", "aria-hidden": "true" }, "Camera off"),
    h("figcaption", {}, h("span", { class: "tile-name" }, "You"), localMuted));

  const mic = controlButton("call-toggle-audio", "mic", "Microphone", { short: "Mic", "aria-pressed": "true" });
  const camera = controlButton("call-toggle-video", "camera", "Camera", { "aria-pressed": "true" });
  const devicesToggle = controlButton("call-devices-toggle", "settings", "Devices",
    { "aria-expanded": "false", "aria-controls": "call-devices" });
  const hangupButton = h("button", { type: "button", id: "hangup", class: "call-control call-hangup" },
    icon("hangup"), h("span", { class: "call-control-text" }, h("span", { class: "call-hangup-label" }, "Hang up")));
  const controls = h("div", { class: "call-controls", role: "group", "aria-label": "Call controls" },
    mic.el, camera.el, devicesToggle.el, hangupButton);
  const devicesBox = h("section", { id: "call-devices", class: "call-devices panel stack",
    "aria-labelledby": "call-devices-title", hidden: true },
  h("h3", { id: "call-devices-title" }, "Your devices"));

  const call = h("section", { id: "call", class: "call", "aria-labelledby": "call-title", hidden: true },
    h("div", { class: "room-head call-head" }, title, status), mediaNote,
    h("div", { class: "call-stage", role: "group", "aria-label": "Video" }, remoteTile, localTile), devicesBox,
    controls);

  // The screen a call takes while it lasts (the view is hidden then).
  const screen = h("div", { id: "call-screen", class: "call-screen", hidden: true },
    prejoinHost, call);

  // -- how it ended -----------------------------------------------------------------------------------------
  const endedMessage = h("p", { id: "call-ended-text", class: "notice-text", tabindex: "-1" });
  const closeButton = h("button", { type: "button", id: "call-dismiss", class: "button button-quiet" }, "Close");
  const endedBox = h("section", { id: "call-ended", class: "notice", "aria-labelledby": "call-ended-text",
    hidden: true }, endedMessage, h("div", { class: "row" }, closeButton));

  host.replaceChildren(announcer, incoming, endedBox, screen);

  acceptButton.addEventListener("click", () => line.prepare("answer"));
  declineButton.addEventListener("click", () => line.decline());
  hangupButton.addEventListener("click", () => line.hangup());
  mic.el.addEventListener("click", () => line.toggle("audio"));
  camera.el.addEventListener("click", () => line.toggle("video"));
  devicesToggle.el.addEventListener("click", () => {
    const open = devicesBox.hidden;
    devicesBox.hidden = !open;
    devicesToggle.el.setAttribute("aria-expanded", String(open));
    if (open) devicesBox.querySelector("select")?.focus();
  });
  closeButton.addEventListener("click", () => {
    line.dismiss();
    if (!view.hidden) view.focus();
  });
  soundButton.addEventListener("click", () => {
    remoteVideo.muted = false;
    remoteVideo.play().catch(() => {});
    soundButton.hidden = true;
  });

  // -- attention: the ring and the system notification ------------------------------------------------------
  const ringer = createRinger();
  let closeNotification = null;
  let notifiedCall = null;

  function alertWhileRinging() {
    const state = line.state;
    const ringing = state.phase === Phase.RINGING && !state.answering && !line.preparing;
    if (ringing) ringer.start();
    else ringer.stop();
    // A system notification only when the tab is in the background, once per call.
    const hidden = document.visibilityState === "hidden";
    if (ringing && hidden && notifiedCall !== state.callId) {
      notifiedCall = state.callId;
      closeNotification = notifyIncomingCall({ name: state.other?.display_name || "Someone", callId: state.callId });
    }
    if ((!ringing || !hidden) && closeNotification) {
      closeNotification();
      closeNotification = null;
    }
    if (state.phase !== Phase.RINGING) notifiedCall = null;
    incoming.dataset.ringing = String(ringer.ringing);
  }
  document.addEventListener("visibilitychange", alertWhileRinging);
  // The tab closing (or going into the back/forward cache): a notification left behind would answer nothing.
  window.addEventListener("pagehide", () => {
    closeNotification?.();
    closeNotification = null;
    notifiedCall = null;
  });

  // -- the device check (pre-join) --------------------------------------------------------------------------
  let prejoin = null; // {key, abort}
  let opener = null; // what had focus when the device check opened (the Call button), to go back to

  function prejoinKey(p) {
    return p ? `${p.kind}:${p.callId || p.contact?.user_id}` : null;
  }

  function drawPrejoin() {
    const want = line.preparing;
    const key = prejoinKey(want);
    if (prejoin?.key === key) return;
    prejoin?.abort.abort();
    prejoin = null;
    prejoinHost.replaceChildren();
    if (!want) return;
    const abort = new AbortController();
    const mine = { key, abort };
    prejoin = mine;
    opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body
      ? document.activeElement : null;
    const name = (want.kind === "answer" ? line.state.other?.display_name : want.contact?.display_name) || "Someone";
    const made = want.kind === "answer"
      ? createPrejoin({ purpose: "call", title: `${name} is calling you`, joinLabel: "Answer",
        cancelLabel: "Decline", signal: abort.signal,
        lead: "Check your camera and microphone. Nothing is sent until you answer." })
      : createPrejoin({ purpose: "call", title: `Call ${name}`, joinLabel: `Call ${name}`, cancelLabel: "Back",
        signal: abort.signal, lead: "Check your camera and microphone before you call." });
    prejoinHost.replaceChildren(made.el);
    made.chosen.then((choice) => {
      if (prejoin !== mine) {
        stopStream(choice?.stream); // the call moved on while the person was choosing
        return;
      }
      prejoin = null;
      prejoinHost.replaceChildren();
      if (want.kind === "answer") {
        if (choice) line.accept(choice);
        else line.decline();
      } else if (choice) {
        line.dial(want.contact, choice);
      } else {
        line.unprepare(); // the view is shown again (and may have drawn its list anew)
        backToOpener(want.contact?.user_id);
      }
    });
    queueMicrotask(() => made.el.querySelector("#prejoin-title")?.focus());
  }

  // Back from the device check without calling: focus returns to the Call button that opened it (drawn anew, it is
  // found again by the contact's id), or else to the view.
  function backToOpener(userId) {
    const before = opener;
    opener = null;
    const again = before?.isConnected ? before
      : userId ? view.querySelector(`button[data-user-id="${CSS.escape(userId)}"]`) : null;
    if (again && !again.disabled && !again.closest("[hidden]")) again.focus();
    else view.focus();
  }

  // -- the device menu of a call in progress ----------------------------------------------------------------
  let menu = null; // {menu, abort, stream}

  function drawMenu(up) {
    if (!up) {
      menu?.abort.abort();
      menu?.menu.el.remove();
      menu = null;
      devicesBox.hidden = true;
      devicesToggle.el.setAttribute("aria-expanded", "false");
      return;
    }
    if (!menu) {
      const abort = new AbortController();
      const made = createDeviceMenu({
        stream: line.localStream,
        signal: abort.signal,
        idPrefix: "call-device",
        onTrack: (kind, track) => line.replaceTrack(kind, track),
        onOutput: (deviceId) => line.setOutput(deviceId),
      });
      devicesBox.append(made.el);
      menu = { menu: made, abort, stream: line.localStream };
    } else if (menu.stream !== line.localStream) {
      menu.stream = line.localStream;
      menu.menu.update(line.localStream);
    }
  }

  // The other person's sound goes to the speakers the call has (line.outputDeviceId), whenever they change: chosen
  // in the menu, or known only once the saved devices opened (a call resumed after a reload).
  let sinkWanted = null;
  function applyOutput() {
    const id = line.outputDeviceId || "";
    if (typeof remoteVideo.setSinkId !== "function" || id === sinkWanted) return;
    sinkWanted = id;
    if (remoteVideo.sinkId === id) return;
    remoteVideo.setSinkId(id).catch(() => {
      if (sinkWanted === id) sinkWanted = null; // gone or refused: the default plays; a later change tries again
    });
  }

  // -- drawing ----------------------------------------------------------------------------------------------
  let shown = { phase: Phase.IDLE, note: null, preparing: null };
  let remoteTracks = "";
  let localTracks = "";

  function playRemote() {
    remoteVideo.play().catch((err) => {
      if (err?.name !== "NotAllowedError") return; // a newer srcObject interrupted it: autoplay starts it again
      remoteVideo.muted = true; // sound was refused without a click: play silently, offer the sound
      remoteVideo.play().catch(() => {});
      soundButton.hidden = false;
    });
  }

  function drawMedia(state) {
    const local = line.localStream;
    // A track swapped inside the same stream (another camera, the camera turned back on) shows once the element is
    // given the stream again.
    const localKey = local ? local.getVideoTracks().map((t) => t.id).join(",") : "";
    if (localVideo.srcObject !== local || localKey !== localTracks) {
      localTracks = localKey;
      localVideo.srcObject = null;
      localVideo.srcObject = local;
      if (local) localVideo.play().catch(() => {});
    }
    const remote = line.remoteStream;
    const tracks = remote ? remote.getTracks() : [];
    const key = tracks.map((t) => t.id).join(",");
    if (key !== remoteTracks) {
      remoteTracks = key;
      remoteVideo.srcObject = tracks.length ? new MediaStream(tracks) : null;
      if (tracks.length) playRemote();
    }
    const connected = state.phase === Phase.ANSWERED && state.link === "connected" && tracks.length > 0;
    remoteTile.classList.toggle("is-waiting", !connected);
    remoteWaiting.textContent = state.phase === Phase.CALLING ? "Ringing…" : connected ? "" : "Connecting…";

    for (const [kind, control] of [["audio", mic], ["video", camera]]) {
      const track = trackOf(local, kind);
      const on = Boolean(track && track.enabled);
      const words = KIND_WORDS[kind];
      control.el.setAttribute("aria-pressed", String(on));
      control.el.disabled = !track;
      control.el.classList.toggle("is-off", !on);
      control.state.textContent = !track ? "Unavailable" : on ? "On" : "Off";
      setIcon(control, on ? words.on : words.off);
    }
    const micOn = Boolean(trackOf(local, "audio")?.enabled);
    localMuted.textContent = micOn ? "" : "Microphone off";
    localTile.classList.toggle("camera-off", !trackOf(local, "video")?.enabled);
    mediaNote.textContent = line.mediaProblem || "";
    mediaNote.hidden = !line.mediaProblem || !isUp(state);
  }

  function draw() {
    const state = line.state;
    const name = state.other?.display_name || "Someone";
    drawPrejoin();
    const preparing = Boolean(line.preparing);
    const ringing = state.phase === Phase.RINGING;
    incoming.hidden = !ringing || preparing;
    if (ringing) {
      incomingText.textContent = state.answering ? `Answering ${name}…` : `${name} is calling you`;
      acceptButton.disabled = state.answering;
      declineButton.disabled = state.answering;
      acceptButton.setAttribute("aria-label", `Accept the call from ${name}`);
      declineButton.setAttribute("aria-label", `Decline the call from ${name}`);
    }
    alertWhileRinging();

    const up = isUp(state);
    const taken = up || preparing;
    call.hidden = !up;
    prejoinHost.hidden = !preparing || up;
    screen.hidden = !taken;
    view.hidden = taken;
    for (const el of hideDuringCall) el.hidden = taken;
    if (up) {
      title.textContent = `Call with ${name}`;
      status.textContent = callStatusText(state);
      hangupButton.querySelector(".call-hangup-label").textContent =
        state.phase === Phase.CALLING ? "Stop calling" : "Hang up";
      remoteName.textContent = name;
    }
    drawMenu(up);
    if (up) applyOutput();
    drawMedia(state);
    if (!up && (remoteVideo.muted || !soundButton.hidden)) {
      // Sound muted after the browser refused to autoplay it belongs to that call alone: the next starts with sound.
      remoteVideo.muted = false;
      soundButton.hidden = true;
    }

    const over = state.phase === Phase.ENDED ? endedText(state) : noteText(state);
    endedBox.hidden = !over;
    endedMessage.textContent = over;

    const prepKey = prejoinKey(line.preparing);
    if (state.phase !== shown.phase || state.note !== shown.note || prepKey !== shown.preparing) {
      changed(shown, state, name, over, prepKey);
    }
    shown = { phase: state.phase, note: state.note, preparing: prepKey };
  }

  // What is said and where focus goes when the call moves on.
  function changed(before, state, name, over, prepKey) {
    if (state.phase === Phase.RINGING && before.phase !== Phase.RINGING) {
      announcer.textContent = `Incoming call from ${name}.`;
      setRingingTitle(`Call from ${name} · Haven`);
      // Accept is where the person's next key press goes, unless they are in the middle of typing something.
      if (!incoming.hidden && !typing()) acceptButton.focus();
    } else if (state.phase !== Phase.RINGING && before.phase === Phase.RINGING) {
      setRingingTitle(null); // the page's own title comes back, with its counts
    }
    if (isUp(state) && !isUp(before)) title.focus();
    // Back from the device check to the ringing prompt: Accept again, or, once answered from the device check, the
    // prompt's "Answering…" heading (Accept is disabled then), so focus does not fall to the page.
    if (!prepKey && before.preparing && state.phase === Phase.RINGING && !incoming.hidden) {
      (state.answering ? incomingText : acceptButton).focus();
    }
    if (over) {
      announcer.textContent = over;
      if (document.activeElement === document.body || screen.contains(document.activeElement)
        || incoming.contains(document.activeElement) || !document.activeElement?.isConnected) endedMessage.focus();
    }
    if (state.phase === Phase.IDLE && !state.note && before.phase !== Phase.IDLE) announcer.textContent = "";
  }

  line.subscribe(draw);
  draw();
}
