// The microphone level: a bar (role="meter") that moves with the sound the microphone hears, so a person can see it
// works before anyone else hears them. Web Audio's AnalyserNode reads the level; it is drawn on animation frames only
// while the bar is on screen, and everything is released when the meter stops.
import { h } from "../dom.js";
import { levelOf } from "./choice.js";

const AudioContextClass = () => globalThis.AudioContext || globalThis.webkitAudioContext || null;
const DECAY = 0.85; // how fast the bar falls back when the sound stops (per frame)

/**
 * @param {{id?: string, label?: string}} [options]
 * @returns {{el: HTMLElement, setTrack: (track: MediaStreamTrack|null) => void, stop: () => void}}
 */
export function createMeter({ id = "prejoin-meter", label = "Microphone level" } = {}) {
  const fill = h("span", { class: "meter-fill" });
  const el = h("div", { id, class: "meter", role: "meter", "aria-label": label, "aria-valuemin": "0",
    "aria-valuemax": "100", "aria-valuenow": "0", "aria-valuetext": "Silent" }, fill);

  let context = null;
  let source = null;
  let analyser = null;
  let samples = null;
  let frame = 0;
  let shown = false;
  let level = 0;
  let spoken = -1;
  let stopped = false;

  const observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
      shown = entries.some((e) => e.isIntersecting);
      schedule();
    })
    : null;
  if (observer) observer.observe(el);
  else shown = true;

  function paint(value) {
    fill.style.transform = `scaleX(${value / 100})`;
    // The attribute follows in steps of 5, enough for assistive technology and cheaper than every frame.
    const step = Math.round(value / 5) * 5;
    if (step !== spoken) {
      spoken = step;
      el.setAttribute("aria-valuenow", String(step));
      el.setAttribute("aria-valuetext", step === 0 ? "Silent" : step < 35 ? "Quiet" : step < 75 ? "Good" : "Loud");
    }
  }

  function tick() {
    frame = 0;
    if (!analyser || stopped) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    level = Math.max(levelOf(Math.sqrt(sum / samples.length)), level * DECAY);
    paint(level);
    schedule();
  }

  function schedule() {
    const run = shown && analyser && !stopped && el.isConnected;
    if (run && !frame) frame = requestAnimationFrame(tick);
    if (!run && frame) {
      cancelAnimationFrame(frame);
      frame = 0;
    }
  }

  function release() {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    source?.disconnect();
    source = null;
    analyser = null;
  }

  function resume() {
    if (context?.state === "suspended") context.resume().catch(() => {});
  }

  return {
    el,
    // The microphone to follow (null: the bar rests at zero). A disabled track reads as silence.
    setTrack(track) {
      release();
      level = 0;
      paint(0);
      const AC = AudioContextClass();
      if (stopped || !track || !AC) return;
      try {
        context ??= new AC();
        source = context.createMediaStreamSource(new MediaStream([track]));
        analyser = context.createAnalyser();
        analyser.fftSize = 1024;
        samples = new Float32Array(analyser.fftSize);
        source.connect(analyser); // not to the destination: the person does not hear themselves
      } catch {
        release();
        return;
      }
      // Audio may wait for a gesture in some browsers; any press in the page lets it start.
      resume();
      if (context.state === "suspended") document.addEventListener("pointerdown", resume, { once: true });
      schedule();
    },
    stop() {
      stopped = true;
      release();
      observer?.disconnect();
      document.removeEventListener("pointerdown", resume);
      context?.close().catch(() => {});
      context = null;
    },
  };
}
