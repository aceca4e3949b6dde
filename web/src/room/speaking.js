// Who is speaking, measured in this browser: for a mesh room, where no forwarder sends room:speakers. One
// AnalyserNode per member's audio track (remote ones, and our own microphone), read a few times a second; a member
// counts as speaking while their level stays above a threshold, and a little after (so a tile does not flicker
// between words). onChange gets the speakers, loudest first, whenever that list changes.
const EVERY_MS = 200;
const THRESHOLD = 0.02; // RMS of the signal, 0..1: well above a quiet room's hiss
const HOLD_MS = 600;

// The RMS level of a buffer of unsigned bytes centred on 128 (AnalyserNode.getByteTimeDomainData).
export function levelOf(bytes) {
  if (!bytes || bytes.length === 0) return 0;
  let sum = 0;
  for (const b of bytes) {
    const v = (b - 128) / 128;
    sum += v * v;
  }
  return Math.sqrt(sum / bytes.length);
}

export function createSpeakingMeter({ onChange, now = () => Date.now() }) {
  let ctx = null;
  let timer = null;
  let current = [];
  const watched = new Map(); // user id -> {track, source, analyser, data, loudUntil, level}

  function context() {
    if (ctx) return ctx;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    ctx = new Context();
    return ctx;
  }

  function tick() {
    const t = now();
    const loud = [];
    for (const [userId, w] of watched) {
      w.analyser.getByteTimeDomainData(w.data);
      w.level = w.track.enabled && w.track.readyState === "live" ? levelOf(w.data) : 0;
      if (w.level > THRESHOLD) w.loudUntil = t + HOLD_MS;
      if (w.loudUntil > t) loud.push([userId, w.level]);
    }
    const next = loud.sort((a, b) => b[1] - a[1]).map(([id]) => id);
    const changed = next.length !== current.length || next.some((id) => !current.includes(id));
    current = next;
    if (changed) onChange(next);
  }

  function unwatch(userId) {
    const w = watched.get(userId);
    if (!w) return;
    watched.delete(userId);
    try {
      w.source.disconnect();
    } catch {
      // already disconnected
    }
  }

  return {
    // Lets audio start (call it from a person's gesture, such as Join): browsers keep a new AudioContext suspended.
    start() {
      context()?.resume?.().catch(() => {});
    },
    watch(userId, track) {
      if (!userId || !track || track.kind !== "audio") return;
      if (watched.get(userId)?.track === track) return;
      unwatch(userId);
      const audio = context();
      if (!audio) return;
      try {
        const source = audio.createMediaStreamSource(new MediaStream([track]));
        const analyser = audio.createAnalyser();
        analyser.fftSize = 512;
        source.connect(analyser);
        const data = new Uint8Array(analyser.fftSize);
        watched.set(userId, { track, source, analyser, data, loudUntil: 0, level: 0 });
      } catch {
        return; // this browser cannot measure that track: no indicator for it
      }
      if (!timer) timer = setInterval(tick, EVERY_MS);
    },
    unwatch,
    clear() {
      for (const id of [...watched.keys()]) unwatch(id);
      if (current.length) {
        current = [];
        onChange([]);
      }
    },
    destroy() {
      clearInterval(timer);
      timer = null;
      for (const id of [...watched.keys()]) unwatch(id);
      ctx?.close().catch(() => {});
      ctx = null;
    },
  };
}
