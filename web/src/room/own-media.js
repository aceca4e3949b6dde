// One's own microphone, camera and screen in the room: turning them off (at once, then telling the room) and on
// (after the room agrees: a facilitator's mute may stand), bringing them into line with the server's flags on entry,
// a facilitator's mute, and sharing the screen in the camera's place (outgoing.js swaps the tracks).
import { KINDS, KIND_WORD, Phase, canShareScreen, selfParticipant } from "./state.js";

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
export function createOwnMedia({ roomId, outgoing, request, act, room, changed, notice, showError, signal }) {
  const busy = { audio: false, video: false };
  const joined = () => room().phase === Phase.JOINED;

  async function turnOff(kind) {
    const track = outgoing.device(kind);
    if (!track) return;
    track.enabled = false; // at once: privacy first, then tell the room
    changed();
    if (joined()) await act("room:media", { room_id: roomId, kind, enabled: false });
  }

  async function turnOn(kind) {
    const track = outgoing.device(kind);
    if (!track || busy[kind]) return;
    if (joined()) {
      busy[kind] = true;
      changed();
      const ack = await act("room:media", { room_id: roomId, kind, enabled: true });
      busy[kind] = false;
      if (signal.aborted) return;
      if (!ack.ok) {
        changed(); // refused (e.g. a facilitator's mute stands): the track stays off
        return;
      }
    }
    track.enabled = true;
    notice.clear(kind);
    changed();
  }

  // The share ends: the camera comes back as it was. tell: say so to the room (not when the server ended it);
  // keepOff: the camera stays off (a facilitator turned the video off).
  async function stopShare({ tell = true, keepOff = false } = {}) {
    if (!outgoing.sharing) return;
    const camera = outgoing.device("video");
    if (keepOff && camera) camera.enabled = false;
    const cameraOn = await outgoing.unshare();
    if (tell && joined()) {
      await request("room:screen", { room_id: roomId, sharing: false });
      if (!cameraOn) await request("room:media", { room_id: roomId, kind: "video", enabled: false });
    }
    changed();
  }

  async function startShare() {
    if (!canShareScreen(room()) || outgoing.sharing || !canShareDisplay()) return;
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
    const ack = signal.aborted ? { ok: false } : await act("room:screen", { room_id: roomId, sharing: true });
    if (!ack.ok || !joined()) {
      display.stop();
      return;
    }
    const videoOn = selfParticipant(room())?.video === true;
    await outgoing.share(display);
    display.addEventListener("ended", () => stopShare()); // the browser's own "Stop sharing"
    if (!videoOn) await request("room:media", { room_id: roomId, kind: "video", enabled: true });
    changed();
  }

  return {
    busy,
    turnOn,
    stopShare,
    toggle(kind) {
      const track = outgoing.device(kind);
      if (!track || busy[kind] || (kind === "video" && outgoing.sharing)) return;
      if (track.enabled) turnOff(kind);
      else turnOn(kind);
    },
    toggleShare() {
      if (outgoing.sharing) stopShare();
      else startShare();
    },

    // On entry the server's flags and the local tracks are brought into line: a kind the server has off (a
    // facilitator's mute that still stands) goes off here; a kind we have off (the pre-join's choice, or no device)
    // is turned off there, so no one sees or hears it until we turn it on.
    syncOnEntry() {
      const me = selfParticipant(room());
      for (const kind of KINDS) {
        const track = outgoing.device(kind);
        const localOn = Boolean(track && track.enabled);
        const serverOn = me ? me[kind] !== false : true;
        if (!serverOn && track) track.enabled = false;
        else if (serverOn && !localOn) request("room:media", { room_id: roomId, kind, enabled: false });
      }
    },

    // room:muted: a facilitator turned our microphone or camera off (a camera's share ends with it).
    mutedByFacilitator(kind) {
      if (kind === "video" && outgoing.sharing) stopShare({ tell: false, keepOff: true });
      const track = outgoing.device(kind);
      if (track) track.enabled = false;
      const allowed = room().selfUnmuteAllowed;
      const after = allowed === false ? " A facilitator can ask you to turn it back on."
        : allowed === true ? " You can turn it back on when you are ready." : "";
      notice.show(`A facilitator muted your ${KIND_WORD[kind]}.${after}`, [], kind);
      changed();
    },
  };
}
