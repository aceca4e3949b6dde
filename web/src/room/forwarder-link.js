// The one RTCPeerConnection of a forwarded group room: this member's camera and microphone go up to Haven's
// forwarder once, and everyone else's media comes down on the same connection (docs/protocol.md, "Through the
// forwarder").
//
// Negotiation: we offer first (our own media), the forwarder answers; from then on it offers whenever
// what we receive changes, and we answer. Everything done to the connection is serialized, one signal at a time, so
// a candidate never overtakes its description and two offers are never handled at once. Should our offer meet one of
// the forwarder's (it says `conflict`, or its offer arrives first), ours is rolled back, theirs answered, and ours
// sent again. Our ICE candidates are trickled once the forwarder has our offer (its ack, or its answer); the
// forwarder's own are all in its SDP.
//
// Each track the forwarder sends carries the publisher's user id as its stream id. The link reports tracks by a key
// of its own (onTrack), when they go quiet or come back (onTrackLive: muted, e.g. inactive after a renegotiation or
// held by a facilitator's mute), and when they leave their stream (onTrackGone).
import { candidateInit, updateIceServers } from "./mesh.js";

const KINDS = ["audio", "video"];
const FORWARDED = { audio: "audio/opus", video: "video/vp8" };
// What the forwarder passes on without decoding: every publisher must send what every subscriber can take.
export const MAX_VIDEO_BITRATE = 500_000;
// Our candidates held while the forwarder does not have our offer yet; a browser gathers a handful.
const MAX_HELD_CANDIDATES = 64;
// After a `conflict` whose offer from the forwarder never came, we offer again this much later.
export const CONFLICT_RETRY_MS = 2000;

// The codec list for a transceiver in a forwarded room: Opus only, or VP8 with its repair stream (rtx). Null when the
// browser has no such codec (its own order then stands; the forwarder says `unsupported_media` if it cannot cope).
export function forwardedCodecs(codecs, kind) {
  if (!Array.isArray(codecs) || !FORWARDED[kind]) return null;
  const mime = (codec) => String(codec?.mimeType || "").toLowerCase();
  const first = codecs.filter((c) => mime(c) === FORWARDED[kind]);
  if (first.length === 0) return null;
  return [...first, ...(kind === "video" ? codecs.filter((c) => mime(c) === "video/rtx") : [])];
}

function forceCodecs(transceiver, kind) {
  try {
    if (typeof transceiver.setCodecPreferences !== "function") return;
    const codecs = forwardedCodecs(globalThis.RTCRtpReceiver?.getCapabilities?.(kind)?.codecs, kind);
    if (codecs) transceiver.setCodecPreferences(codecs);
  } catch {
    // Refused here: the browser's own order (VP8 and Opus first in the browsers Haven supports) stands.
  }
}

// Caps the video sender's bitrate; false when there is nothing to cap yet (no encodings before negotiation in some
// browsers) or the browser refused.
export async function capBitrate(sender, maxBitrate = MAX_VIDEO_BITRATE) {
  if (!sender || typeof sender.getParameters !== "function" || typeof sender.setParameters !== "function") return false;
  try {
    const params = sender.getParameters();
    if (!Array.isArray(params.encodings) || params.encodings.length === 0) return false;
    if (params.encodings.every((e) => e.maxBitrate === maxBitrate)) return true;
    for (const encoding of params.encodings) encoding.maxBitrate = maxBitrate;
    await sender.setParameters(params);
    return true;
  } catch {
    return false;
  }
}

// A kind we send: the device's track (ended for a camera that is off and let go: its sender then starts with no
// track, ready for the camera's return), or null when this member has no such device.
function deviceTrack(stream, kind) {
  return stream ? stream.getTracks().find((t) => t.kind === kind) || null : null;
}

let nextKey = 1;
const keys = new WeakMap(); // MediaStreamTrack -> key, stable for the track's life

function keyOf(track) {
  if (!keys.has(track)) keys.set(track, `t${nextKey++}`);
  return keys.get(track);
}

