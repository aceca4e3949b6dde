// One call's RTCPeerConnection, with the other side's current connection (its peer id).
//
// Who offers: the caller, when the call is answered, on every new connection after a resume, and for ICE restarts.
// The callee answers. The protocol lets either side offer at any time, so should the two ever collide the callee
// is the polite one (its own offer is rolled back) and the caller ignores the colliding offer, as in WebRTC's
// "perfect negotiation". Everything done to the connection is serialized, so a candidate never overtakes its
// description.
import { candidateInit, preferCodecs, updateIceServers } from "../room/mesh.js";

const KINDS = ["audio", "video"];
// How long "disconnected" may last before the caller restarts ICE: it often heals by itself within a second or two.
export const DISCONNECTED_GRACE_MS = 4000;
// ICE restarts in a row that did not bring the connection back; after them the caller stops trying.
export const MAX_RESTARTS = 5;

export class CallPeer {
  /**
   * @param {object} options
   * @param {string} options.remoteId the other side's peer id, where signals go
   * @param {RTCIceServer[]} options.iceServers exactly as the server gave them
   * @param {"all"|"relay"} options.iceTransportPolicy as the server gave it
   * @param {() => MediaStream|null} options.localStream the camera and microphone, if any
   * @param {boolean} options.polite the callee: gives way when offers collide
   * @param {boolean} options.restartsIce the caller: restarts ICE when the connection fails
   * @param {(message: object) => void} options.send sends an rtc:signal payload
   * @param {(stream: MediaStream) => void} [options.onTrack] a remote track arrived
   * @param {(link: "connecting"|"connected"|"trouble"|"lost") => void} [options.onLink] how the media link is
   */
  constructor({ remoteId, iceServers, iceTransportPolicy, localStream, polite, restartsIce, send, onTrack, onLink }) {
    this.remoteId = remoteId;
    this.localStream = localStream || (() => null);
    this.polite = Boolean(polite);
    this.restartsIce = Boolean(restartsIce);
    this.send = send;
    this.onTrack = onTrack || (() => {});
    this.onLink = onLink || (() => {});
    this.pc = new RTCPeerConnection({
      iceServers: Array.isArray(iceServers) ? iceServers : [],
      iceTransportPolicy: iceTransportPolicy === "relay" ? "relay" : "all",
    });
    this.remoteStream = new MediaStream();
    this.chain = Promise.resolve();
    this.pending = []; // candidates that came before the remote description
    this.tracksAdded = false;
    this.restarts = 0; // in a row, since the link was last connected
    this.disconnectedTimer = null;
    this.closed = false;

    this.pc.addEventListener("icecandidate", (event) => {
      if (!this.closed) this.#signal({ type: "candidate", candidate: candidateInit(event.candidate) });
    });
    this.pc.addEventListener("track", (event) => {
      if (this.closed) return;
      if (!this.remoteStream.getTracks().includes(event.track)) this.remoteStream.addTrack(event.track);
      event.track.addEventListener("ended", () => this.remoteStream.removeTrack(event.track));
      this.onTrack(this.remoteStream);
    });
    this.pc.addEventListener("iceconnectionstatechange", () => this.#iceChanged());
  }

  #signal(message) {
    this.send({ to: this.remoteId, ...message });
  }

