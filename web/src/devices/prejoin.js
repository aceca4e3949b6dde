// The pre-join: before entering a room or a call, a person sees their camera, watches the microphone level, tests
// their speakers, picks devices, and chooses to join with the camera off or muted. Nothing is sent to anyone until
// they press join; the stream they chose is then handed to the room or call, tracks enabled as they chose.
import { h } from "../dom.js";
import { canRetry, initialChoice, joinSummary, problemOf, problemText } from "./choice.js";
import {
  canChooseOutput, deviceIdOf, fillSelect, listDevices, openStream, openTrack, saveChoice, savedChoice, stopStream,
  trackOf,
} from "./devices.js";
import { icon } from "./icons.js";
import { createMeter } from "./meter.js";
import { playTones, TEST_NOTES } from "./tone.js";

// How long Join waits for the camera and microphone (a permission prompt left open, a device slow to start) before
// going ahead without them; whatever opens after that is stopped.
const PERMISSION_WAIT_MS = 4000;

function field(id, label, control, ...more) {
  return h("div", { class: "field prejoin-field" }, h("label", { for: id }, label), control, ...more);
}

// A switch (a checkbox announced as on/off) with its icon, its name and the state in words beside it.
function toggle(id, label, iconName) {
  const input = h("input", { type: "checkbox", role: "switch", id, class: "prejoin-switch-input" });
  const state = h("span", { class: "prejoin-switch-state", "aria-hidden": "true" });
  const el = h("label", { class: "prejoin-switch", for: id }, input, icon(iconName),
    h("span", { class: "prejoin-switch-label" }, label), state);
  return { el, input, state };
}

// What the preview says when it shows no picture.
function previewWords({ waiting, hasVideo, on, status }) {
  if (waiting) return "Starting your camera…";
  if (!hasVideo) return status === "denied" ? "Camera not allowed" : status === "missing" ? "No camera"
    : "Camera not available";
  return on ? "" : "Camera off";
}

/**
 * @param {object} options
 * @param {"room"|"call"} options.purpose
 * @param {string} options.title the heading ("Join Tuesday group", "Morgan is calling you")
 * @param {string} options.joinLabel the join button's words ("Join now", "Answer")
 * @param {AbortSignal} [options.signal] aborting resolves `chosen` with null and stops the camera and microphone
 * @param {string} [options.cancelLabel] the cancel button's words ("Decline", "Back"); shown for calls, or when given
 * @param {string} [options.lead] a line under the heading
 * @returns {{el: HTMLElement, chosen: Promise<object|null>}}
 */
