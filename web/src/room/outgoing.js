// What this member sends: one MediaStream with the microphone and the camera, or the shared screen in the camera's
// place. The room's connections (mesh and forwarder) read it when they open, and take a changed track through
// replaceTrack (no new negotiation): another device chosen in the room, a screen share starting or ending, the camera
// let go or opened again.
//
// The camera is held only while it is on and shown: a camera turned off (or waiting aside while a screen is shared)
// is stopped, so its light goes out: in a support group that light reads as "they can see me". Its stopped track
// stays in the stream (ended, disabled) so the room still knows this member has a camera and whether it is on, and
// the connections keep their video sender (with no track on it) for the camera's return.
import { deviceIdOf, openTrack, stopStream } from "../devices/devices.js";

const trackIn = (stream, kind) => (stream ? stream.getTracks().find((t) => t.kind === kind) || null : null);
export const isLive = (track) => Boolean(track) && track.readyState !== "ended";
// What goes on the senders for a track: nothing for a stopped one (the sender stays, ready for the next).
const onSender = (track) => (isLive(track) ? track : null);

// Opens the camera the person chose (or last used); when that one is gone (not a refusal), the default one.
export async function openCamera(deviceId) {
  try {
    return await openTrack("video", deviceId || null);
  } catch (err) {
    if (!deviceId || err?.problem === "denied") throw err;
    return openTrack("video", null);
  }
}

// replaceOnSenders(kind, track|null) -> Promise: puts the track on every connection's sender of that kind.
// open(deviceId) -> Promise<MediaStreamTrack>: opens a camera again (devices.js by default; tests give stand-ins).
export function createOutgoing({ replaceOnSenders, open = openCamera }) {
  let stream = null;
  let cameraAside = null; // the camera's (stopped) track while a screen is shared; its `enabled` says on or off
  let screen = null; // the display track while shared
  let cameraId = null; // the camera device in use, remembered when its track stops

  function swap(kind, track) {
    const old = trackIn(stream, kind);
    if (old === track) return;
    if (old) stream.removeTrack(old);
    if (track) stream.addTrack(track);
  }

  // Stops a camera track, keeping its on/off state and which device it was.
  function release(track) {
    if (!isLive(track)) return false;
    cameraId = deviceIdOf(track) || cameraId;
    track.stop();
    return true;
  }

  return {
    get stream() {
      return stream;
    },
    get sharing() {
      return screen !== null;
    },
    get screenTrack() {
      return screen;
    },
    get cameraId() {
      return cameraId;
    },

    // The stream the pre-join chose (null: listening only), and the camera it chose.
    use(chosen, { videoDeviceId = null } = {}) {
      stream = chosen || null;
      cameraId = deviceIdOf(trackIn(stream, "video")) || videoDeviceId || null;
    },

    // The microphone's or the camera's own track (the camera's even while a screen is shared in its place). A
    // camera track may be ended: the camera is off and let go.
    device(kind) {
      if (kind === "video" && screen) return cameraAside;
      return trackIn(stream, kind);
    },

    // Whether the camera is on (a camera off, or turned on and not yet opened again, is not).
    get cameraOn() {
      const camera = this.device("video");
      return Boolean(camera?.enabled) && isLive(camera);
    },

    // The camera is off: its track stops (the light goes out) and the senders send no video; true if it was held.
    async releaseCamera() {
      const camera = this.device("video");
      if (!camera || camera.enabled || !release(camera)) return false;
      if (!screen) await replaceOnSenders("video", null);
      return true;
    },

    // The camera turned on again: the same device (or the default, if it is gone) opens and goes on the senders,
    // or waits aside while a screen is shared. Throws (with .problem) when it cannot be opened.
    async reopenCamera() {
      const camera = this.device("video");
      if (!camera) return null;
      const track = await open(cameraId);
      track.enabled = true;
      await this.useDevice("video", track, { enabled: true });
      return track;
    },

    // Another microphone or camera chosen in the room (or a camera opened again): it goes on the senders (unless a
    // screen is shared in the camera's place) with the old one's on/off state. A camera that is off (or aside) is
    // let go at once: only its device is remembered.
    async useDevice(kind, track, { enabled } = {}) {
      if (!track) return;
      const old = this.device(kind);
      track.enabled = enabled ?? (old ? old.enabled : true);
      if (kind === "video") {
        cameraId = deviceIdOf(track) || cameraId;
        if (screen || !track.enabled) release(track);
        if (screen) {
          cameraAside = track;
          return;
        }
      }
      if (!stream) stream = new MediaStream();
      swap(kind, track);
      await replaceOnSenders(kind, onSender(track));
    },

    // The shared screen takes the camera's place on the senders, and the camera is let go meanwhile (it is not
    // shown); false when nothing sends video.
    async share(displayTrack) {
      if (screen || !stream) return false;
      const camera = trackIn(stream, "video");
      if (!camera) return false;
      cameraAside = camera;
      screen = displayTrack;
      swap("video", displayTrack);
      await replaceOnSenders("video", displayTrack);
      release(camera);
      return true;
    },

    // The share ends: the camera comes back as it was: opened again if it was on, nothing if off. Returns whether
    // the camera is on now (false too when it was on but could not be opened again: then it is off).
    async unshare() {
      if (!screen) return null;
      const display = screen;
      const camera = cameraAside;
      screen = null;
      cameraAside = null;
      swap("video", camera);
      display.stop();
      if (camera?.enabled && !isLive(camera)) {
        try {
          const track = await open(cameraId);
          track.enabled = true;
          if (screen || trackIn(stream, "video") !== camera) {
            track.stop(); // a share began again, or the room was left, meanwhile
            return false;
          }
          swap("video", track);
          await replaceOnSenders("video", track);
          return true;
        } catch {
          camera.enabled = false; // it stays off
        }
      }
      await replaceOnSenders("video", onSender(camera));
      return this.cameraOn;
    },

    stop() {
      screen?.stop();
      cameraAside?.stop();
      stopStream(stream);
      screen = null;
      cameraAside = null;
      stream = null;
    },
  };
}
