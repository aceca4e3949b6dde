// The forwarder connection (src/room/forwarder-link.js): our media up once, the forwarder's offers answered one at a
// time, candidates trickled once the forwarder has our offer, and each incoming track reported under its stream id.
// Node has no WebRTC: RTCPeerConnection, tracks and streams are small stand-ins recording what was asked of them.
// The real thing runs in the browser test (tests/e2e/test_forwarded_room.py).
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";

class FakeTrack extends EventTarget {
  constructor(kind, { muted = false } = {}) {
    super();
    this.kind = kind;
    this.muted = muted;
    this.readyState = "live";
  }

  setMuted(muted) {
    this.muted = muted;
    this.dispatchEvent(new Event(muted ? "mute" : "unmute"));
  }
}

class FakeStream extends EventTarget {
  constructor(tracks = [], id = "local") {
    super();
    this.id = id;
    this.tracks = [...tracks];
  }

  getTracks() {
    return this.tracks;
  }

  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
    const event = new Event("removetrack");
    event.track = track;
    this.dispatchEvent(event);
  }
}

class FakeSender {
  constructor() {
    this.params = { encodings: [{ active: true }] };
    this.set = [];
  }

  getParameters() {
    return structuredClone(this.params);
  }

  async setParameters(params) {
    this.params = params;
    this.set.push(params.encodings.map((e) => e.maxBitrate));
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

class FakePeerConnection extends EventTarget {
  constructor(config) {
    super();
    this.config = config;
    this.signalingState = "stable";
    this.connectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.transceivers = [];
    this.candidates = [];
    this.remoteOffers = [];
    this.busy = 0; // descriptions being set at this moment
    this.overlapped = false;
    this.offers = 0;
    this.rollbacks = 0;
    FakePeerConnection.last = this;
  }

  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === "string" ? trackOrKind : trackOrKind.kind;
    const transceiver = {
      kind,
      init,
      sender: new FakeSender(),
      codecs: null,
      setCodecPreferences(codecs) {
        this.codecs = codecs;
      },
    };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  async createOffer() {
    this.offers += 1;
    return { type: "offer", sdp: `our offer ${this.offers}` };
  }

  async createAnswer() {
    return { type: "answer", sdp: `our answer to ${this.remoteDescription.sdp}` };
  }

  async #busy() {
    this.busy += 1;
    if (this.busy > 1) this.overlapped = true;
    await tick();
    this.busy -= 1;
  }

  async setLocalDescription(description) {
    await this.#busy();
    if (description.type === "rollback") {
      this.rollbacks += 1;
      this.localDescription = null;
      this.signalingState = "stable";
      return;
    }
    this.localDescription = description;
    this.signalingState = description.type === "offer" ? "have-local-offer" : "stable";
  }

  async setRemoteDescription(description) {
    if (description.type === "offer" && this.signalingState === "have-local-offer") {
      throw new Error("InvalidStateError: an offer in have-local-offer (the link must roll back first)");
    }
    await this.#busy();
    this.remoteDescription = description;
    if (description.type === "offer") this.remoteOffers.push(description.sdp);
    this.signalingState = description.type === "offer" ? "have-remote-offer" : "stable";
  }

  async addIceCandidate(candidate) {
    this.candidates.push(candidate);
  }

  getConfiguration() {
    return this.config;
  }

  setConfiguration(config) {
    this.config = config;
  }

  close() {
    this.signalingState = "closed";
    this.connectionState = "closed";
  }

  // What the browser does when the forwarder's description adds a track of `streamId`.
  receive(kind, streamId, options) {
    const track = new FakeTrack(kind, options);
    const stream = new FakeStream([track], streamId);
    const event = new Event("track");
    event.track = track;
    event.streams = [stream];
    this.dispatchEvent(event);
    return { track, stream };
  }

  gather(candidate) {
    const event = new Event("icecandidate");
    event.candidate = candidate;
    this.dispatchEvent(event);
  }
}

globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.RTCRtpReceiver = {
  getCapabilities(kind) {
    return kind === "video"
      ? { codecs: [{ mimeType: "video/VP9" }, { mimeType: "video/VP8" }, { mimeType: "video/rtx" },
        { mimeType: "video/H264" }] }
      : { codecs: [{ mimeType: "audio/red" }, { mimeType: "audio/opus" }, { mimeType: "audio/CN" }] };
  },
};

const { ForwarderLink, MAX_VIDEO_BITRATE, CONFLICT_RETRY_MS, capBitrate, forwardedCodecs } =
  await import("../src/room/forwarder-link.js");

async function settle() {
  for (let i = 0; i < 20; i += 1) await tick();
}

let sent; // [{message, resolve}]
let events;

function camera() {
  return new FakeStream([new FakeTrack("audio"), new FakeTrack("video")]);
}

function link({ stream = camera(), registry = new Map(), autoAck = null } = {}) {
  const made = new ForwarderLink({
    peerId: "fwd",
    iceServers: [],
    iceTransportPolicy: "all",
    localStream: () => stream,
    send: (message) => new Promise((resolve) => {
      sent.push({ message, resolve });
      if (autoAck) resolve(autoAck);
    }),
    onTrack: (t) => events.push(["track", t.key, t.streamId, t.kind, t.live]),
    onTrackLive: (key, live) => events.push(["live", key, live]),
    onTrackGone: (key) => events.push(["gone", key]),
    onRefused: (error) => events.push(["refused", error.code]),
    registry,
  });
  return { link: made, pc: FakePeerConnection.last, registry };
}

const messages = (type) => sent.map((s) => s.message).filter((m) => !type || m.type === type);
const ackOffer = (ack, n = 0) => sent.filter((s) => s.message.type === "offer")[n].resolve(ack);

beforeEach(() => {
  sent = [];
  events = [];
  mock.timers.enable({ apis: ["setTimeout"] });
});

afterEach(() => {
  mock.timers.reset();
});

test("the connection takes the server's ICE servers and policy exactly as given", () => {
  const { pc } = link();
  assert.deepEqual(pc.config, { iceServers: [], iceTransportPolicy: "all" });
  const relay = new ForwarderLink({ peerId: "fwd", iceServers: [{ urls: ["turn:t.example.org"] }],
    iceTransportPolicy: "relay", send: () => {} });
  assert.deepEqual(relay.pc.config, { iceServers: [{ urls: ["turn:t.example.org"] }], iceTransportPolicy: "relay" });
});

test("our camera and microphone go up once, as VP8 and Opus, video capped, in one offer to the forwarder", async () => {
  const { link: l, pc, registry } = link();
  l.start();
  l.start();
  await settle();
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.init.direction]), [["audio", "sendrecv"], ["video", "sendrecv"]]);
  assert.deepEqual(pc.transceivers[0].codecs, [{ mimeType: "audio/opus" }]);
  assert.deepEqual(pc.transceivers[1].codecs, [{ mimeType: "video/VP8" }, { mimeType: "video/rtx" }]);
  assert.deepEqual(pc.transceivers[1].sender.params.encodings[0].maxBitrate, MAX_VIDEO_BITRATE);
  assert.deepEqual(messages(), [{ to: "fwd", type: "offer", sdp: "our offer 1" }]);
  assert.equal(registry.get("fwd"), pc);
});

