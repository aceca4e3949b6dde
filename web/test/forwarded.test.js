// A group room's media as pure state (src/room/forwarded.js): switching between mesh and the forwarder, which
// forwarded track belongs to whom, who speaks, and what a tile shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  INITIAL, meshOffers, playable, roomMediaOf, step, tileLabels, tileView, tracksOf,
} from "../src/room/forwarded.js";

const SFU = { mode: "sfu", peer_id: "fwd-1", ice_servers: [], ice_transport_policy: "all", mesh_limit: 0 };
const MESH = { mode: "mesh", ice_servers: [{ urls: ["stun:stun.example.org"] }], ice_transport_policy: "relay",
  mesh_limit: 4 };

function run(events, state = INITIAL) {
  let effects = [];
  for (const event of events) ({ state, effects } = step(state, event));
  return { state, effects };
}

const kinds = (effects) => effects.map((e) => e.type);

test("the server's media object is kept to what the client uses", () => {
  assert.deepEqual(roomMediaOf(SFU),
    { mode: "sfu", peerId: "fwd-1", iceServers: [], iceTransportPolicy: "all", meshLimit: 0 });
  assert.deepEqual(roomMediaOf(MESH), { mode: "mesh", peerId: null, iceServers: MESH.ice_servers,
    iceTransportPolicy: "relay", meshLimit: 4 });
  assert.equal(roomMediaOf({ mode: "mesh", peer_id: "x" }).peerId, null, "a mesh has no forwarder");
  assert.deepEqual(roomMediaOf(undefined), { mode: "mesh", peerId: null, iceServers: [], iceTransportPolicy: "all",
    meshLimit: null });
  assert.equal(roomMediaOf({ ...SFU, ice_transport_policy: "nearby" }).iceTransportPolicy, "all");
});

test("entering a forwarded room opens one connection to the forwarder, with the ICE settings as given", () => {
  const { state, effects } = run([{ type: "enter", media: { ...SFU, ice_transport_policy: "relay" } }]);
  assert.equal(state.media.mode, "sfu");
  assert.deepEqual(effects, [{ type: "open_forwarder", peerId: "fwd-1", iceServers: [], iceTransportPolicy: "relay" }]);
});

test("entering a mesh room opens the mesh as the newcomer", () => {
  const { effects } = run([{ type: "enter", media: MESH }]);
  assert.deepEqual(effects, [{ type: "open_mesh", offers: "newcomer", iceServers: MESH.ice_servers,
    iceTransportPolicy: "relay" }]);
});

test("entering again (a reconnect) closes what was open and starts afresh", () => {
  const { effects } = run([{ type: "enter", media: SFU }, { type: "enter", media: SFU }]);
  assert.deepEqual(kinds(effects), ["close_forwarder", "open_forwarder"]);
});

test("room:media from mesh to the forwarder closes the mesh and opens the forwarder connection", () => {
  const { state, effects } = run([{ type: "enter", media: MESH }, { type: "media", media: SFU }]);
  assert.deepEqual(kinds(effects), ["close_mesh", "open_forwarder"]);
  assert.equal(state.media.peerId, "fwd-1");
});

test("a forwarder that moved (a new peer id) gets a new connection; its old tracks and speakers are forgotten", () => {
  const { state, effects } = run([
    { type: "enter", media: SFU },
    { type: "track", key: "t1", userId: "ana", kind: "video", live: true },
    { type: "speakers", userIds: ["ana"] },
    { type: "media", media: { ...SFU, peer_id: "fwd-2" } },
  ]);
  assert.deepEqual(effects, [{ type: "close_forwarder" },
    { type: "open_forwarder", peerId: "fwd-2", iceServers: [], iceTransportPolicy: "all" }]);
  assert.deepEqual(state.tracks, {});
  assert.deepEqual(state.speakers, []);
});