export class ForwarderLink {
  /**
   * @param {object} options
   * @param {string} options.peerId the forwarder's peer id, where signals go
   * @param {RTCIceServer[]} options.iceServers exactly as the server gave them
   * @param {"all"|"relay"} options.iceTransportPolicy as the server gave it
   * @param {() => MediaStream|null} options.localStream the camera and microphone, if any
   * @param {(message: object) => Promise<object>|void} options.send sends an rtc:signal payload; resolves to its ack
   * @param {(t: {key, track, streamId, kind, live}) => void} [options.onTrack] a track arrived for a publisher
   * @param {(key: string, live: boolean) => void} [options.onTrackLive] a track went quiet (muted) or came back
   * @param {(key: string) => void} [options.onTrackGone] a track left its stream or ended
   * @param {(state: string) => void} [options.onState] the connection's state changed
   * @param {(error: {code, message?}) => void} [options.onRefused] the forwarder refused our offer
   * @param {Map<string, RTCPeerConnection>} [options.registry] holds the connection while it is open
   */
  constructor({ peerId, iceServers, iceTransportPolicy, localStream, send, onTrack, onTrackLive, onTrackGone, onState,
    onRefused, registry }) {
    this.peerId = peerId;
    this.localStream = localStream || (() => null);
    this.send = send;
    this.onTrack = onTrack || (() => {});
    this.onTrackLive = onTrackLive || (() => {});
    this.onTrackGone = onTrackGone || (() => {});
    this.onState = onState || (() => {});
    this.onRefused = onRefused || (() => {});
    this.registry = registry || null;
    this.pc = new RTCPeerConnection({
      iceServers: Array.isArray(iceServers) ? iceServers : [],
      iceTransportPolicy: iceTransportPolicy === "relay" ? "relay" : "all",
    });
    this.chain = Promise.resolve();
    this.pendingRemote = []; // the forwarder's candidates that came before its description
    this.held = []; // our candidates, until the forwarder has our offer
    this.heard = false; // the forwarder has our offer: it acknowledged or answered it, or offered to us
    this.offerSeq = 0;
    this.answeredSeq = 0;
    this.needsOffer = false;
    this.retryTimer = null;
    this.videoSender = null;
    this.senders = { audio: null, video: null };
    this.started = false;
    this.closed = false;
    this.tracks = new Map(); // MediaStreamTrack -> stream id it belongs to now
    this.watched = new WeakSet(); // tracks and streams we listen to already
    this.registry?.set(peerId, this.pc);

    this.pc.addEventListener("icecandidate", (event) => {
      if (this.closed) return;
      const message = { to: this.peerId, type: "candidate", candidate: candidateInit(event.candidate) };
      if (this.heard) this.#send(message);
      else if (this.held.length < MAX_HELD_CANDIDATES) this.held.push(message);
    });
    this.pc.addEventListener("track", (event) => {
      const stream = event.streams && event.streams[0];
      // The forwarder names every track's publisher; a track without a stream cannot be put on anyone's tile.
      if (!this.closed && stream && typeof stream.id === "string" && stream.id) this.#adopt(event.track, stream);
    });
    this.pc.addEventListener("connectionstatechange", () => {
      if (!this.closed) this.onState(this.pc.connectionState);
    });
  }

  get state() {
    return this.closed ? "closed" : this.pc.connectionState;
  }

