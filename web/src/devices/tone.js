// Short tones Haven makes itself (the speaker test, the ring of an incoming call), with no sound files. An
// OscillatorNode plays into a MediaStreamDestination, heard through an <audio> element so that the speakers the
// person chose (setSinkId) play it.

const AudioContextClass = () => globalThis.AudioContext || globalThis.webkitAudioContext || null;
const RAMP_S = 0.02; // a soft start and end of each note, so it does not click

/**
 * Plays notes [{frequency, start, duration}] (seconds from now) at `volume` (0..1) on `outputDeviceId` (or the
 * default output). When those speakers cannot be used (gone, or not allowed), `fallback` plays on the default output
 * instead (the ring: better heard anywhere than not at all); without it nothing plays (the speaker test, which is
 * about those speakers). Returns {done: Promise<boolean>, stop()}: done resolves true once played, false when it
 * could not play or was stopped.
 */
export function playTones(notes, { outputDeviceId = null, volume = 0.2, fallback = false } = {}) {
  const AC = AudioContextClass();
  if (!AC || !notes.length) return { done: Promise.resolve(false), stop() {} };
  let context;
  try {
    context = new AC();
  } catch {
    return { done: Promise.resolve(false), stop() {} };
  }
  const destination = context.createMediaStreamDestination();
  const gain = context.createGain();
  const oscillator = context.createOscillator();
  oscillator.type = "sine";
  gain.gain.value = 0;
  oscillator.connect(gain).connect(destination);

  const audio = new Audio();
  audio.srcObject = destination.stream;
  let finished = false;
  let settle;
  const done = new Promise((resolve) => {
    settle = resolve;
  });
  let timer = null;

  function end(played) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try {
      oscillator.stop();
    } catch {
      // never started
    }
    audio.pause();
    audio.srcObject = null;
    context.close().catch(() => {});
    settle(played);
  }

  (async () => {
    try {
      if (outputDeviceId && typeof audio.setSinkId === "function") {
        try {
          await audio.setSinkId(outputDeviceId);
        } catch (err) {
          if (!fallback) throw err;
        }
      }
      if (context.state === "suspended") await context.resume();
      await audio.play();
    } catch {
      end(false);
      return;
    }
    if (finished) return;
    const t0 = context.currentTime + 0.05;
    let last = 0;
    for (const note of notes) {
      const start = t0 + note.start;
      const stop = start + note.duration;
      oscillator.frequency.setValueAtTime(note.frequency, start);
      gain.gain.setValueAtTime(0, start);
      gain.gain.linearRampToValueAtTime(volume, start + RAMP_S);
      gain.gain.setValueAtTime(volume, Math.max(start + RAMP_S, stop - RAMP_S));
      gain.gain.linearRampToValueAtTime(0, stop);
      last = Math.max(last, note.start + note.duration);
    }
    oscillator.start(t0);
    timer = setTimeout(() => end(true), (last + 0.2) * 1000);
  })();

  return { done, stop: () => end(false) };
}

// The speaker test: three rising notes, about a second and a half.
export const TEST_NOTES = [
  { frequency: 523.25, start: 0, duration: 0.4 },
  { frequency: 659.25, start: 0.45, duration: 0.4 },
  { frequency: 783.99, start: 0.9, duration: 0.6 },
];
