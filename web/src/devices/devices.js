// The camera, microphone and speakers of this browser: listing them, opening one, opening the pair a person chose,
// and a small menu that switches them while a room or call goes on (the caller puts the new track on its senders).
import { h } from "../dom.js";
import { groupDevices, problemOfError, readSaved, writeSaved } from "./choice.js";

// Haven's picture size: enough for a tile, light on the upload of a mesh room.
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 } };

function mediaDevices() {
  const devices = globalThis.navigator?.mediaDevices;
  return devices && typeof devices.getUserMedia === "function" ? devices : null;
}

function storage() {
  try {
    return globalThis.localStorage || null;
  } catch {
    return null; // storage disabled for this site
  }
}

// The saved device choice ("haven.devices"), or null.
export function savedChoice() {
  return readSaved(storage());
}

// Remembers part of the choice (device ids, camera/microphone on or off) for the next pre-join.
export function saveChoice(changes) {
  return writeSaved(storage(), changes);
}

// Whether audio can be sent to a chosen output (HTMLMediaElement.setSinkId).
export function canChooseOutput() {
  return typeof globalThis.HTMLMediaElement?.prototype?.setSinkId === "function";
}

/** {audioinput, videoinput, audiooutput}: lists of {deviceId, groupId, label} ("Camera 1" when unnamed). */
export async function listDevices() {
  const devices = mediaDevices();
  if (!devices || typeof devices.enumerateDevices !== "function") return groupDevices([]);
  try {
    return groupDevices(await devices.enumerateDevices());
  } catch {
    return groupDevices([]);
  }
}

function constraintFor(kind, deviceId, exact) {
  const base = kind === "video" ? { ...VIDEO } : {};
  if (deviceId) base.deviceId = exact ? { exact: deviceId } : { ideal: deviceId };
  return Object.keys(base).length ? base : true;
}

function withProblem(err) {
  const error = new Error(err?.message || "The device could not be opened.");
  error.name = err?.name || "Error";
  error.problem = problemOfError(err) === "denied" ? "denied" : "unavailable";
  return error;
}

/**
 * Opens one device: kind "audio" or "video", deviceId exactly (or the default when none is given).
 * Throws an Error whose .problem is "denied" or "unavailable".
 */
export async function openTrack(kind, deviceId) {
  const devices = mediaDevices();
  if (!devices) throw Object.assign(new Error("No media devices in this browser."), { problem: "unavailable" });
  let stream;
  try {
    stream = await devices.getUserMedia({ [kind]: constraintFor(kind, deviceId, true) });
  } catch (err) {
    throw withProblem(err);
  }
  const [track] = kind === "video" ? stream.getVideoTracks() : stream.getAudioTracks();
  if (!track) throw Object.assign(new Error("No track was opened."), { problem: "unavailable" });
  return track;
}

async function permissionOf(name) {
  try {
    return (await globalThis.navigator.permissions.query({ name })).state;
  } catch {
    return "unknown";
  }
}

/**
 * Opens the camera and microphone asked for: want = {audio: {deviceId} | false, video: {deviceId} | false} (a
 * device id is preferred, not required). Resolves {stream, status: {audio, video}} with each kind "ok", "denied",
 * "missing", "unavailable", "unsupported" or "off" (not asked for); stream is null when nothing opened.
 */
export async function openStream(want) {
  const devices = mediaDevices();
  if (!devices) return { stream: null, status: { audio: "unsupported", video: "unsupported" } };
  const kinds = ["audio", "video"].filter((kind) => want[kind]);
  const status = { audio: want.audio ? "missing" : "off", video: want.video ? "missing" : "off" };
  if (!kinds.length) return { stream: null, status };
  const constraints = {};
  for (const kind of kinds) constraints[kind] = constraintFor(kind, want[kind].deviceId, false);
  try {
    const stream = await devices.getUserMedia(constraints);
    for (const kind of kinds) status[kind] = "ok";
    return { stream, status };
  } catch (err) {
    const problem = problemOfError(err);
    if (kinds.length === 1) {
      status[kinds[0]] = problem;
      return { stream: null, status };
    }
    // Both at once failed. One of them may still work alone (a blocked camera with an allowed microphone, or a
    // camera held by another app). After a refusal only a kind already allowed is asked again: the person is not
    // asked twice in a row.
    const stream = new MediaStream();
    for (const kind of kinds) {
      if (problem === "denied" && (await permissionOf(kind === "audio" ? "microphone" : "camera")) !== "granted") {
        status[kind] = "denied";
        continue;
      }
      try {
        const alone = await devices.getUserMedia({ [kind]: constraintFor(kind, want[kind].deviceId, false) });
        for (const track of alone.getTracks()) stream.addTrack(track);
        status[kind] = "ok";
      } catch (again) {
        status[kind] = problemOfError(again);
      }
    }
    return { stream: stream.getTracks().length ? stream : null, status };
  }
}

