// Short sounds made with Web Audio (nothing downloaded): a two-note chime for a support request, a softer rising
// one for someone arriving in the waiting room. Silent where audio cannot start; a badge and an announcement
// always say the same thing in words.
export const SUPPORT_NOTES = [[660, 0], [880, 0.18]];
export const ARRIVAL_NOTES = [[523, 0], [784, 0.14]];

export function chime(notes = SUPPORT_NOTES, volume = 0.2) {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    const ctx = new Context();
    const t = ctx.currentTime;
    for (const [freq, at] of notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + at);
      gain.gain.exponentialRampToValueAtTime(volume, t + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + at);
      osc.stop(t + at + 0.18);
    }
    setTimeout(() => ctx.close().catch(() => {}), 800);
  } catch {
    // no sound; the badge and the announcement still say it
  }
}
