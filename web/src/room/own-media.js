// One's own microphone, camera and screen in the room: turning them off (at once, then telling the room) and on
// (after the room agrees: a facilitator's mute may stand), bringing them into line with the server's flags on entry,
// a facilitator's mute, and sharing the screen in the camera's place (outgoing.js swaps the tracks). A camera turned
// off, by the person or a facilitator, goes dark at once and is let go a moment later (its light goes out); the
// moment between lets a few black frames reach the others, so nobody keeps a frozen face on their screen.
import { KINDS, KIND_WORD, Phase, canShareScreen, selfParticipant } from "./state.js";

// How long a camera turned off stays open (sending black frames) before it is let go.
export const CAMERA_RELEASE_MS = 1000;
export const CAMERA_PROBLEM = {
  denied: "Haven is not allowed to use your camera now. You can allow it in the browser's site settings.",
  unavailable: "Your camera could not be turned back on. Another app may be using it.",
};
const cameraProblem = (err) => CAMERA_PROBLEM[err?.problem === "denied" ? "denied" : "unavailable"];

export const canShareDisplay = () => typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === "function";

/**
 * @param {object} options
 * @param {string} options.roomId
 * @param {ReturnType<import("./outgoing.js").createOutgoing>} options.outgoing
 * @param {(event: string, payload: object) => Promise<object>} options.request a request nobody needs to hear of
 * @param {(event: string, payload: object) => Promise<object>} options.act a request whose refusal is shown
 * @param {() => object} options.room the room state (state.js)
 * @param {() => void} options.changed something to draw again
 * @param {{show: Function, clear: Function}} options.notice the room's notice area
 * @param {(text: string) => void} options.showError
 * @param {AbortSignal} options.signal
 */
