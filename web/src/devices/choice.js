// The device choice as pure data: which camera, microphone and speaker a person starts from (their saved choice,
// checked against the devices this browser has now), how devices are named when the browser gives no label, and the
// calm words for what went wrong. No DOM and no media here, so all of it is tested with node --test.

export const SAVED_KEY = "haven.devices";

// enumerateDevices() kinds -> the word used for an unnamed device ("Camera 2").
const KIND_WORDS = { videoinput: "Camera", audioinput: "Microphone", audiooutput: "Speaker" };
export const DEVICE_KINDS = Object.keys(KIND_WORDS);

// MediaDeviceInfo-like records grouped by kind, each {deviceId, groupId, label}, in the browser's order.
// Before permission is given the browser hides labels (and ids): each still counts, so Haven knows a camera exists.
export function groupDevices(infos) {
  const lists = { audioinput: [], videoinput: [], audiooutput: [] };
  for (const info of Array.isArray(infos) ? infos : []) {
    const list = lists[info?.kind];
    if (!list) continue;
    const deviceId = typeof info.deviceId === "string" ? info.deviceId : "";
    // The same unnamed device may be listed twice before permission; one entry per id is enough.
    if (deviceId && list.some((d) => d.deviceId === deviceId)) continue;
    const label = typeof info.label === "string" && info.label.trim() ? info.label.trim() : "";
    list.push({ deviceId, groupId: typeof info.groupId === "string" ? info.groupId : "",
      label: label || `${KIND_WORDS[info.kind]} ${list.length + 1}` });
  }
  return lists;
}

function known(list, deviceId) {
  return Boolean(deviceId) && list.some((d) => d.deviceId === deviceId);
}

// Where a pre-join starts: the saved devices when they are still here (else the first of each kind), camera and
// microphone on unless the person turned them off last time or no such device exists. Before permission the browser
// tells no ids: the saved ones are kept then, so the first request already asks for them (as preferred, not required),
// and null when nothing was saved.
export function initialChoice(saved, lists) {
  const pick = (list, id) => {
    if (!list.length) return null;
    if (known(list, id)) return id;
    if (id && !list.some((d) => d.deviceId)) return id;
    return list[0].deviceId || null;
  };
  return {
    videoDeviceId: pick(lists.videoinput, saved?.videoDeviceId),
    audioDeviceId: pick(lists.audioinput, saved?.audioDeviceId),
    outputDeviceId: pick(lists.audiooutput, saved?.outputDeviceId),
    video: lists.videoinput.length > 0 && saved?.video !== false,
    audio: lists.audioinput.length > 0 && saved?.audio !== false,
  };
}

// The saved choice from storage (a Storage-like object), or null; anything malformed is ignored.
export function readSaved(storage) {
  let value;
  try {
    value = JSON.parse(storage?.getItem(SAVED_KEY) || "null");
  } catch {
    return null;
  }
  if (!value || typeof value !== "object") return null;
  const id = (v) => (typeof v === "string" && v.length <= 512 ? v : null);
  return {
    videoDeviceId: id(value.videoDeviceId),
    audioDeviceId: id(value.audioDeviceId),
    outputDeviceId: id(value.outputDeviceId),
    video: value.video !== false,
    audio: value.audio !== false,
  };
}

// Merges `changes` into the saved choice (only the fields given).
export function writeSaved(storage, changes) {
  const next = { ...(readSaved(storage) || {}) };
  for (const key of ["videoDeviceId", "audioDeviceId", "outputDeviceId"]) {
    if (key in changes) next[key] = typeof changes[key] === "string" && changes[key] ? changes[key] : null;
  }
  for (const key of ["video", "audio"]) {
    if (key in changes) next[key] = Boolean(changes[key]);
  }
  try {
    storage?.setItem(SAVED_KEY, JSON.stringify(next));
  } catch {
    // storage full or disabled: the next pre-join simply starts from the defaults
  }
  return next;
}

// What getUserMedia's refusal means: "denied" (the person or the browser said no), "missing" (no such device, or
// the chosen one is gone), "unavailable" (it exists but could not be opened, e.g. another app holds the camera).
export function problemOfError(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "missing";
  return "unavailable";
}

// One code for what the person should be told, from how each kind went: "ok", "denied", "missing",
// "unavailable" or "unsupported" per kind. null when there is nothing to say.
export function problemOf({ audio, video }) {
  if (audio === "unsupported" || video === "unsupported") return "unsupported";
  if (audio === "ok" && video === "ok") return null;
  if (audio === "denied" && video === "denied") return "denied";
  if (audio === "missing" && video === "missing") return "none";
  if (video === "denied") return audio === "ok" ? "camera-denied" : "denied";
  if (audio === "denied") return video === "ok" ? "microphone-denied" : "denied";
  if (audio !== "ok" && video !== "ok") return "unavailable";
  if (video === "missing") return "no-camera";
  if (audio === "missing") return "no-microphone";
  return video === "unavailable" ? "camera-unavailable" : "microphone-unavailable";
}

const PROBLEM_TEXT = {
  denied: "Haven is not allowed to use your camera and microphone. You can allow them in the browser's site "
    + "settings, or join without them.",
  "camera-denied": "Haven is not allowed to use your camera. You can allow it in the browser's site settings, or "
    + "join with your microphone only.",
  "microphone-denied": "Haven is not allowed to use your microphone. You can allow it in the browser's site "
    + "settings, or join with your camera only. The others will not hear you.",
  none: "No camera or microphone was found on this device. You can still join, see and hear the others.",
  "no-camera": "No camera was found on this device, so you will join with your microphone only.",
  "no-microphone": "No microphone was found on this device, so the others will not hear you. You can still join "
    + "with your camera.",
  unavailable: "Your camera and microphone could not be opened. Another app may be using them. You can close it "
    + "and try again, or join without them.",
  "camera-unavailable": "Your camera could not be opened. Another app may be using it. You can close it and try "
    + "again, or join with your microphone only.",
  "microphone-unavailable": "Your microphone could not be opened. Another app may be using it. You can close it and "
    + "try again, or join without it.",
  unsupported: "This browser cannot share a camera or microphone here. You can still join, see and hear the others.",
};

export function problemText(code) {
  return code ? PROBLEM_TEXT[code] || PROBLEM_TEXT.unavailable : "";
}

// Whether trying again could help (a refusal that the person may have just changed in site settings, or a busy
// device), as opposed to no device at all.
export function canRetry(code) {
  return Boolean(code) && code !== "none" && code !== "no-camera" && code !== "no-microphone"
    && code !== "unsupported";
}

// The line under the join button: what joining now will do, in words.
export function joinSummary({ audio, video, hasAudio, hasVideo }) {
  const camera = !hasVideo ? "no camera" : video ? "your camera on" : "your camera off";
  const mic = !hasAudio ? "no microphone" : audio ? "your microphone on" : "your microphone muted";
  return `You will join with ${camera} and ${mic}.`;
}

// The level meter's 0-100 from a root-mean-square amplitude (0..1): -60 dBFS and below is 0, 0 dBFS is 100.
export function levelOf(rms) {
  if (!Number.isFinite(rms) || rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(100, Math.round(((db + 60) / 60) * 100)));
}
