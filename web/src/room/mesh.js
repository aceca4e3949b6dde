// Mesh WebRTC for small group rooms: one RTCPeerConnection per other member, addressed by peer id
// (the member's Socket.IO session id, as shown in the roster).
//
// Glare is avoided by construction rather than by "perfect negotiation": only the newcomer offers.
// A member who enters (or re-enters after a reconnect) calls connectTo() for everyone already in the
// room; everyone else only ever answers. The same side also makes any later ICE-restart offer, so two
// offers never cross on one connection.

const PREFERRED = { audio: "audio/opus", video: "video/vp8" };
const MAX_ICE_RESTARTS = 3;

// Puts VP8 (video) or Opus (audio) first, keeping every other codec (and rtx/red/fec) after it.
export function preferCodecs(transceiver, kind) {
  try {
    if (typeof transceiver.setCodecPreferences !== "function") return;
    const caps = globalThis.RTCRtpReceiver?.getCapabilities?.(kind);
    if (!caps || !Array.isArray(caps.codecs)) return;
    const want = PREFERRED[kind];
    const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
    if (first.length === 0) return;
    const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== want);
    transceiver.setCodecPreferences([...first, ...rest]);
  } catch {
    // Not supported here, or refused: the browser's own order is fine too.
  }
}

// The wire form of a local ICE candidate (RTCIceCandidateInit), or null for the end of candidates.
export function candidateInit(candidate) {
  if (!candidate || !candidate.candidate) return null; // null / "" mean the end of candidates
  const json = typeof candidate.toJSON === "function" ? candidate.toJSON() : candidate;
  const init = { candidate: json.candidate };
  if (json.sdpMid !== undefined && json.sdpMid !== null) init.sdpMid = json.sdpMid;
  if (Number.isInteger(json.sdpMLineIndex)) init.sdpMLineIndex = json.sdpMLineIndex;
  if (typeof json.usernameFragment === "string") init.usernameFragment = json.usernameFragment;
  return init;
}

// Hands fresh ICE servers (new TURN credentials) to an open connection, so that a later ICE restart can still
// reach the relay; everything else in its configuration stays as it was.
export function updateIceServers(pc, iceServers) {
  if (!pc || pc.signalingState === "closed" || !Array.isArray(iceServers)) return false;
  try {
    pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
    return true;
  } catch {
    return false; // refused (e.g. a browser that will not change it now): the old credentials stay until they expire
  }
}

export class Mesh {
  /**
   * @param {object} options
   * @param {RTCIceServer[]} options.iceServers passed to every RTCPeerConnection exactly as given
   * @param {"all"|"relay"} [options.iceTransportPolicy] as the server gave it: "relay" keeps members' addresses apart
   * @param {() => MediaStream|null} options.localStream the camera/microphone stream, if any
   * @param {(message: object) => void} options.send sends an rtc:signal payload
   * @param {(peer: object) => void} [options.onTrack] a remote track arrived (peer.stream holds them)
   * @param {(peer: object) => void} [options.onState] a connection's state changed
   * @param {(peer: object) => void} [options.onClosed] a connection was closed
   * @param {Map<string, RTCPeerConnection>} [options.registry] kept in step with the open connections
   */
  constructor({ iceServers, iceTransportPolicy, localStream, send, onTrack, onState, onClosed, registry }) {
    this.iceServers = Array.isArray(iceServers) ? iceServers : [];
    this.iceTransportPolicy = iceTransportPolicy === "relay" ? "relay" : "all";
    this.localStream = localStream;
    this.send = send;
    this.onTrack = onTrack || (() => {});
    this.onState = onState || (() => {});
    this.onClosed = onClosed || (() => {});
    this.registry = registry || new Map();
    this.peers = new Map(); // peer id -> peer
    this.closed = false;
  }

  // Fresh ICE servers from the server: for every open connection, and for the ones made from now on.
  setIceServers(iceServers) {
    if (!Array.isArray(iceServers)) return;
    this.iceServers = iceServers;
    for (const peer of this.peers.values()) updateIceServers(peer.pc, iceServers);
  }

  // Puts another track of this kind on every open connection's sender (another camera or microphone, or the shared
  // screen in place of the camera) without negotiating again. Connections opened later take the local stream's.
  // Resolves to the number of senders changed.
  async replaceTrack(kind, track) {
    const jobs = [];
    for (const peer of this.peers.values()) {
      for (const transceiver of peer.pc.getTransceivers()) {
        const sends = transceiver.direction === "sendrecv" || transceiver.direction === "sendonly";
        if (!sends || transceiver.receiver?.track?.kind !== kind) continue;
        jobs.push(transceiver.sender.replaceTrack(track).then(() => 1, () => 0));
      }
    }
    const done = await Promise.all(jobs);
    return done.reduce((a, b) => a + b, 0);
  }

  peerForUser(userId) {
    for (const peer of this.peers.values()) if (peer.userId === userId) return peer;
    return null;
  }