test("with no camera or microphone the member still connects, to listen", async () => {
  const { link: l, pc } = link({ stream: null });
  l.start();
  await settle();
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.init.direction]), [["audio", "recvonly"]]);
  assert.equal(messages("offer").length, 1);
});

test("our candidates wait until the forwarder has our offer, then trickle", async () => {
  const { link: l, pc } = link();
  l.start();
  await settle();
  pc.gather({ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 });
  await settle();
  assert.deepEqual(messages("candidate"), []);
  ackOffer({ ok: true });
  await settle();
  pc.gather({ candidate: "candidate:2 1 udp 1 127.0.0.1 5001 typ host", sdpMid: "0", sdpMLineIndex: 0 });
  pc.gather(null);
  await settle();
  assert.deepEqual(messages("candidate").map((m) => [m.to, m.candidate?.candidate ?? null]), [
    ["fwd", "candidate:1 1 udp 1 127.0.0.1 5000 typ host"],
    ["fwd", "candidate:2 1 udp 1 127.0.0.1 5001 typ host"],
    ["fwd", null],
  ]);
});

test("the forwarder's answer is applied (even before its ack), and its early candidates after it", async () => {
  const { link: l, pc } = link();
  l.start();
  await settle();
  pc.gather({ candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0" });
  l.handle({ from: "fwd", type: "candidate", candidate: { candidate: "candidate:9", sdpMid: "0" } });
  l.handle({ from: "fwd", type: "answer", sdp: "their answer" });
  await settle();
  assert.deepEqual(pc.remoteDescription, { type: "answer", sdp: "their answer" });
  assert.deepEqual(pc.candidates, [{ candidate: "candidate:9", sdpMid: "0" }]);
  assert.equal(messages("candidate").length, 1, "the answer shows the forwarder has our offer");
  ackOffer({ ok: false, error: { code: "timeout" } }); // a late ack that timed out: the answer already came
  await settle();
  assert.deepEqual(events, []);
});

test("every forwarder offer is answered, one at a time and in order", async () => {
  const { link: l, pc } = link({ autoAck: { ok: true } });
  l.start();
  await settle();
  l.handle({ from: "fwd", type: "answer", sdp: "their answer" });
  l.handle({ from: "fwd", type: "offer", sdp: "offer A" });
  l.handle({ from: "fwd", type: "offer", sdp: "offer B" });
  l.handle({ from: "fwd", type: "offer", sdp: "offer C" });
  await settle();
  assert.equal(pc.overlapped, false);
  assert.deepEqual(pc.remoteOffers, ["offer A", "offer B", "offer C"]);
  assert.deepEqual(messages("answer"), [
    { to: "fwd", type: "answer", sdp: "our answer to offer A" },
    { to: "fwd", type: "answer", sdp: "our answer to offer B" },
    { to: "fwd", type: "answer", sdp: "our answer to offer C" },
  ]);
  assert.equal(pc.offers, 1, "answering never makes an offer of our own");
});

test("signals from anyone but the forwarder are not ours", async () => {
  const { link: l, pc } = link();
  l.handle({ from: "someone", type: "offer", sdp: "x" });
  l.handle({ type: "offer", sdp: "x" });
  await settle();
  assert.deepEqual(pc.remoteOffers, []);
  assert.deepEqual(messages(), []);
});

test("`conflict`: our offer is taken back, the forwarder's answered, and ours sent again", async () => {
  const { link: l, pc } = link();
  l.start();
  await settle();
  ackOffer({ ok: false, error: { code: "conflict", message: "Answer the forwarder's offer first." } });
  await settle();
  assert.equal(pc.rollbacks, 1);
  l.handle({ from: "fwd", type: "offer", sdp: "their offer" });
  await settle();
  assert.deepEqual(messages().map((m) => m.type), ["offer", "answer", "offer"]);
  assert.deepEqual(events, [], "a conflict is not shown to the person");
  mock.timers.tick(CONFLICT_RETRY_MS);
  await settle();
  assert.equal(messages("offer").length, 2, "no second retry");
});

test("`conflict` without an offer from the forwarder: ours goes again a little later", async () => {
  const { link: l } = link();
  l.start();
  await settle();
  ackOffer({ ok: false, error: { code: "conflict" } });
  await settle();
  assert.equal(messages("offer").length, 1);
  mock.timers.tick(CONFLICT_RETRY_MS);
  await settle();
  assert.equal(messages("offer").length, 2);
});

test("an offer from the forwarder that crosses ours: ours is rolled back and sent again after the answer", async () => {
  const { link: l, pc } = link();
  l.start();
  await settle();
  l.handle({ from: "fwd", type: "offer", sdp: "their offer" });
  await settle();
  assert.equal(pc.rollbacks, 1);
  assert.deepEqual(messages().map((m) => m.type), ["offer", "answer", "offer"]);
  ackOffer({ ok: false, error: { code: "conflict" } }, 0); // the first offer's ack: stale, ignored
  await settle();
  assert.equal(pc.rollbacks, 1);
});

test("a refusal of our offer is reported with its code", async () => {
  const { link: l } = link();
  l.start();
  await settle();
  ackOffer({ ok: false, error: { code: "unsupported_media", message: "No VP8 or Opus." } });
  await settle();
  assert.deepEqual(events, [["refused", "unsupported_media"]]);
});

test("incoming tracks are reported under their stream id; muted, unmuted and removed as they go", async () => {
  const { pc } = link();
  const { track: video, stream } = pc.receive("video", "user-ana", { muted: true });
  const { track: audio } = pc.receive("audio", "user-ana");
  video.setMuted(false);
  video.setMuted(true);
  stream.removeTrack(video);
  stream.removeTrack(video);
  const [v, a] = [events[0][1], events[1][1]];
  assert.notEqual(v, a);
  assert.deepEqual(events, [
    ["track", v, "user-ana", "video", false],
    ["track", a, "user-ana", "audio", true],
    ["live", v, true],
    ["live", v, false],
    ["gone", v],
  ]);
  audio.dispatchEvent(new Event("ended"));
  assert.deepEqual(events.at(-1), ["gone", a]);
});

test("a track that comes back under another stream leaves its old publisher first", async () => {
  const { pc } = link();
  const { track } = pc.receive("video", "ana");
  const again = new Event("track");
  again.track = track;
  again.streams = [new FakeStream([track], "bo")];
  pc.dispatchEvent(again);
  const key = events[0][1];
  assert.deepEqual(events, [["track", key, "ana", "video", true], ["gone", key], ["track", key, "bo", "video", true]]);
});

test("a track without a stream cannot be placed and is not reported", () => {
  const { pc } = link();
  const event = new Event("track");
  event.track = new FakeTrack("video");
  event.streams = [];
  pc.dispatchEvent(event);
  assert.deepEqual(events, []);
});

test("once closed, nothing more is sent or reported, and the connection leaves the registry", async () => {
  const { link: l, pc, registry } = link();
  l.start();
  l.close();
  await settle();
  l.handle({ from: "fwd", type: "offer", sdp: "late" });
  pc.receive("video", "ana");
  await settle();
  assert.deepEqual(messages(), []);
  assert.deepEqual(events, []);
  assert.equal(pc.signalingState, "closed");
  assert.equal(registry.has("fwd"), false);
  assert.equal(l.state, "closed");
});

test("fresh ICE servers reach the open connection", () => {
  const { link: l, pc } = link();
  l.setIceServers([{ urls: ["turn:new.example.org"] }]);
  assert.deepEqual(pc.config.iceServers, [{ urls: ["turn:new.example.org"] }]);
});

test("codecs for the forwarder: VP8 with rtx, Opus alone; nothing to force when absent", () => {
  assert.deepEqual(forwardedCodecs([{ mimeType: "video/H264" }, { mimeType: "video/VP8" }, { mimeType: "video/rtx" }],
    "video"), [{ mimeType: "video/VP8" }, { mimeType: "video/rtx" }]);
  assert.deepEqual(forwardedCodecs([{ mimeType: "audio/G722" }, { mimeType: "audio/opus" }], "audio"),
    [{ mimeType: "audio/opus" }]);
  assert.equal(forwardedCodecs([{ mimeType: "video/H264" }], "video"), null);
  assert.equal(forwardedCodecs(undefined, "video"), null);
});

test("the bitrate cap needs encodings, and is not set twice", async () => {
  const sender = new FakeSender();
  assert.equal(await capBitrate(sender), true);
  assert.equal(await capBitrate(sender), true);
  assert.deepEqual(sender.set, [[MAX_VIDEO_BITRATE]]);
  const bare = new FakeSender();
  bare.params = { encodings: [] };
  assert.equal(await capBitrate(bare), false);
  assert.equal(await capBitrate(null), false);
});