  #enqueue(work) {
    this.chain = this.chain.then(work).catch((err) => {
      if (!this.closed) console.warn("haven: call WebRTC step failed", err?.name || err);
    });
    return this.chain;
  }

  #iceChanged() {
    if (this.closed) return;
    const ice = this.pc.iceConnectionState;
    clearTimeout(this.disconnectedTimer);
    this.disconnectedTimer = null;
    if (ice === "connected" || ice === "completed") {
      this.restarts = 0;
      this.onLink("connected");
    } else if (ice === "failed") {
      this.#troubled();
    } else if (ice === "disconnected") {
      this.onLink("trouble");
      this.disconnectedTimer = setTimeout(() => {
        const now = this.pc.iceConnectionState;
        if (!this.closed && (now === "disconnected" || now === "failed")) this.#troubled();
      }, DISCONNECTED_GRACE_MS);
    } else if (ice === "checking" || ice === "new") {
      this.onLink("connecting");
    }
  }

  #troubled() {
    if (!this.restartsIce) {
      this.onLink("trouble"); // the caller restarts; this side answers its new offer
      return;
    }
    if (this.restarts >= MAX_RESTARTS) {
      this.onLink("lost");
      return;
    }
    this.restarts += 1;
    this.onLink("trouble");
    this.restartIce();
  }

  #addLocalTracks(asOfferer) {
    const stream = this.localStream();
    for (const kind of KINDS) {
      const track = stream?.getTracks().find((t) => t.kind === kind && t.readyState === "live") || null;
      if (asOfferer) {
        const transceiver = track
          ? this.pc.addTransceiver(track, { direction: "sendrecv", streams: [stream] })
          : this.pc.addTransceiver(kind, { direction: "recvonly" });
        preferCodecs(transceiver, kind);
      } else if (track) {
        this.pc.addTrack(track, stream); // reuses the transceiver the offer made for this kind
      }
    }
    if (!asOfferer) {
      for (const transceiver of this.pc.getTransceivers()) {
        const kind = transceiver.receiver?.track?.kind;
        if (kind) preferCodecs(transceiver, kind);
      }
    }
    this.tracksAdded = true;
  }

  async #offer(iceRestart = false) {
    const { pc } = this;
    if (this.closed || pc.signalingState !== "stable") return;
    const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
    if (this.closed) return;
    await pc.setLocalDescription(offer);
    if (!this.closed) this.#signal({ type: "offer", sdp: pc.localDescription.sdp });
  }

  // The offering side: our media on a fresh connection, then the offer.
  start() {
    if (this.closed || this.tracksAdded) return this.chain;
    this.#addLocalTracks(true);
    return this.#enqueue(() => this.#offer());
  }

  // New ICE credentials and a new offer, without ending the call (after a network change or a failure).
  restartIce() {
    if (this.closed) return this.chain;
    return this.#enqueue(async () => {
      if (this.closed || this.pc.signalingState !== "stable") return;
      this.pc.restartIce();
      await this.#offer(true);
    });
  }

  // Fresh ICE servers (new TURN credentials) from the server, for a later ICE restart.
  setIceServers(iceServers) {
    if (!this.closed) updateIceServers(this.pc, iceServers);
  }

  // A relayed rtc:signal {from, type, sdp | candidate} from the other side.
  handle(message) {
    if (this.closed || !message || message.from !== this.remoteId) return this.chain;
    const { type } = message;
    if (type === "offer" && typeof message.sdp === "string") return this.#enqueue(() => this.#answer(message.sdp));
    if (type === "answer" && typeof message.sdp === "string") {
      return this.#enqueue(async () => {
        if (this.closed || this.pc.signalingState !== "have-local-offer") return;
        await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        await this.#flush();
      });
    }
    if (type === "candidate") {
      const init = message.candidate;
      if (!init || !init.candidate) return this.chain; // the end of candidates: nothing to do
      return this.#enqueue(async () => {
        if (this.closed) return;
        if (!this.pc.remoteDescription) this.pending.push(init);
        else await this.pc.addIceCandidate(init).catch(() => {}); // one that no longer fits is not fatal
      });
    }
    return this.chain;
  }

  async #answer(sdp) {
    const { pc } = this;
    if (this.closed) return;
    if (pc.signalingState !== "stable" && !this.polite) return; // our offer stands; they will answer it
    await pc.setRemoteDescription({ type: "offer", sdp }); // when polite, this rolls our own offer back
    if (!this.tracksAdded) this.#addLocalTracks(false);
    await this.#flush();
    const answer = await pc.createAnswer();
    if (this.closed) return;
    await pc.setLocalDescription(answer);
    if (!this.closed) this.#signal({ type: "answer", sdp: pc.localDescription.sdp });
  }

  // Another camera or microphone during the call: the sender of that kind takes the new track without renegotiation.
  // When this side sent nothing of that kind yet (it joined without a camera), the transceiver starts sending, which
  // needs a new offer.
  replaceTrack(kind, track) {
    if (this.closed) return this.chain;
    return this.#enqueue(async () => {
      if (this.closed) return;
      const transceiver = this.pc.getTransceivers().find((t) => !t.stopped
        && (t.sender.track?.kind || t.receiver.track?.kind) === kind);
      if (!transceiver) return; // not negotiated yet: the next negotiation takes the local stream as it is then
      await transceiver.sender.replaceTrack(track);
      const stream = this.localStream();
      if (stream && typeof transceiver.sender.setStreams === "function") transceiver.sender.setStreams(stream);
      if (track && !transceiver.direction.includes("send")) {
        transceiver.direction = "sendrecv";
        await this.#offer();
      }
    });
  }

  async #flush() {
    for (const init of this.pending.splice(0)) {
      await this.pc.addIceCandidate(init).catch(() => {});
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectedTimer);
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    for (const track of this.remoteStream.getTracks()) this.remoteStream.removeTrack(track);
  }
}