test("room:media naming the same forwarder keeps the connection and only passes on the ICE servers", () => {
  const servers = [{ urls: ["turn:turn.example.org"], username: "u", credential: "c" }];
  const { state, effects } = run([
    { type: "enter", media: SFU },
    { type: "track", key: "t1", userId: "ana", kind: "audio", live: true },
    { type: "media", media: { ...SFU, ice_servers: servers } },
  ]);
  assert.deepEqual(effects, [{ type: "ice_servers", iceServers: servers }]);
  assert.deepEqual(Object.keys(state.tracks), ["t1"]);
});

test("back from the forwarder to a mesh: everyone switches at once, so the lower peer id offers", () => {
  const { effects } = run([{ type: "enter", media: SFU }, { type: "media", media: MESH }]);
  assert.deepEqual(kinds(effects), ["close_forwarder", "open_mesh"]);
  assert.equal(effects[1].offers, "lower_offers");
});

test("room:media before entering, and a forwarded room without a forwarder peer id, open nothing", () => {
  assert.deepEqual(run([{ type: "media", media: SFU }]).effects, []);
  assert.deepEqual(run([{ type: "enter", media: { mode: "sfu" } }]).effects, []);
});

test("leaving closes whatever is open; leaving again closes nothing", () => {
  const first = run([{ type: "enter", media: SFU }, { type: "leave" }]);
  assert.deepEqual(kinds(first.effects), ["close_forwarder"]);
  assert.equal(first.state.media, null);
  assert.deepEqual(step(first.state, { type: "leave" }).effects, []);
});

test("the mesh's offers: the newcomer offers to every connected member; otherwise only to higher peer ids", () => {
  const self = { user_id: "me", peer_id: "m" };
  const people = [
    { user_id: "me", peer_id: "m" },
    { user_id: "ana", peer_id: "a" },
    { user_id: "bo", peer_id: "z" },
    { user_id: "cy", peer_id: "y", connected: false },
    { user_id: "di", peer_id: null },
  ];
  assert.deepEqual(meshOffers("newcomer", self, people), [{ peerId: "a", userId: "ana" }, { peerId: "z", userId: "bo" }]);
  assert.deepEqual(meshOffers("lower_offers", self, people), [{ peerId: "z", userId: "bo" }]);
});

test("forwarded tracks are put on their publisher's tile by stream id, and leave it when removed", () => {
  const { state } = run([
    { type: "enter", media: SFU },
    { type: "track", key: "a1", userId: "ana", kind: "audio", live: true },
    { type: "track", key: "v1", userId: "ana", kind: "video", live: false },
    { type: "track", key: "v2", userId: "bo", kind: "video", live: true },
  ]);
  assert.deepEqual(tracksOf(state, "ana"), { audio: ["a1"], video: ["v1"] });
  assert.deepEqual(tracksOf(state, "bo"), { audio: [], video: ["v2"] });
  const gone = step(state, { type: "track_gone", key: "v2" }).state;
  assert.deepEqual(tracksOf(gone, "bo"), { audio: [], video: [] });
  assert.equal(step(gone, { type: "track_gone", key: "v2" }).state, gone, "an unknown track changes nothing");
});

test("a tile plays one track of each kind: the newest live one, else the newest", () => {
  let { state } = run([
    { type: "enter", media: SFU },
    { type: "track", key: "a1", userId: "ana", kind: "audio", live: true },
    { type: "track", key: "v1", userId: "ana", kind: "video", live: true },
    { type: "track", key: "v2", userId: "ana", kind: "video", live: false },
  ]);
  assert.deepEqual(playable(state, "ana"), ["a1", "v1"], "the new one is not live yet");
  state = step(state, { type: "track_live", key: "v2", live: true }).state;
  assert.deepEqual(playable(state, "ana"), ["a1", "v2"]);
  state = step(state, { type: "track_live", key: "v1", live: false }).state;
  state = step(state, { type: "track_live", key: "v2", live: false }).state;
  assert.deepEqual(playable(state, "ana"), ["a1", "v2"], "none live: the newest");
  assert.deepEqual(playable(state, "bo"), []);
});

test("a reused transceiver's track moves from one publisher to another", () => {
  const { state } = run([
    { type: "enter", media: SFU },
    { type: "track", key: "v1", userId: "ana", kind: "video", live: true },
    { type: "track_gone", key: "v1" },
    { type: "track", key: "v1", userId: "bo", kind: "video", live: true },
  ]);
  assert.deepEqual(tracksOf(state, "ana").video, []);
  assert.deepEqual(tracksOf(state, "bo").video, ["v1"]);
});

