// The local camera and microphone.

export const CONSTRAINTS = { audio: true, video: { width: 640, height: 480 } };

// Asks for the camera and microphone. If both cannot be had (no camera, camera busy), tries the
// microphone alone. Resolves to { stream, error }: stream is null when nothing could be opened,
// and error names why (for a calm message), null when everything asked for was granted.
export async function openLocalMedia() {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices || typeof devices.getUserMedia !== "function") return { stream: null, error: "unsupported" };
  try {
    return { stream: await devices.getUserMedia(CONSTRAINTS), error: null };
  } catch (err) {
    const name = err?.name || "Error";
    if (name === "NotAllowedError" || name === "SecurityError") return { stream: null, error: "denied" };
    try {
      return { stream: await devices.getUserMedia({ audio: true }), error: "no-camera" };
    } catch {
      return { stream: null, error: "unavailable" };
    }
  }
}

export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

export function trackOf(stream, kind) {
  return stream ? stream.getTracks().find((t) => t.kind === kind) || null : null;
}

export const MEDIA_PROBLEMS = {
  denied: "Camera and microphone are not allowed for Haven in this browser. You can still join and listen.",
  unavailable: "We could not open a camera or microphone. You can still join and listen.",
  unsupported: "This browser cannot share a camera or microphone here. You can still join and listen.",
  "no-camera": "We could not open your camera, so you will join with your microphone only.",
};
