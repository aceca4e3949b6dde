// What a call looks like on screen, whatever view is open: the incoming-call prompt, the call itself (both videos,
// microphone, camera, hang up) and the note that says how it ended. It only reads the call line and calls its
// actions; everything shown goes in as text (dom.js).
import { h } from "../dom.js";
import { trackOf } from "../room/media.js";
import { callStatusText, endedText, noteText } from "./messages.js";
import { isUp, Phase } from "./state.js";

function toggleButton(id, label) {
  const state = h("span", { class: "toggle-state", "aria-hidden": "true" });
  const el = h("button", { type: "button", id, class: "button toggle", "aria-pressed": "true" },
    h("span", { class: "toggle-label" }, label), state);
  return { el, state };
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
  const incomingText = h("p", { id: "incoming-call-text", class: "incoming-text" });
  const acceptButton = h("button", { type: "button", id: "accept-call", class: "button" }, "Accept");
  const declineButton = h("button", { type: "button", id: "decline-call", class: "button button-quiet" }, "Decline");
  const incoming = h("section", { id: "incoming-call", class: "incoming", "aria-labelledby": "incoming-call-text",
    hidden: true },
  h("div", { class: "stack incoming-body" }, incomingText,
    h("p", { class: "muted" }, "Your camera and microphone turn on when you accept.")),
  h("div", { class: "row" }, acceptButton, declineButton),
  );

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
  const localTile = h("figure", { class: "tile tile-local call-local" }, localVideo,
    h("span", { class: "camera-off-note", "aria-hidden": "true" }, "Camera off"),
    h("figcaption", {}, h("span", { class: "tile-name" }, "You")));

  const mic = toggleButton("call-toggle-audio", "Microphone");
  const camera = toggleButton("call-toggle-video", "Camera");
  const hangupButton = h("button", { type: "button", id: "hangup", class: "button button-danger" }, "Hang up");
  const controls = h("div", { class: "controls", role: "group", "aria-label": "Call controls" },
    mic.el, camera.el, hangupButton);

  const call = h("section", { id: "call", class: "call stack", "aria-labelledby": "call-title", hidden: true },
    h("div", { class: "room-head" }, title, status), mediaNote,
    h("div", { class: "call-videos", "aria-label": "Video" }, remoteTile, localTile), controls);

  // -- how it ended -----------------------------------------------------------------------------------------
  const endedMessage = h("p", { id: "call-ended-text", class: "notice-text", tabindex: "-1" });
  const closeButton = h("button", { type: "button", id: "call-dismiss", class: "button button-quiet" }, "Close");
  const endedBox = h("section", { id: "call-ended", class: "notice", "aria-labelledby": "call-ended-text",
    hidden: true }, endedMessage, h("div", { class: "row" }, closeButton));

  host.replaceChildren(announcer, incoming, endedBox, call);

  acceptButton.addEventListener("click", () => line.accept());
  declineButton.addEventListener("click", () => line.decline());
  hangupButton.addEventListener("click", () => line.hangup());
  mic.el.addEventListener("click", () => line.toggle("audio"));
  camera.el.addEventListener("click", () => line.toggle("video"));
  closeButton.addEventListener("click", () => {
    line.dismiss();
    if (!view.hidden) view.focus();
  });
  soundButton.addEventListener("click", () => {
    remoteVideo.muted = false;
    remoteVideo.play().catch(() => {});
    soundButton.hidden = true;
  });

  // -- drawing ----------------------------------------------------------------------------------------------
  let shown = { phase: Phase.IDLE, note: null };
  let remoteTracks = "";
  let pageTitle = null;

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
    if (localVideo.srcObject !== local) {
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

    for (const [kind, toggle] of [["audio", mic], ["video", camera]]) {
      const track = trackOf(local, kind);
      const on = Boolean(track && track.enabled);
      toggle.el.setAttribute("aria-pressed", String(on));
      toggle.el.disabled = !track;
      toggle.state.textContent = !track ? "Unavailable" : on ? "On" : "Off";
    }
    localTile.classList.toggle("camera-off", !trackOf(local, "video")?.enabled);
    mediaNote.textContent = line.mediaProblem || "";
    mediaNote.hidden = !line.mediaProblem || !isUp(state);
  }

  function draw() {
    const state = line.state;
    const name = state.other?.display_name || "Someone";
    const ringing = state.phase === Phase.RINGING;
    incoming.hidden = !ringing;
    if (ringing) {
      incomingText.textContent = state.answering ? `Answering ${name}…` : `${name} is calling you`;
      acceptButton.disabled = state.answering;
      declineButton.disabled = state.answering;
      acceptButton.setAttribute("aria-label", `Accept the call from ${name}`);
      declineButton.setAttribute("aria-label", `Decline the call from ${name}`);
    }

    const up = isUp(state);
    call.hidden = !up;
    view.hidden = up;
    for (const el of hideDuringCall) el.hidden = up;
    if (up) {
      title.textContent = `Call with ${name}`;
      status.textContent = callStatusText(state);
      hangupButton.textContent = state.phase === Phase.CALLING ? "Stop calling" : "Hang up";
      remoteName.textContent = name;
    }
    drawMedia(state);

    const over = state.phase === Phase.ENDED ? endedText(state) : noteText(state);
    endedBox.hidden = !over;
    endedMessage.textContent = over;

    if (state.phase !== shown.phase || state.note !== shown.note) changed(shown, state, name, over);
    shown = { phase: state.phase, note: state.note };
  }

  // What is said and where focus goes when the call moves on.
  function changed(before, state, name, over) {
    if (state.phase === Phase.RINGING) {
      announcer.textContent = `Incoming call from ${name}.`;
      pageTitle ??= document.title;
      document.title = `Call from ${name} · Haven`;
    } else if (pageTitle !== null) {
      document.title = pageTitle;
      pageTitle = null;
    }
    if (isUp(state) && !isUp(before)) title.focus();
    if (over) {
      announcer.textContent = over;
      if (document.activeElement === document.body || call.contains(document.activeElement)
        || incoming.contains(document.activeElement)) endedMessage.focus();
    }
    if (state.phase === Phase.IDLE && !state.note && before.phase !== Phase.IDLE) announcer.textContent = "";
  }

  line.subscribe(draw);
  draw();
}
