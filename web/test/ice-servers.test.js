// Fresh ICE servers (rtc:ice_servers) reach every open peer connection and the ones made later, and the group room's
// connections use the server's ICE transport policy. Node has no WebRTC: RTCPeerConnection is a stand-in that
// records its configuration; the real thing runs in the browser tests.
import { test } from "node:test";
import assert from "node:assert/strict";

class FakeStream {
  getTracks() {
    return [];
  }

  addTrack() {}

  removeTrack() {}
}

class FakePeerConnection extends EventTarget {
  constructor(config) {
    super();
    this.config = { ...config, bundlePolicy: "balanced" }; // a browser fills in the rest
    this.signalingState = "stable";
    this.changes = [];
    FakePeerConnection.made.push(this);
  }

  getConfiguration() {
    return { ...this.config };
  }

  setConfiguration(config) {
    if (this.refuse) throw new Error("InvalidModificationError");
    this.changes.push(config);
    this.config = { ...config };
  }

  addTransceiver(kind) {
    return { kind, receiver: { track: { kind } } };
  }

  getTransceivers() {
    return [];
  }

  async createOffer() {
    return { type: "offer", sdp: "offer" };
  }

  async setLocalDescription(description) {
    this.localDescription = description;
  }

  close() {
    this.signalingState = "closed";
  }
}
FakePeerConnection.made = [];

globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = FakeStream;

const { Mesh, updateIceServers } = await import("../src/room/mesh.js");
const { CallPeer } = await import("../src/calls/peer.js");
const { IDLE, Phase, step } = await import("../src/calls/state.js");

const OLD = [{ urls: ["turn:turn.example.org"], username: "100:a", credential: "old" }];
const NEW = [{ urls: ["turn:turn.example.org"], username: "200:b", credential: "new" }];

test("an open connection takes the new servers and keeps the rest of its configuration", () => {
  const pc = new FakePeerConnection({ iceServers: OLD, iceTransportPolicy: "relay" });
  assert.equal(updateIceServers(pc, NEW), true);
  assert.deepEqual(pc.config, { iceServers: NEW, iceTransportPolicy: "relay", bundlePolicy: "balanced" });

  const refusing = new FakePeerConnection({ iceServers: OLD });
  refusing.refuse = true;
  assert.equal(updateIceServers(refusing, NEW), false);
  assert.deepEqual(refusing.config.iceServers, OLD);

  const closed = new FakePeerConnection({ iceServers: OLD });
  closed.close();
  assert.equal(updateIceServers(closed, NEW), false);
  assert.deepEqual(closed.changes, []);
});

test("the room's connections use the server's transport policy, and take fresh servers, old and new alike", () => {
  FakePeerConnection.made = [];
  const mesh = new Mesh({ iceServers: OLD, iceTransportPolicy: "relay", localStream: () => null, send: () => {} });
  mesh.connectTo("peer-a", "user-a");
  mesh.connectTo("peer-b", "user-b");
  const [a, b] = FakePeerConnection.made;
  assert.deepEqual([a.config.iceTransportPolicy, b.config.iceTransportPolicy], ["relay", "relay"]);

  mesh.setIceServers(NEW);
  assert.deepEqual([a.config.iceServers, b.config.iceServers], [NEW, NEW]);
  assert.equal(a.config.iceTransportPolicy, "relay");
  mesh.connectTo("peer-c", "user-c");
  assert.deepEqual(FakePeerConnection.made[2].config.iceServers, NEW);
  mesh.destroy();

  const open = new Mesh({ iceServers: [], iceTransportPolicy: "anything", localStream: () => null, send: () => {} });
  open.connectTo("peer-d", "user-d");
  assert.equal(FakePeerConnection.made[3].config.iceTransportPolicy, "all");
  open.destroy();
});

test("a call's connection takes fresh servers until it is closed", () => {
  const peer = new CallPeer({ remoteId: "them", iceServers: OLD, iceTransportPolicy: "relay", send: () => {} });
  peer.setIceServers(NEW);
  assert.deepEqual(peer.pc.config.iceServers, NEW);
  peer.close();
  peer.setIceServers(OLD);
  assert.deepEqual(peer.pc.changes.length, 1);
});

test("the call keeps fresh servers for its next connection and asks for the open one to be updated", () => {
  const answered = { ...IDLE, phase: Phase.ANSWERED, callId: "c1", role: "caller", remotePeer: "p",
    media: { iceServers: OLD, iceTransportPolicy: "relay" } };
  const { state, effects } = step(answered, { type: "ice_servers",
    media: { iceServers: NEW, iceTransportPolicy: "relay" } });
  assert.deepEqual(state.media, { iceServers: NEW, iceTransportPolicy: "relay" });
  assert.deepEqual(effects, [{ type: "ice_servers", iceServers: NEW }]);

  // Nothing to update without a call that has its media, or with a payload that is not a server list.
  for (const before of [IDLE, { ...answered, phase: Phase.ENDED }, { ...IDLE, phase: Phase.RINGING }]) {
    assert.equal(step(before, { type: "ice_servers", media: { iceServers: NEW } }).state, before);
  }
  assert.equal(step(answered, { type: "ice_servers", media: { iceServers: "x" } }).state, answered);
});