export function createPrejoin({ purpose, title, joinLabel, signal, cancelLabel, lead } = {}) {
  const heading = h("h2", { id: "prejoin-title", tabindex: "-1" }, title || "Check your camera and microphone");
  const problem = h("p", { id: "prejoin-problem", class: "prejoin-problem", role: "alert", hidden: true });
  const retry = h("button", { type: "button", id: "prejoin-retry", class: "button button-quiet", hidden: true },
    "Try again");

  const preview = h("video", { id: "prejoin-preview", muted: true, autoplay: true, playsinline: true,
    "aria-label": "Your camera preview" });
  preview.muted = true;
  preview.playsInline = true;
  const previewNote = h("span", { class: "prejoin-preview-note", "aria-hidden": "true" }, "Starting your camera…");
  const previewBox = h("div", { class: "prejoin-preview is-waiting" }, preview, previewNote);

  const cameraOn = toggle("prejoin-camera-on", "Camera", "camera");
  const micOn = toggle("prejoin-mic-on", "Microphone", "mic");
  const cameraSelect = h("select", { id: "prejoin-camera" });
  const micSelect = h("select", { id: "prejoin-microphone" });
  const speakerSelect = h("select", { id: "prejoin-speaker" });
  const meter = createMeter({ id: "prejoin-meter", label: "Microphone level" });
  const speakerTest = h("button", { type: "button", id: "prejoin-speaker-test", class: "button button-quiet" },
    icon("speaker"), h("span", {}, "Test speakers"));
  const speakerNote = h("p", { id: "prejoin-speaker-note", class: "muted", role: "status" });

  const cameraField = field("prejoin-camera", "Choose a camera", cameraSelect);
  const micField = field("prejoin-microphone", "Choose a microphone", micSelect,
    h("div", { class: "meter-row" }, h("span", { class: "muted meter-word", "aria-hidden": "true" }, "Level"),
      meter.el));
  const speakerField = canChooseOutput() ? field("prejoin-speaker", "Choose speakers", speakerSelect) : null;

  const summary = h("p", { id: "prejoin-summary", class: "prejoin-summary" });
  const waitNote = h("p", { id: "prejoin-wait", class: "muted", role: "status" });
  const joinButton = h("button", { type: "button", id: "prejoin-join", class: "button prejoin-join",
    "aria-describedby": "prejoin-summary" }, joinLabel || "Join");
  const showCancel = purpose === "call" || Boolean(cancelLabel);
  const cancelButton = showCancel
    ? h("button", { type: "button", id: "prejoin-cancel", class: "button button-quiet" },
      cancelLabel || "Back")
    : null;

  const el = h("section", { id: "prejoin", class: `prejoin prejoin-${purpose === "call" ? "call" : "room"}`,
    "aria-labelledby": "prejoin-title" },
  h("div", { class: "prejoin-head stack" }, heading, lead ? h("p", { class: "muted" }, lead) : null),
  h("div", { class: "prejoin-problem-row" }, problem, retry),
  h("div", { class: "prejoin-body" },
    previewBox,
    h("div", { class: "prejoin-settings stack" },
      h("div", { class: "prejoin-switches", role: "group", "aria-label": "When you join" }, cameraOn.el, micOn.el),
      cameraField, micField, speakerField,
      h("div", { class: "prejoin-speaker-row" }, speakerTest, speakerNote),
      h("div", { class: "prejoin-actions" }, summary, h("div", { class: "row" }, joinButton, cancelButton), waitNote),
    ),
  ),
  );

  let lists = { audioinput: [], videoinput: [], audiooutput: [] };
  let choice = initialChoice(savedChoice(), lists);
  let stream = null;
  let status = { audio: "missing", video: "missing" };
  let opening = null; // the promise of the devices being opened
  let tone = null;
  let finished = false;
  let joining = false; // Join was pressed and waits for the devices
  let settle;
  const chosen = new Promise((resolve) => {
    settle = resolve;
  });

  // -- drawing ----------------------------------------------------------------------------------------------
  function draw() {
    const hasVideo = Boolean(trackOf(stream, "video"));
    const hasAudio = Boolean(trackOf(stream, "audio"));
    cameraOn.input.checked = hasVideo && choice.video;
    cameraOn.input.disabled = !hasVideo;
    micOn.input.checked = hasAudio && choice.audio;
    micOn.input.disabled = !hasAudio;
    for (const [control, has] of [[cameraOn, hasVideo], [micOn, hasAudio]]) {
      control.el.classList.toggle("is-off", !control.input.checked);
      control.state.textContent = !has ? "Unavailable" : control.input.checked ? "On" : "Off";
    }
    cameraOn.el.querySelector("svg")?.replaceWith(icon(cameraOn.input.checked ? "camera" : "camera-off"));
    micOn.el.querySelector("svg")?.replaceWith(icon(micOn.input.checked ? "mic" : "mic-off"));

    fillSelect(cameraSelect, lists.videoinput, deviceIdOf(trackOf(stream, "video")) || choice.videoDeviceId);
    fillSelect(micSelect, lists.audioinput, deviceIdOf(trackOf(stream, "audio")) || choice.audioDeviceId);
    cameraSelect.disabled ||= !hasVideo;
    micSelect.disabled ||= !hasAudio;
    if (speakerField) {
      fillSelect(speakerSelect, lists.audiooutput, choice.outputDeviceId);
      speakerField.hidden = lists.audiooutput.length === 0;
    }

    const waiting = Boolean(opening);
    previewBox.classList.toggle("is-waiting", waiting || !hasVideo || !choice.video);
    previewNote.textContent = previewWords({ waiting, hasVideo, on: choice.video, status: status.video });

    const code = waiting ? null : problemOf(status);
    // An alert is read out whenever its text is written: only a new problem is.
    const words = problemText(code);
    if (problem.textContent !== words) problem.textContent = words;
    problem.hidden = !code;
    retry.hidden = !canRetry(code);
    summary.textContent = waiting ? "Starting your camera and microphone…"
      : joinSummary({ audio: choice.audio, video: choice.video, hasAudio, hasVideo });
  }

  function showStream() {
    if (preview.srcObject !== stream) preview.srcObject = stream;
    if (stream) preview.play().catch(() => {});
    meter.setTrack(trackOf(stream, "audio"));
  }

  function applyEnabled() {
    const video = trackOf(stream, "video");
    const audio = trackOf(stream, "audio");
    if (video) video.enabled = choice.video;
    if (audio) audio.enabled = choice.audio;
  }

  // -- opening the devices ----------------------------------------------------------------------------------
  async function open() {
    stopStream(stream);
    stream = null;
    lists = await listDevices();
    if (finished) return;
    choice = initialChoice(savedChoice(), lists);
    // A kind is asked for whenever such a device exists, even when it starts off: "off" keeps the track, disabled,
    // so that turning it on later needs no new permission.
    const want = {
      audio: lists.audioinput.length ? { deviceId: choice.audioDeviceId } : false,
      video: lists.videoinput.length ? { deviceId: choice.videoDeviceId } : false,
    };
    const opened = await openStream(want);
    if (finished) {
      stopStream(opened.stream);
      return;
    }
    stream = opened.stream;
    status = {
      audio: opened.status.audio === "off" ? "missing" : opened.status.audio,
      video: opened.status.video === "off" ? "missing" : opened.status.video,
    };
    // With permission given, the browser now names the devices.
    lists = await listDevices();
    if (finished) return;
    const saved = savedChoice();
    choice = { ...initialChoice(saved, lists),
      videoDeviceId: deviceIdOf(trackOf(stream, "video")) || choice.videoDeviceId,
      audioDeviceId: deviceIdOf(trackOf(stream, "audio")) || choice.audioDeviceId };
    choice.video = Boolean(trackOf(stream, "video")) && saved?.video !== false;
    choice.audio = Boolean(trackOf(stream, "audio")) && saved?.audio !== false;
    applyEnabled();
    showStream();
  }

  function start() {
    const run = open().catch(() => {
      status = { audio: "unavailable", video: "unavailable" };
    }).finally(() => {
      if (opening === run) opening = null;
      if (!finished) draw();
    });
    opening = run;
    draw();
    return run;
  }

  // The select stays enabled while the device opens (disabling it would drop keyboard focus to the page): it says it
  // is busy, and a change made meanwhile is ignored (the select then shows the device in use again).
  async function switchDevice(kind, deviceId) {
    const select = kind === "video" ? cameraSelect : micSelect;
    if (select.getAttribute("aria-busy") === "true") return;
    const old = trackOf(stream, kind);
    if (!deviceId || deviceIdOf(old) === deviceId) return;
    select.setAttribute("aria-busy", "true");
    try {
      const track = await openTrack(kind, deviceId);
      if (finished) {
        track.stop();
        return;
      }
      track.enabled = kind === "video" ? choice.video : choice.audio;
      if (old) {
        stream.removeTrack(old);
        old.stop();
      }
      if (!stream) stream = new MediaStream();
      stream.addTrack(track);
      choice = { ...choice, [kind === "video" ? "videoDeviceId" : "audioDeviceId"]: deviceId };
      preview.srcObject = null; // the element picks up the new track when given the stream again
      showStream();
    } catch (err) {
      status = { ...status, [kind]: err?.problem === "denied" ? "denied" : "unavailable" };
    } finally {
      select.removeAttribute("aria-busy");
      if (!finished) draw();
    }
  }

  // -- the person's choices ---------------------------------------------------------------------------------
  cameraOn.input.addEventListener("change", () => {
    choice = { ...choice, video: cameraOn.input.checked };
    applyEnabled();
    draw();
  });
  micOn.input.addEventListener("change", () => {
    choice = { ...choice, audio: micOn.input.checked };
    applyEnabled();
    draw();
  });
  cameraSelect.addEventListener("change", () => switchDevice("video", cameraSelect.value));
  micSelect.addEventListener("change", () => switchDevice("audio", micSelect.value));
  speakerSelect.addEventListener("change", () => {
    choice = { ...choice, outputDeviceId: speakerSelect.value || null };
  });
  retry.addEventListener("click", () => {
    if (!opening) start();
  });

  speakerTest.addEventListener("click", async () => {
    tone?.stop();
    speakerNote.textContent = "Playing a short tone…";
    const playing = playTones(TEST_NOTES, { outputDeviceId: choice.outputDeviceId, volume: 0.25 });
    tone = playing;
    const played = await playing.done;
    if (tone !== playing || finished) return;
    tone = null;
    speakerNote.textContent = played
      ? "Did you hear three notes? If not, turn up the volume or choose other speakers."
      : "The tone could not be played on these speakers. Try other speakers, or check the volume.";
  });

  function finish(result) {
    if (finished) return;
    finished = true;
    tone?.stop();
    meter.stop();
    preview.srcObject = null;
    settle(result);
  }

  // The devices are still opening (often the browser's permission prompt is open): say so, wait a little, then join
  // without them rather than leave Join (or Answer) doing nothing.
  async function waitForDevices() {
    joining = true;
    joinButton.setAttribute("aria-busy", "true");
    waitNote.textContent = "Waiting for your browser's permission to use the camera and microphone…";
    let timer;
    const gaveUp = await Promise.race([
      opening.then(() => false),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(true), PERMISSION_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    joining = false;
    joinButton.removeAttribute("aria-busy");
    waitNote.textContent = "";
    return gaveUp && Boolean(opening);
  }

  joinButton.addEventListener("click", async () => {
    if (finished || joining) return;
    if (opening && await waitForDevices()) {
      if (finished) return;
      // Nothing is remembered: the person chose nothing. The devices opening now are stopped as they arrive.
      finish({ stream: null, audio: false, video: false, audioDeviceId: choice.audioDeviceId || null,
        videoDeviceId: choice.videoDeviceId || null, outputDeviceId: choice.outputDeviceId || null });
      return;
    }
    if (finished) return;
    applyEnabled();
    const video = trackOf(stream, "video");
    const audio = trackOf(stream, "audio");
    const result = {
      stream,
      audio: Boolean(audio) && choice.audio,
      video: Boolean(video) && choice.video,
      audioDeviceId: deviceIdOf(audio) || choice.audioDeviceId || null,
      videoDeviceId: deviceIdOf(video) || choice.videoDeviceId || null,
      outputDeviceId: choice.outputDeviceId || null,
    };
    // Only what the person could choose is remembered: a missing device does not turn the choice off for next time.
    saveChoice({
      ...(video ? { video: choice.video, videoDeviceId: result.videoDeviceId } : {}),
      ...(audio ? { audio: choice.audio, audioDeviceId: result.audioDeviceId } : {}),
      ...(result.outputDeviceId ? { outputDeviceId: result.outputDeviceId } : {}),
    });
    finish(result);
  });

  function cancel() {
    if (finished) return;
    stopStream(stream);
    stream = null;
    finish(null);
  }
  cancelButton?.addEventListener("click", cancel);
  if (signal?.aborted) cancel();
  else {
    signal?.addEventListener("abort", cancel, { once: true });
    start();
  }

  return { el, chosen };
}
