// The call's peer connection logic: who offers, ICE restarts on failure, colliding offers. Node has no WebRTC, so
// RTCPeerConnection and MediaStream are small stand-ins that record what was asked of them; the real thing runs in
// the browser tests (tests/e2e/test_mentor_call.py).
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }

  getTracks() {
    return this.tracks;
  }

  addTrack(track) {
    this.tracks.push(track);
  }

  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}

class FakePeerConnection extends EventTarget {
  constructor(config) {
    super();
    this.config = config;
    this.signalingState = "stable";
    this.iceConnectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.transceivers = [];
    this.added = [];
    this.candidates = [];
    this.iceRestarts = 0;
    this.offers = 0;
    FakePeerConnection.last = this;
  }

  addTransceiver(trackOrKind, init) {
    const kind = typeof trackOrKind === "string" ? trackOrKind : trackOrKind.kind;
    const sender = {
      track: typeof trackOrKind === "string" ? null : trackOrKind,
      async replaceTrack(track) {
        this.track = track;
      },
    };
    const transceiver = { kind, init, direction: init.direction, receiver: { track: { kind } }, sender };
    this.transceivers.push(transceiver);
    return transceiver;
  }

  getTransceivers() {
    return this.transceivers;
  }

  addTrack(track) {
    this.added.push(track.kind);
  }

  restartIce() {
    this.iceRestarts += 1;
  }

  async createOffer(options) {
    this.offers += 1;
    return { type: "offer", sdp: `offer ${this.offers}${options?.iceRestart ? " ice-restart" : ""}` };
  }

  async createAnswer() {
    return { type: "answer", sdp: "answer" };
  }

  async setLocalDescription(description) {
    this.localDescription = description;
    this.signalingState = description.type === "offer" ? "have-local-offer" : "stable";
  }

  async setRemoteDescription(description) {
    if (description.type === "offer" && this.signalingState === "have-local-offer") this.rolledBack = true;
    this.remoteDescription = description;
    this.signalingState = description.type === "offer" ? "have-remote-offer" : "stable";
  }

  async addIceCandidate(candidate) {
    this.candidates.push(candidate);
  }

  close() {
    this.signalingState = "closed";
  }

  ice(state) {
    this.iceConnectionState = state;
    this.dispatchEvent(new Event("iceconnectionstatechange"));
  }
}

globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = FakeStream;

const { CallPeer, DISCONNECTED_GRACE_MS, MAX_RESTARTS } = await import("../src/calls/peer.js");

const settle = () => new Promise((resolve) => setImmediate(resolve));
const camera = () => new FakeStream([{ kind: "audio", readyState: "live" }, { kind: "video", readyState: "live" }]);

let sent;
let links;

function peer({ caller = true, stream = camera() } = {}) {
  const made = new CallPeer({
    remoteId: "them",
    iceServers: [{ urls: ["turn:turn.example.org"] }],
    iceTransportPolicy: "relay",
    localStream: () => stream,
    polite: !caller,
    restartsIce: caller,
    send: (message) => sent.push(message),
    onLink: (link) => links.push(link),
  });
  return { peer: made, pc: FakePeerConnection.last };
}

const offers = () => sent.filter((m) => m.type === "offer");

beforeEach(() => {
  sent = [];
  links = [];
  mock.timers.enable({ apis: ["setTimeout"] });
});

afterEach(() => {
  mock.timers.reset();
});

test("the connection uses the server's ICE servers and transport policy as given", () => {
  const { pc } = peer();
  assert.deepEqual(pc.config, { iceServers: [{ urls: ["turn:turn.example.org"] }], iceTransportPolicy: "relay" });
});

test("the caller sends its camera and microphone and offers to the other side's peer id", async () => {
  const { peer: caller, pc } = peer();
  caller.start();
  await settle();
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.init.direction]), [["audio", "sendrecv"], ["video", "sendrecv"]]);
  assert.deepEqual(offers(), [{ to: "them", type: "offer", sdp: "offer 1" }]);
});

test("without a camera the caller still asks to receive video", async () => {
  const { peer: caller, pc } = peer({ stream: new FakeStream([{ kind: "audio", readyState: "live" }]) });
  caller.start();
  await settle();
  assert.deepEqual(pc.transceivers.map((t) => [t.kind, t.init.direction]), [["audio", "sendrecv"], ["video", "recvonly"]]);
});

test("the callee answers with its own media; early candidates wait for the description", async () => {
  const { peer: callee, pc } = peer({ caller: false });
  callee.handle({ from: "them", type: "candidate", candidate: { candidate: "candidate:1", sdpMid: "0" } });
  callee.handle({ from: "them", type: "offer", sdp: "their offer" });
  await settle();
  assert.deepEqual(pc.added, ["audio", "video"]);
  assert.deepEqual(pc.candidates, [{ candidate: "candidate:1", sdpMid: "0" }]);
  assert.deepEqual(sent, [{ to: "them", type: "answer", sdp: "answer" }]);
});