export function trackOf(stream, kind) {
  return stream ? stream.getTracks().find((t) => t.kind === kind) || null : null;
}

export function stopStream(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

// The device a live track comes from, as enumerateDevices names it.
export function deviceIdOf(track) {
  try {
    return track?.getSettings?.().deviceId || null;
  } catch {
    return null;
  }
}

/** Fills a <select> with devices, keeping `selected` chosen (or the first). */
export function fillSelect(select, list, selected) {
  const options = list.map((d) => h("option", { value: d.deviceId }, d.label));
  select.replaceChildren(...options);
  if (selected && list.some((d) => d.deviceId === selected)) select.value = selected;
  select.disabled = list.length === 0;
}

const MENU_FIELDS = [
  { kind: "video", list: "videoinput", label: "Camera" },
  { kind: "audio", list: "audioinput", label: "Microphone" },
  { kind: "output", list: "audiooutput", label: "Speakers" },
];

/**
 * Switches camera, microphone and speakers during a room or call, without rejoining.
 * onTrack(kind, newTrack): the caller puts the new track on its senders (replaceTrack) and in its local stream;
 * the menu then stops the old one. onOutput(deviceId): the caller sends the others' sound there.
 * @returns {{el: HTMLElement, update: (stream: MediaStream|null) => void}}
 */
export function createDeviceMenu({ stream, onTrack, onOutput, signal, idPrefix = "device" } = {}) {
  let current = stream || null;
  let lists = groupDevices([]);
  const latest = {}; // kind -> the track this menu last opened (the caller may not have called update yet)
  const problem = h("p", { class: "device-menu-problem", role: "status" });
  const fields = {};
  for (const field of MENU_FIELDS) {
    if (field.kind === "output" && !canChooseOutput()) continue;
    const id = `${idPrefix}-${field.kind === "video" ? "camera" : field.kind === "audio" ? "microphone" : "speaker"}`;
    const select = h("select", { id });
    fields[field.kind] = { ...field, select,
      el: h("div", { class: "field device-field" }, h("label", { for: id }, field.label), select) };
  }
  const el = h("div", { class: "device-menu stack" }, ...Object.values(fields).map((f) => f.el), problem);

  function selectedOf(kind) {
    if (kind === "output") return savedChoice()?.outputDeviceId || null;
    return deviceIdOf(latest[kind]?.readyState === "live" ? latest[kind] : trackOf(current, kind))
      || savedChoice()?.[kind === "video" ? "videoDeviceId" : "audioDeviceId"] || null;
  }

  function draw() {
    for (const field of Object.values(fields)) {
      fillSelect(field.select, lists[field.list], selectedOf(field.kind));
      field.el.hidden = lists[field.list].length === 0;
    }
  }

  async function refresh() {
    lists = await listDevices();
    if (!signal?.aborted) draw();
  }

  async function switchTo(kind, deviceId) {
    problem.textContent = "";
    if (kind === "output") {
      saveChoice({ outputDeviceId: deviceId });
      onOutput?.(deviceId);
      return;
    }
    // The select stays enabled while the device opens (disabling it would drop keyboard focus): it says it is busy,
    // and a change made meanwhile is ignored (the select shows the device in use again afterwards).
    const select = fields[kind].select;
    if (select.getAttribute("aria-busy") === "true") return;
    const old = latest[kind]?.readyState === "live" ? latest[kind] : trackOf(current, kind);
    if (deviceIdOf(old) === deviceId) return;
    select.setAttribute("aria-busy", "true");
    try {
      const track = await openTrack(kind, deviceId);
      if (signal?.aborted) {
        track.stop();
        return;
      }
      track.enabled = old ? old.enabled : true;
      latest[kind] = track;
      onTrack?.(kind, track);
      if (old && old !== track) old.stop();
      saveChoice(kind === "video" ? { videoDeviceId: deviceId } : { audioDeviceId: deviceId });
    } catch (err) {
      const word = kind === "video" ? "camera" : "microphone";
      problem.textContent = err?.problem === "denied"
        ? `Haven is not allowed to use that ${word}. You can allow it in the browser's site settings.`
        : `That ${word} could not be opened. Another app may be using it.`;
    } finally {
      select.removeAttribute("aria-busy");
      draw();
    }
  }

  for (const [kind, field] of Object.entries(fields)) {
    field.select.addEventListener("change", () => switchTo(kind, field.select.value));
  }
  const devices = mediaDevices();
  devices?.addEventListener?.("devicechange", refresh);
  signal?.addEventListener("abort", () => devices?.removeEventListener?.("devicechange", refresh), { once: true });
  refresh();

  return {
    el,
    update(next) {
      current = next || null;
      for (const kind of ["audio", "video"]) {
        if (latest[kind] && !current?.getTracks().includes(latest[kind])) delete latest[kind];
      }
      draw();
    },
  };
}