  // Adds our camera and microphone (once) and offers.
  start() {
    if (this.closed || this.started) return;
    this.started = true;
    const stream = this.localStream();
    let sending = 0;
    for (const kind of KINDS) {
      const track = deviceTrack(stream, kind);
      if (!track) continue;
      // sendrecv, though nothing comes back on these sections (the forwarder adds a section per stream it sends);
      // sendonly would do as well.
      const live = track.readyState === "live";
      const transceiver = this.pc.addTransceiver(live ? track : kind, { direction: "sendrecv", streams: [stream] });
      forceCodecs(transceiver, kind);
      if (kind === "video") this.videoSender = transceiver.sender;
      this.senders[kind] = transceiver.sender;
      sending += 1;
    }
    // Listening only (no camera or microphone): still something to negotiate, so the connection comes up.
    if (sending === 0) this.pc.addTransceiver("audio", { direction: "recvonly" });
    this.#enqueue(async () => {
      await capBitrate(this.videoSender);
      await this.#offer();
    });
  }

  // Puts another track on our sender of this kind (another camera or microphone, or the shared screen in place of
  // the camera) without negotiating again; false when we send nothing of this kind.
  async replaceTrack(kind, track) {
    const sender = this.senders[kind];
    if (this.closed || !sender) return false;
    try {
      await sender.replaceTrack(track);
      return true;
    } catch {
      return false;
    }
  }

  // An rtc:signal from the forwarder: {from, type, sdp | candidate}. Anything from another peer is not ours.
  handle(message) {
    if (this.closed || !message || message.from !== this.peerId) return Promise.resolve();
    if (message.type === "offer" && typeof message.sdp === "string") {
      return this.#enqueue(() => this.#answer(message.sdp));
    }
    if (message.type === "answer" && typeof message.sdp === "string") {
      return this.#enqueue(async () => {
        if (this.pc.signalingState !== "have-local-offer") return; // a late answer to an offer we took back
        await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        this.answeredSeq = this.offerSeq;
        this.#heard();
        await this.#flushRemote();
        await capBitrate(this.videoSender);
      });
    }
    if (message.type === "candidate") {
      const init = message.candidate;
      if (!init || !init.candidate) return Promise.resolve(); // end of candidates
      return this.#enqueue(async () => {
        if (!this.pc.remoteDescription) this.pendingRemote.push(init);
        else await this.pc.addIceCandidate(init);
      });
    }
    return Promise.resolve();
  }

  // Fresh TURN credentials (rtc:ice_servers) for this connection's later use.
  setIceServers(iceServers) {
    if (!this.closed) updateIceServers(this.pc, iceServers);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.registry?.get(this.peerId) === this.pc) this.registry.delete(this.peerId);
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    this.tracks.clear();
    this.held = [];
    this.pendingRemote = [];
  }

  #enqueue(step) {
    this.chain = this.chain.then(() => (this.closed ? undefined : step())).catch((err) => {
      if (!this.closed) console.warn("haven: forwarder negotiation step failed", err?.name || err);
    });
    return this.chain;
  }

  #send(message) {
    let sent;
    try {
      sent = this.send(message);
    } catch {
      return Promise.resolve(null);
    }
    return Promise.resolve(sent).catch(() => null);
  }

  async #offer() {
    const { pc } = this;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.closed) return;
    this.offerSeq += 1;
    const seq = this.offerSeq;
    this.#send({ to: this.peerId, type: "offer", sdp: pc.localDescription.sdp }).then((ack) => this.#acked(seq, ack));
  }

  #acked(seq, ack) {
    if (this.closed || seq !== this.offerSeq || !ack || typeof ack !== "object") return;
    if (ack.ok) {
      this.#heard();
      return;
    }
    if (this.answeredSeq === seq) return; // e.g. the ack timed out, but the answer came: all is well
    const error = ack.error && typeof ack.error === "object" ? ack.error : { code: "unknown" };
    if (error.code === "conflict") {
      // The forwarder is offering to us at this moment: take ours back, answer theirs, then offer again.
      this.#enqueue(async () => {
        if (seq !== this.offerSeq || this.pc.signalingState !== "have-local-offer") return;
        await this.pc.setLocalDescription({ type: "rollback" });
        this.needsOffer = true;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.#retryOffer(), CONFLICT_RETRY_MS);
      });
      return;
    }
    this.onRefused(error);
  }

  #retryOffer() {
    this.#enqueue(async () => {
      if (!this.needsOffer || this.pc.signalingState !== "stable") return;
      this.needsOffer = false;
      await this.#offer();
    });
  }

  async #answer(sdp) {
    const { pc } = this;
    if (pc.signalingState === "have-local-offer") {
      await pc.setLocalDescription({ type: "rollback" });
      this.needsOffer = true;
    }
    await pc.setRemoteDescription({ type: "offer", sdp });
    await this.#flushRemote();
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.closed) return;
    this.#send({ to: this.peerId, type: "answer", sdp: pc.localDescription.sdp });
    this.#heard(); // it offered to us, so it knows this connection
    if (this.needsOffer) {
      this.needsOffer = false;
      clearTimeout(this.retryTimer);
      await this.#offer();
    }
  }

  #heard() {
    if (this.heard) return;
    this.heard = true;
    for (const message of this.held.splice(0)) this.#send(message);
  }

  async #flushRemote() {
    for (const init of this.pendingRemote.splice(0)) {
      try {
        await this.pc.addIceCandidate(init);
      } catch {
        // A candidate that no longer fits is not fatal.
      }
    }
  }

  // A track of `stream` (its id: the publisher's user id). A transceiver the forwarder reuses for another publisher
  // brings the same track back under another stream: it leaves the old one first.
  #adopt(track, stream) {
    const before = this.tracks.get(track);
    if (before === stream.id) return;
    if (before !== undefined) this.#gone(track);
    this.tracks.set(track, stream.id);
    if (!this.watched.has(track)) {
      this.watched.add(track);
      track.addEventListener("mute", () => this.#live(track, false));
      track.addEventListener("unmute", () => this.#live(track, true));
      track.addEventListener("ended", () => this.#gone(track));
    }
    if (!this.watched.has(stream)) {
      this.watched.add(stream);
      stream.addEventListener("removetrack", (event) => {
        if (event.track && this.tracks.get(event.track) === stream.id) this.#gone(event.track);
      });
    }
    this.onTrack({ key: keyOf(track), track, streamId: stream.id, kind: track.kind, live: !track.muted });
  }

  #live(track, live) {
    if (!this.closed && this.tracks.has(track)) this.onTrackLive(keyOf(track), live);
  }

  #gone(track) {
    if (this.closed || !this.tracks.has(track)) return;
    this.tracks.delete(track);
    this.onTrackGone(keyOf(track));
  }
}
