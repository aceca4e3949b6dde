// How an incoming call gets the person's attention beyond the page: a ring (made with Web Audio, on the speakers they
// chose, or the default ones when those cannot be used) that repeats until it is answered, declined or over, and,
// when the tab is in the background and they allowed it, a system notification whose click brings the tab forward.
// Permission is only ever asked from a button press.
import { savedChoice } from "../devices/devices.js";
import { playTones } from "../devices/tone.js";

// Two soft double chimes, then quiet: a ring that is clear without being alarming.
const RING_NOTES = [
  { frequency: 659.25, start: 0, duration: 0.16 },
  { frequency: 880, start: 0.2, duration: 0.22 },
  { frequency: 659.25, start: 0.6, duration: 0.16 },
  { frequency: 880, start: 0.8, duration: 0.22 },
];
const RING_EVERY_MS = 3000;

export function createRinger() {
  let timer = null;
  let tone = null;
  const ringOnce = () => {
    tone?.stop();
    tone = playTones(RING_NOTES, { outputDeviceId: savedChoice()?.outputDeviceId || null, volume: 0.18,
      fallback: true });
  };
  return {
    get ringing() {
      return timer !== null;
    },
    start() {
      if (timer !== null) return;
      ringOnce();
      timer = setInterval(ringOnce, RING_EVERY_MS);
    },
    stop() {
      clearInterval(timer);
      timer = null;
      tone?.stop();
      tone = null;
    },
  };
}

/** "granted", "denied", "default", or "unsupported" when this browser has no notifications. */
export function notificationPermission() {
  return typeof globalThis.Notification === "function" ? globalThis.Notification.permission : "unsupported";
}

/** Asks for permission to notify (call it from a button press). Resolves to the new permission. */
export async function askNotificationPermission() {
  if (notificationPermission() === "unsupported") return "unsupported";
  try {
    return await globalThis.Notification.requestPermission();
  } catch {
    return notificationPermission();
  }
}

/**
 * A system notification for a ringing call, if permitted; its click focuses this tab. Returns close(), which does
 * nothing when none was shown.
 */
export function notifyIncomingCall({ name, callId }) {
  if (notificationPermission() !== "granted") return () => {};
  let notification;
  try {
    notification = new globalThis.Notification(`${name} is calling`, {
      body: "Open Haven to answer or decline.",
      tag: `haven-call-${callId}`,
      requireInteraction: true,
    });
  } catch {
    return () => {}; // browsers that only notify through a service worker
  }
  notification.onclick = () => {
    window.focus();
    notification.close();
  };
  return () => notification.close();
}
