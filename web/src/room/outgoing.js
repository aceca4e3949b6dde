// What this member sends: one MediaStream with the microphone and the camera, or the shared screen in the camera's
// place. The room's connections (mesh and forwarder) read it when they open, and take a changed track through
// replaceTrack (no new negotiation): another device chosen in the room, a screen share starting or ending. While a
// screen is shared the camera's track waits aside, keeping its on/off state, and comes back when the share ends.
import { stopStream } from "../devices/devices.js";

const trackIn = (stream, kind) => (stream ? stream.getTracks().find((t) => t.kind === kind) || null : null);

// replaceOnSenders(kind, track) -> Promise: puts the track on every connection's sender of that kind.
export function createOutgoing({ replaceOnSenders }) {
  let stream = null;
  let cameraAside = null; // the camera's track while a screen is shared
  let screen = null; // the display track while shared

  function swap(kind, track) {
    const old = trackIn(stream, kind);
    if (old === track) return;
    if (old) stream.removeTrack(old);
    if (track) stream.addTrack(track);
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

    // The stream the pre-join chose (null: listening only).
    use(chosen) {
      stream = chosen || null;
    },

    // The microphone's or the camera's own track (the camera's even while a screen is shared in its place).
    device(kind) {
      if (kind === "video" && screen) return cameraAside;
      return trackIn(stream, kind);
    },

    // Another microphone or camera chosen in the room: it goes on the senders (unless a screen is shared in the
    // camera's place) with the old one's on/off state.
    async useDevice(kind, track) {
      if (!track) return;
      const old = this.device(kind);
      track.enabled = old ? old.enabled : true;
      if (kind === "video" && screen) {
        cameraAside = track;
        return;
      }
      if (!stream) stream = new MediaStream();
      swap(kind, track);
      await replaceOnSenders(kind, track);
    },

    // The shared screen takes the camera's place on the senders; false when nothing sends video.
    async share(displayTrack) {
      if (screen || !stream) return false;
      const camera = trackIn(stream, "video");
      if (!camera) return false;
      cameraAside = camera;
      screen = displayTrack;
      swap("video", displayTrack);
      await replaceOnSenders("video", displayTrack);
      return true;
    },

    // The share ends: the camera comes back as it was (on or off). Returns whether the camera was on.
    async unshare() {
      if (!screen) return null;
      const display = screen;
      const camera = cameraAside;
      screen = null;
      cameraAside = null;
      swap("video", camera);
      display.stop();
      await replaceOnSenders("video", camera);
      return Boolean(camera?.enabled);
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