export function createOwnMedia({ roomId, outgoing, request, act, room, changed, notice, showError, signal,
  releaseAfterMs = CAMERA_RELEASE_MS }) {
  const busy = { audio: false, video: false };
  let starting = false; // a share on its way (the browser's picker, then the room's answer)
  let releaseTimer = null;
  let cameraTurns = 0; // counts the camera's turns off, so an opening overtaken by one is dropped
  const joined = () => room().phase === Phase.JOINED;
  signal.addEventListener("abort", () => clearTimeout(releaseTimer), { once: true });

  // The camera goes dark now and is let go a moment later, if it is still off then.
  function darken() {
    const camera = outgoing.device("video");
    cameraTurns += 1;
    if (!camera) return;
    camera.enabled = false;
    clearTimeout(releaseTimer);
    releaseTimer = setTimeout(() => {
      releaseTimer = null;
      if (signal.aborted) return;
      outgoing.releaseCamera().then((released) => {
        if (released && !signal.aborted) changed();
      });
    }, releaseAfterMs);
  }

  async function turnOff(kind) {
    const track = outgoing.device(kind);
    if (!track) return;
    if (kind === "video") darken();
    else track.enabled = false; // at once: privacy first, then tell the room
    changed();
    if (joined()) await act("room:media", { room_id: roomId, kind, enabled: false });
  }

  // A camera that was let go opens again (the device in use before). False when it could not be, or when it was
  // turned off (or the room left) meanwhile; the room is then told the camera is off, if it had been told on.
  async function reopenCamera(told) {
    const turn = cameraTurns;
    try {
      const track = await outgoing.reopenCamera();
      if (turn === cameraTurns && !signal.aborted && track === outgoing.device("video")) return true;
      if (track && track === outgoing.device("video")) darken();
      return false;
    } catch (err) {
      if (signal.aborted) return false;
      showError(cameraProblem(err));
      if (told && joined()) await request("room:media", { room_id: roomId, kind: "video", enabled: false });
      return false;
    }
  }

  async function turnOn(kind) {
    const track = outgoing.device(kind);
    if (!track || busy[kind]) return;
    busy[kind] = true;
    changed();
    try {
      if (joined()) {
        const ack = await act("room:media", { room_id: roomId, kind, enabled: true });
        if (signal.aborted) return;
        if (!ack.ok) return; // refused (e.g. a facilitator's mute stands): the track stays off
      }
      const current = outgoing.device(kind); // (another device may have been chosen meanwhile)
      if (!current) return;
      if (kind === "video" && current.readyState === "ended") {
        if (!(await reopenCamera(joined()))) return;
      } else {
        current.enabled = true; // a camera turned on again within the moment is still open, and is not let go
      }
      notice.clear(kind);
    } finally {
      busy[kind] = false;
      if (!signal.aborted) changed();
    }
  }

  // The share ends: the camera comes back as it was. tell: say so to the room (not when the server ended it);
  // keepOff: a facilitator turned the video off (the camera stays off, and the server has it off already).
  // Whoever ended it, a camera that was off before the share is said to be off again: sharing had turned the
  // room's video flag on.
  async function stopShare({ tell = true, keepOff = false } = {}) {
    if (!outgoing.sharing) return;
    const camera = outgoing.device("video");
    if (keepOff && camera) camera.enabled = false;
    const wasOn = Boolean(camera?.enabled);
    const cameraOn = await outgoing.unshare();
    if (wasOn && !cameraOn && !signal.aborted) showError(CAMERA_PROBLEM.unavailable);
    if (joined() && !signal.aborted) {
      if (tell) await request("room:screen", { room_id: roomId, sharing: false });
      if (!cameraOn && !keepOff) await request("room:media", { room_id: roomId, kind: "video", enabled: false });
    }
    changed();
  }

  // The capture ended, or was not wanted after all, before it went out: the room hears that we do not share.
  function dropCapture(display, told) {
    display.stop();
    if (told && joined()) request("room:screen", { room_id: roomId, sharing: false });
  }

  async function share() {
    if (!outgoing.device("video")) {
      showError("Sharing your screen needs a camera connection to the room, and this device has no camera.");
      return;
    }
    let display;
    try {
      display = (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })).getVideoTracks()[0];
    } catch (err) {
      // NotAllowedError: the person chose not to share after all.
      if (err?.name !== "NotAllowedError" && err?.name !== "AbortError") {
        showError("Your screen could not be shared from this browser.");
      }
      return;
    }
    if (!display) return;
    // The browser's own "Stop sharing" may be pressed at any moment from here on: once the screen is on the
    // senders it ends the share; before that, the checks below see the track ended.
    display.addEventListener("ended", () => {
      if (outgoing.screenTrack === display) stopShare();
    });
    const ended = () => display.readyState === "ended";
    if (signal.aborted || ended() || !joined() || !canShareScreen(room())) {
      dropCapture(display, false);
      return;
    }
    const ack = await act("room:screen", { room_id: roomId, sharing: true });
    if (!ack.ok || signal.aborted || ended() || !joined()) {
      dropCapture(display, ack.ok);
      return;
    }
    const videoOn = selfParticipant(room())?.video === true;
    const shared = await outgoing.share(display);
    if (!shared) {
      dropCapture(display, true);
      return;
    }
    if (outgoing.screenTrack !== display) return; // ended meanwhile: stopShare put the camera back
    if (ended()) {
      await stopShare();
      return;
    }
    if (!videoOn) await request("room:media", { room_id: roomId, kind: "video", enabled: true });
  }

  async function startShare() {
    if (starting || outgoing.sharing || !canShareScreen(room()) || !canShareDisplay()) return;
    starting = true;
    changed();
    try {
      await share();
    } finally {
      starting = false;
      if (!signal.aborted) changed();
    }
  }

  // After a reconnect the room's record of our share may have fallen behind (a new place after a long drop, or the
  // page coming back while the server still had us sharing): say it again, or stop if the room will not have it.
  async function resumeShare() {
    const ack = await request("room:screen", { room_id: roomId, sharing: true });
    if (ack.ok || signal.aborted || ack.error?.code === "offline") return; // offline: the next entry tries again
    await stopShare();
  }

  return {
    busy,
    get starting() {
      return starting;
    },
    turnOn,
    stopShare,
    toggle(kind) {
      const track = outgoing.device(kind);
      if (!track || busy[kind] || (kind === "video" && outgoing.sharing)) return;
      if (track.enabled) turnOff(kind);
      else turnOn(kind);
    },
    toggleShare() {
      return outgoing.sharing ? stopShare() : startShare();
    },

    // On entry the server's flags and the local tracks are brought into line: a kind the server has off (a
    // facilitator's mute that still stands) goes off here; a kind we have off (the pre-join's choice, or no device)
    // is turned off there, so no one sees or hears it until we turn it on. While a screen is shared the video is on
    // (the screen is the video), and the room's `screen` flag is made to agree with what this page does.
    syncOnEntry() {
      const me = selfParticipant(room());
      if (outgoing.sharing && me && me.video === false) {
        stopShare({ tell: false, keepOff: true }); // the room has our video off: the share cannot go on
      } else if (outgoing.sharing && me && me.screen !== true) {
        resumeShare();
      } else if (!outgoing.sharing && me?.screen === true) {
        request("room:screen", { room_id: roomId, sharing: false }); // a share this page no longer has
      }
      for (const kind of KINDS) {
        const track = outgoing.device(kind);
        const localOn = kind === "video" && outgoing.sharing ? true : Boolean(track && track.enabled);
        const serverOn = me ? me[kind] !== false : true;
        if (!serverOn && track && kind === "video") darken();
        else if (!serverOn && track) track.enabled = false;
        else if (serverOn && !localOn) request("room:media", { room_id: roomId, kind, enabled: false });
      }
    },

    // room:muted: a facilitator turned our microphone or camera off (a camera's share ends with it).
    mutedByFacilitator(kind) {
      if (kind === "video" && outgoing.sharing) stopShare({ tell: false, keepOff: true });
      const track = outgoing.device(kind);
      if (track && kind === "video") darken();
      else if (track) track.enabled = false;
      const allowed = room().selfUnmuteAllowed;
      const after = allowed === false ? " A facilitator can ask you to turn it back on."
        : allowed === true ? " You can turn it back on when you are ready." : "";
      notice.show(`A facilitator muted your ${KIND_WORD[kind]}.${after}`, [], kind);
      changed();
    },
  };
}