test("tracks are only kept in a forwarded room, and only audio and video with a publisher", () => {
  const mesh = run([{ type: "enter", media: MESH }, { type: "track", key: "v", userId: "ana", kind: "video" }]);
  assert.deepEqual(mesh.state.tracks, {});
  const odd = run([
    { type: "enter", media: SFU },
    { type: "track", key: "d", userId: "ana", kind: "data" },
    { type: "track", key: "n", userId: null, kind: "video" },
  ]);
  assert.deepEqual(odd.state.tracks, {});
});

const ana = { user_id: "ana", display_name: "Ana", audio: true, video: true, connected: true,
  muted: { audio: false, video: false } };

test("a tile shows the picture only while a live video track arrives and the camera is on", () => {
  let { state } = run([{ type: "enter", media: SFU }]);
  assert.equal(tileView(state, ana).videoShown, false, "nothing has arrived yet");
  state = step(state, { type: "track", key: "v1", userId: "ana", kind: "video", live: false }).state;
  assert.equal(tileView(state, ana).videoShown, false, "a track that is still muted shows no picture");
  state = step(state, { type: "track_live", key: "v1", live: true }).state;
  assert.equal(tileView(state, ana).videoShown, true);
  assert.equal(tileView(state, { ...ana, video: false }).videoShown, false, "their camera is off");
  state = step(state, { type: "track_live", key: "v1", live: false }).state;
  assert.equal(tileView(state, ana).videoShown, false, "muted (nothing forwarded): blank");
});

test("in a mesh the picture follows the member's camera flag alone", () => {
  const { state } = run([{ type: "enter", media: MESH }]);
  assert.equal(tileView(state, ana).videoShown, true);
  assert.equal(tileView(state, { ...ana, video: false }).videoShown, false);
});

test("room:speakers marks who is speaking, and only them", () => {
  let { state } = run([{ type: "enter", media: SFU }, { type: "speakers", userIds: ["ana", "ana", 7, ""] }]);
  assert.deepEqual(state.speakers, ["ana"]);
  assert.equal(tileView(state, ana).speaking, true);
  assert.equal(tileView(state, { ...ana, user_id: "bo" }).speaking, false);
  state = step(state, { type: "speakers", userIds: [] }).state;
  assert.equal(tileView(state, ana).speaking, false);
  state = step(state, { type: "speakers", userIds: ["ana", "bo"] }).state;
  state = step(state, { type: "member_left", userId: "ana" }).state;
  assert.deepEqual(state.speakers, ["bo"]);
  assert.deepEqual(step(INITIAL, { type: "speakers", userIds: ["ana"] }).state.speakers, [], "not in a room");
});

test("a facilitator's mute reads apart from a member's own choice", () => {
  const { state } = run([{ type: "enter", media: SFU }]);
  const own = tileView(state, { ...ana, audio: false });
  assert.equal(own.audio, "off");
  assert.deepEqual(tileLabels(own), ["Mic off"]);
  const held = tileView(state, { ...ana, audio: false, muted: { audio: true, video: false } });
  assert.equal(held.audio, "held");
  assert.deepEqual(tileLabels(held), ["Mic muted by a facilitator"]);
  const camera = tileView(state, { ...ana, video: false, muted: { audio: false, video: true } });
  assert.equal(camera.video, "held");
  assert.equal(camera.videoShown, false);
  assert.deepEqual(tileLabels(camera), ["Camera turned off by a facilitator"]);
  assert.deepEqual(tileLabels(tileView(state, ana)), []);
});

test("a tile for someone the roster does not know yet still has a name", () => {
  const { state } = run([{ type: "enter", media: SFU }]);
  const view = tileView(state, null, "ghost");
  assert.equal(view.name, "Someone");
  assert.equal(view.userId, "ghost");
  assert.deepEqual(tileLabels(tileView(state, { ...ana, connected: false })), ["Reconnecting…"]);
});