test("signals from any other connection are ignored", async () => {
  const { peer: callee } = peer({ caller: false });
  callee.handle({ from: "someone-else", type: "offer", sdp: "x" });
  await settle();
  assert.deepEqual(sent, []);
});

test("a failed link makes the caller restart ICE and offer again, without ending anything", async () => {
  const { peer: caller, pc } = peer();
  caller.start();
  await settle();
  caller.handle({ from: "them", type: "answer", sdp: "answer" });
  await settle();
  pc.ice("connected");
  pc.ice("failed");
  await settle();
  assert.equal(pc.iceRestarts, 1);
  assert.deepEqual(offers().at(-1), { to: "them", type: "offer", sdp: "offer 2 ice-restart" });
  assert.deepEqual(links, ["connected", "trouble"]);
});

test("a link disconnected for a few seconds is restarted; one that heals by itself is not", async () => {
  const { peer: caller, pc } = peer();
  caller.start();
  await settle();
  caller.handle({ from: "them", type: "answer", sdp: "answer" });
  await settle();

  pc.ice("disconnected");
  mock.timers.tick(DISCONNECTED_GRACE_MS - 1);
  pc.ice("connected");
  mock.timers.tick(DISCONNECTED_GRACE_MS);
  await settle();
  assert.equal(pc.iceRestarts, 0);

  pc.ice("disconnected");
  mock.timers.tick(DISCONNECTED_GRACE_MS);
  await settle();
  assert.equal(pc.iceRestarts, 1);
  assert.match(offers().at(-1).sdp, /ice-restart/);
});

test("the callee does not restart: it waits for the caller's new offer and answers it", async () => {
  const { peer: callee, pc } = peer({ caller: false });
  callee.handle({ from: "them", type: "offer", sdp: "their offer" });
  await settle();
  pc.ice("failed");
  await settle();
  assert.equal(pc.iceRestarts, 0);
  assert.deepEqual(offers(), []);
  callee.handle({ from: "them", type: "offer", sdp: "their restart offer" });
  await settle();
  assert.equal(sent.filter((m) => m.type === "answer").length, 2);
  assert.deepEqual(pc.added, ["audio", "video"], "the media is added once");
});

test("after several restarts that did not help, the caller stops and says the link is lost", async () => {
  const { peer: caller, pc } = peer();
  caller.start();
  await settle();
  for (let i = 0; i < MAX_RESTARTS + 1; i += 1) {
    caller.handle({ from: "them", type: "answer", sdp: "answer" });
    await settle();
    pc.ice("failed");
    await settle();
  }
  assert.equal(pc.iceRestarts, MAX_RESTARTS);
  assert.equal(links.at(-1), "lost");
});

test("colliding offers: the caller keeps its own, the callee gives way", async () => {
  const { peer: caller, pc: callerPc } = peer();
  caller.start();
  await settle();
  caller.handle({ from: "them", type: "offer", sdp: "their offer" });
  await settle();
  assert.equal(callerPc.remoteDescription, null);
  assert.deepEqual(sent.map((m) => m.type), ["offer"]);

  sent = [];
  const { peer: callee, pc: calleePc } = peer({ caller: false });
  callee.handle({ from: "them", type: "offer", sdp: "first" });
  await settle();
  callee.restartIce(); // the protocol lets either side offer
  await settle();
  callee.handle({ from: "them", type: "offer", sdp: "the caller's" });
  await settle();
  assert.equal(calleePc.rolledBack, true);
  assert.deepEqual(sent.map((m) => m.type), ["answer", "offer", "answer"]);
});

test("nothing is sent once closed", async () => {
  const { peer: caller, pc } = peer();
  caller.close();
  caller.start();
  caller.restartIce();
  pc.ice("failed");
  await settle();
  assert.deepEqual(sent, []);
  assert.equal(pc.signalingState, "closed");
});

test("another camera mid-call replaces the sender's track without a new offer", async () => {
  const { peer: caller, pc } = peer();
  caller.start();
  await settle();
  caller.handle({ from: "them", type: "answer", sdp: "answer" });
  await settle();
  const other = { kind: "video", readyState: "live" };
  await caller.replaceTrack("video", other);
  assert.equal(pc.transceivers[1].sender.track, other);
  assert.equal(offers().length, 1);
});

test("a camera added mid-call by a side that joined without one starts sending, with a new offer", async () => {
  const { peer: caller, pc } = peer({ stream: new FakeStream([{ kind: "audio", readyState: "live" }]) });
  caller.start();
  await settle();
  caller.handle({ from: "them", type: "answer", sdp: "answer" });
  await settle();
  await caller.replaceTrack("video", { kind: "video", readyState: "live" });
  assert.equal(pc.transceivers[1].direction, "sendrecv");
  assert.equal(offers().length, 2);
});
