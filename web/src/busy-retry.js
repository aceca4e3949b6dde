// The server's `busy` refusal: a saturated node refuses a request (or a connect) at once, before doing anything, with
// a hint of when to come back, `retry_after_ms`. Since nothing was done, the very same request is sent again (a
// chat:send with the same client_id, so the server still stores it once) after the hint and a random jitter of up to
// half of it, so that the clients refused together do not all come back together. A few attempts at most, within a
// deadline: past them the last refusal is the answer, reported to the person as any other.
export const BUSY = "busy";
export const MAX_BUSY_ATTEMPTS = 5; // sends in all, the first one included
export const BUSY_DEADLINE_MS = 30000; // from the first send; no retry is sent later than this
// The protocol's bounds for the hint; a hint outside them (or none) is brought back into them.
export const MIN_HINT_MS = 50;
export const MAX_HINT_MS = 30000;
const DEFAULT_HINT_MS = 1000;

// The hint of a busy refusal, in milliseconds, from an ack's `error` or a connect_error's `data`; null for anything
// that is not a busy refusal.
export function busyHintOf(error) {
  if (!error || typeof error !== "object" || error.code !== BUSY) return null;
  const hint = error.retry_after_ms;
  if (typeof hint !== "number" || !Number.isFinite(hint)) return DEFAULT_HINT_MS;
  return Math.min(MAX_HINT_MS, Math.max(MIN_HINT_MS, Math.round(hint)));
}

// How long to wait after a hint: the hint itself and a jitter of up to half of it. random() is in [0, 1).
export function busyDelay(hintMs, random = Math.random) {
  return hintMs + Math.floor(random() * (hintMs / 2));
}

// When to connect again after a connect refused with `data`: the busy delay, or null when it is not busy (the
// connection's usual handling applies).
export function busyReconnectDelay(data, random = Math.random) {
  const hint = busyHintOf(data);
  return hint === null ? null : busyDelay(hint, random);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls send() until its answer is not a busy refusal, waiting as the refusal asks between calls. Resolves to the
 * last answer: a busy refusal only when the attempts or the deadline ran out. Never rejects unless send() does.
 * @param {() => Promise<object>} send one attempt, resolving to the ack ({ok, error?})
 * @param {object} [options]
 * @param {(retry: {attempt: number, delayMs: number}) => void} [options.onBusy] told before each wait
 * @param {() => number} [options.now]
 * @param {() => number} [options.random]
 * @param {(ms: number) => Promise<void>} [options.wait]
 */
export async function retryWhileBusy(send, { onBusy = () => {}, now = Date.now, random = Math.random,
  wait = sleep } = {}) {
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    const ack = await send();
    const hint = ack?.ok === false ? busyHintOf(ack.error) : null;
    if (hint === null || attempt >= MAX_BUSY_ATTEMPTS) return ack;
    const delayMs = busyDelay(hint, random);
    if (now() + delayMs - started > BUSY_DEADLINE_MS) return ack;
    onBusy({ attempt, delayMs });
    await wait(delayMs);
  }
}