  #create(peerId, userId, offerer) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    const peer = {
      id: peerId,
      userId,
      pc,
      offerer,
      stream: new MediaStream(),
      chain: Promise.resolve(),
      pending: [], // candidates that came before the remote description
      restarts: 0,
      tracksAdded: false,
    };
    pc.addEventListener("icecandidate", (event) => {
      if (this.peers.get(peerId) !== peer) return;
      this.send({ to: peerId, type: "candidate", candidate: candidateInit(event.candidate) });
    });
    pc.addEventListener("track", (event) => {
      if (!peer.stream.getTracks().includes(event.track)) peer.stream.addTrack(event.track);
      event.track.addEventListener("ended", () => peer.stream.removeTrack(event.track));
      this.onTrack(peer);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (this.peers.get(peerId) !== peer) return;
      this.onState(peer);
      if (pc.connectionState === "failed" && peer.offerer && peer.restarts < MAX_ICE_RESTARTS) {
        peer.restarts += 1;
        this.#enqueue(peer, () => this.#offer(peer, true));
      }
    });
    this.peers.set(peerId, peer);
    this.registry.set(peerId, pc);
    return peer;
  }

  // Serializes everything done to one connection, so candidates never overtake their description.
  #enqueue(peer, step) {
    peer.chain = peer.chain.then(step).catch((err) => {
      if (this.peers.get(peer.id) === peer) console.warn("haven: WebRTC step failed", err?.name || err);
    });
    return peer.chain;
  }

  // What we send of a kind: `sends` when this member has such a device (a camera that is off and let go still
  // counts: its sender stays, with no track, ready for the camera's return), and the track while it is live.
  #local(kind) {
    const stream = this.localStream?.() || null;
    const device = stream ? stream.getTracks().find((t) => t.kind === kind) || null : null;
    return { stream, sends: Boolean(device), track: device && device.readyState === "live" ? device : null };
  }

  async #offer(peer, iceRestart = false) {
    const { pc } = peer;
    if (pc.signalingState === "closed") return;
    const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
    await pc.setLocalDescription(offer);
    if (this.peers.get(peer.id) !== peer) return;
    this.send({ to: peer.id, type: "offer", sdp: pc.localDescription.sdp });
  }

  // The newcomer's side: open a connection to someone already in the room and offer.
  connectTo(peerId, userId) {
    if (this.closed || this.peers.has(peerId)) return this.peers.get(peerId) || null;
    const peer = this.#create(peerId, userId, true);
    for (const kind of ["audio", "video"]) {
      const { stream, sends, track } = this.#local(kind);
      const transceiver = sends
        ? peer.pc.addTransceiver(track || kind, { direction: "sendrecv", streams: [stream] })
        : peer.pc.addTransceiver(kind, { direction: "recvonly" });
      preferCodecs(transceiver, kind);
    }
    peer.tracksAdded = true;
    this.#enqueue(peer, () => this.#offer(peer));
    return peer;
  }

  // A relayed rtc:signal {from, type, sdp | candidate}. userId is who the roster says holds `from`.
  handle(message, userId = null) {
    if (this.closed || !message || typeof message.from !== "string") return Promise.resolve();
    const { from, type } = message;
    let peer = this.peers.get(from);
    if (type === "offer") {
      if (peer && peer.offerer) {
        // We offered to them as well: cannot happen under "newcomer offers", so start over as answerer.
        this.close(from);
        peer = null;
      }
      if (!peer) {
        // The same person on a new connection: their old one is finished.
        if (userId) {
          const old = this.peerForUser(userId);
          if (old) this.close(old.id);
        }
        peer = this.#create(from, userId, false);
      }
      const answering = peer;
      return this.#enqueue(answering, () => this.#answer(answering, message.sdp));
    }
    if (!peer) return Promise.resolve(); // a late answer or candidate for a connection we closed
    if (type === "answer") {
      return this.#enqueue(peer, async () => {
        if (peer.pc.signalingState !== "have-local-offer") return;
        await peer.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        await this.#flush(peer);
      });
    }
    if (type === "candidate") {
      const init = message.candidate;
      if (!init || !init.candidate) return Promise.resolve(); // end of candidates: nothing to do
      return this.#enqueue(peer, async () => {
        if (!peer.pc.remoteDescription) peer.pending.push(init);
        else await peer.pc.addIceCandidate(init);
      });
    }
    return Promise.resolve();
  }

  async #answer(peer, sdp) {
    const { pc } = peer;
    if (pc.signalingState === "closed") return;
    await pc.setRemoteDescription({ type: "offer", sdp });
    if (!peer.tracksAdded) {
      // addTrack reuses the transceivers the offer created, so our media goes back on the same m-lines. A camera
      // that is off (let go) sends on its m-line too, with no track yet, so it can come back without negotiating.
      for (const kind of ["audio", "video"]) {
        const { stream, sends, track } = this.#local(kind);
        if (track && stream) {
          pc.addTrack(track, stream);
        } else if (sends && stream) {
          const unused = pc.getTransceivers().find((t) => t.receiver?.track?.kind === kind && !t.sender.track
            && (t.direction === "recvonly" || t.direction === "inactive"));
          if (unused) {
            unused.direction = unused.direction === "inactive" ? "sendonly" : "sendrecv";
            unused.sender.setStreams?.(stream);
          }
        }
      }
      for (const transceiver of pc.getTransceivers()) {
        const kind = transceiver.receiver?.track?.kind;
        if (kind) preferCodecs(transceiver, kind);
      }
      peer.tracksAdded = true;
    }
    await this.#flush(peer);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.peers.get(peer.id) !== peer) return;
    this.send({ to: peer.id, type: "answer", sdp: pc.localDescription.sdp });
  }

  async #flush(peer) {
    const pending = peer.pending.splice(0);
    for (const init of pending) {
      try {
        await peer.pc.addIceCandidate(init);
      } catch {
        // A candidate that no longer fits (e.g. after a restart) is not fatal.
      }
    }
  }

  close(peerId) {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    if (this.registry.get(peerId) === peer.pc) this.registry.delete(peerId);
    try {
      peer.pc.close();
    } catch {
      // already closed
    }
    for (const track of peer.stream.getTracks()) peer.stream.removeTrack(track);
    this.onClosed(peer);
  }

  closeAll() {
    for (const peerId of [...this.peers.keys()]) this.close(peerId);
  }

  destroy() {
    this.closeAll();
    this.closed = true;
  }
}
