// One's own camera and shared screen in the room, with stand-in tracks and a recorded room: what is said to the
// room when a share starts, ends (by the person, the browser, or the server) and after a reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";

import { createOutgoing } from "../src/room/outgoing.js";
import { createOwnMedia } from "../src/room/own-media.js";
import { Phase } from "../src/room/state.js";

const ROOM = "87ef3290-c5ae-4668-8c7e-56d6406ac2c6";

class FakeTrack extends EventTarget {
  constructor(kind, enabled = true, deviceId = "") {
    super();
    this.kind = kind;
    this.enabled = enabled;
    this.readyState = "live";
    this.deviceId = deviceId;
  }

  getSettings() {
    return this.readyState === "live" && this.deviceId ? { deviceId: this.deviceId } : {};
  }

  stop() {
    this.readyState = "ended";
  }

  // The browser's own "Stop sharing": the track ends and says so.
  end() {
    this.readyState = "ended";
    this.dispatchEvent(new Event("ended"));
  }
}

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }

  getTracks() {
    return [...this.tracks];
  }

  addTrack(track) {
    this.tracks.push(track);
  }

  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}
globalThis.MediaStream = FakeStream;

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const RELEASE_MS = 5;
const released = () => new Promise((resolve) => setTimeout(resolve, RELEASE_MS + 10));

// A room with one member (us), a camera on or off, and every request recorded; answers may be set per event.
// Cameras opened again (`opened`: the device asked for) and what the video senders were given (`senders`) are kept;
// openFails: the camera cannot be opened again (an Error with .problem).
function setup({ cameraOn = true, screen = false, video = cameraOn, answers = {}, display = null,
  phase = Phase.JOINED, openFails = null } = {}) {
  const camera = new FakeTrack("video", cameraOn, "cam-1");
  const mic = new FakeTrack("audio");
  const opened = [];
  const senders = [];
  const open = async (deviceId) => {
    opened.push(deviceId);
    if (openFails) throw openFails;
    return new FakeTrack("video", false, deviceId || "default-cam");
  };
  const outgoing = createOutgoing({ open, replaceOnSenders: async (kind, track) => {
    if (kind === "video") senders.push(track);
  } });
  outgoing.use(new FakeStream([mic, camera]));
  const me = { user_id: "robin", role: "participant", audio: true, video, screen, muted: { audio: false, video: false } };
  const room = { phase, self: { user_id: "robin", role: "participant" }, participants: [me],
    screenShareAllowed: true, selfUnmuteAllowed: true };
  const sent = [];
  const request = async (event, payload) => {
    sent.push([event, payload.kind ? `${payload.kind}:${payload.enabled}` : payload.sharing]);
    const answer = answers[event];
    return typeof answer === "function" ? answer(payload) : answer || { ok: true };
  };
  const errors = [];
  let pickerCalls = 0;
  globalThis.navigator = { mediaDevices: { getDisplayMedia: async () => {
    pickerCalls += 1;
    const track = display || new FakeTrack("video");
    return { getVideoTracks: () => [track] };
  } } };
  const own = createOwnMedia({ roomId: ROOM, outgoing, request, act: request, room: () => room, changed: () => {},
    notice: { show: () => {}, clear: () => {} }, showError: (text) => errors.push(text),
    signal: new AbortController().signal, releaseAfterMs: RELEASE_MS });
  return { own, outgoing, camera, room, me, sent, errors, opened, senders, pickers: () => pickerCalls };
}

test("sharing with the camera off turns the room's video on; stopping says both again", async () => {
  const t = setup({ cameraOn: false });
  await t.own.toggleShare();
  await tick();
  assert.equal(t.outgoing.sharing, true);
  assert.deepEqual(t.sent, [["room:screen", true], ["room:media", "video:true"]]);
  t.sent.length = 0;
  t.own.toggleShare();
  await tick();
  assert.equal(t.outgoing.sharing, false);
  assert.equal(t.camera.enabled, false, "the camera comes back as it was: off");
  assert.deepEqual(t.sent, [["room:screen", false], ["room:media", "video:false"]]);
});

test("a second press while the share is starting opens no second picker", async () => {
  const t = setup();
  t.own.toggleShare();
  assert.equal(t.own.starting, true);
  t.own.toggleShare();
  await tick();
  await tick();
  assert.equal(t.pickers(), 1);
  assert.equal(t.own.starting, false);
  assert.deepEqual(t.sent.filter(([event]) => event === "room:screen"), [["room:screen", true]]);
});

test("the capture ended before it went out: it is stopped, and the room hears the share is off", async () => {
  const display = new FakeTrack("video");
  const t = setup({ display, answers: { "room:screen": (payload) => {
    if (payload.sharing) display.end(); // "Stop sharing" pressed while the room was asked
    return { ok: true };
  } } });
  await t.own.toggleShare();
  await tick();
  assert.equal(t.outgoing.sharing, false);
  assert.equal(display.readyState, "ended");
  assert.deepEqual(t.sent, [["room:screen", true], ["room:screen", false]]);
});

test("the room refuses the share: the capture stops and nothing else is said", async () => {
  const display = new FakeTrack("video");
  const t = setup({ display, answers: { "room:screen": { ok: false, error: { code: "not_authorized" } } } });
  await t.own.toggleShare();
  assert.equal(display.readyState, "ended");
  assert.equal(t.outgoing.sharing, false);
  assert.deepEqual(t.sent, [["room:screen", true]]);
});

test("the browser's Stop sharing after the share began puts the camera back and tells the room", async () => {
  const display = new FakeTrack("video");
  const t = setup({ display });
  await t.own.toggleShare();
  t.sent.length = 0;
  display.end();
  await tick();
  assert.equal(t.outgoing.sharing, false);
  assert.deepEqual(t.sent, [["room:screen", false]], "the camera was on: the video flag stays on");
  assert.equal(t.outgoing.cameraOn, true, "the camera that was on is opened again");
});

test("the server ended the share (settings): a camera that was off is said to be off again", async () => {
  const t = setup({ cameraOn: false });
  await t.own.toggleShare();
  t.sent.length = 0;
  await t.own.stopShare({ tell: false });
  assert.deepEqual(t.sent, [["room:media", "video:false"]]);
  // Ended by a facilitator's video mute: the server has the video off already, nothing is said.
  const muted = setup({ cameraOn: false });
  await muted.own.toggleShare();
  muted.sent.length = 0;
  await muted.own.stopShare({ tell: false, keepOff: true });
  assert.deepEqual(muted.sent, []);
  // A camera that was on before: nothing to correct.
  const on = setup({ cameraOn: true });
  await on.own.toggleShare();
  on.sent.length = 0;
  await on.own.stopShare({ tell: false });
  assert.deepEqual(on.sent, []);
});

test("after a reconnect while sharing: the video counts as on, and a lost screen flag is sent again", async () => {
  const t = setup({ cameraOn: false });
  await t.own.toggleShare();
  // The fresh entry: the room has our video on (the share turned it on) but no longer says we share.
  Object.assign(t.me, { video: true, screen: false });
  t.sent.length = 0;
  t.own.syncOnEntry();
  await tick();
  assert.deepEqual(t.sent, [["room:screen", true]], "no video:false for the camera waiting aside");
  assert.equal(t.outgoing.sharing, true);

  // Refused now (the group stopped allowing it meanwhile): the share stops and the camera's off is said.
  let allowed = true;
  const refused = setup({ cameraOn: false, answers: { "room:screen": (payload) => (payload.sharing && !allowed
    ? { ok: false, error: { code: "not_authorized" } } : { ok: true }) } });
  await refused.own.toggleShare();
  Object.assign(refused.me, { video: true, screen: false });
  refused.sent.length = 0;
  allowed = false;
  refused.own.syncOnEntry();
  for (let i = 0; i < 5; i += 1) await tick();
  assert.equal(refused.outgoing.sharing, false);
  assert.deepEqual(refused.sent, [["room:screen", true], ["room:screen", false], ["room:media", "video:false"]]);
});

test("after a reconnect: the room still has us sharing, but this page does not", () => {
  const t = setup({ cameraOn: false, video: true, screen: true });
  t.own.syncOnEntry();
  assert.deepEqual(t.sent, [["room:screen", false], ["room:media", "video:false"]]);
});

test("a camera turned off goes dark at once, is let go a moment later; its sender stays, empty", async () => {
  const t = setup();
  t.own.toggle("video");
  assert.equal(t.camera.enabled, false, "dark at once");
  assert.equal(t.camera.readyState, "live", "still open for a moment: black frames reach the others");
  await tick();
  assert.deepEqual(t.sent, [["room:media", "video:false"]]);
  await released();
  assert.equal(t.camera.readyState, "ended", "let go: the light goes out");
  assert.equal(t.outgoing.device("video"), t.camera, "the room still knows there is a camera, off");
  assert.equal(t.outgoing.cameraOn, false);
  assert.deepEqual(t.senders, [null]);
});

test("turned on again within the moment: the same camera goes on, nothing is opened or let go", async () => {
  const t = setup();
  t.own.toggle("video");
  await tick();
  t.own.toggle("video");
  await tick();
  await released();
  assert.equal(t.camera.readyState, "live");
  assert.equal(t.camera.enabled, true);
  assert.deepEqual(t.opened, []);
  assert.deepEqual(t.senders, []);
});

test("turning a let-go camera on: the room agrees first, then the same device opens and goes on the senders",
  async () => {
    const t = setup();
    t.own.toggle("video");
    await released();
    t.sent.length = 0;
    t.senders.length = 0;
    await t.own.turnOn("video");
    assert.deepEqual(t.sent, [["room:media", "video:true"]]);
    assert.deepEqual(t.opened, ["cam-1"], "the camera in use before");
    const camera = t.outgoing.device("video");
    assert.notEqual(camera, t.camera);
    assert.equal(camera.enabled, true);
    assert.equal(camera.readyState, "live");
    assert.deepEqual(t.senders, [camera]);
    assert.deepEqual(t.outgoing.stream.getTracks().filter((x) => x.kind === "video"), [camera]);
    assert.equal(t.own.busy.video, false);
  });

test("the room refuses the camera (a facilitator's mute stands): nothing is opened", async () => {
  const t = setup({ answers: { "room:media": (p) => (p.enabled ? { ok: false, error: { code: "muted" } }
    : { ok: true }) } });
  t.own.toggle("video");
  await released();
  await t.own.turnOn("video");
  assert.deepEqual(t.opened, []);
  assert.equal(t.outgoing.cameraOn, false);
});

test("the camera cannot be opened again: the person reads why, and the room hears it is off", async () => {
  const t = setup({ openFails: Object.assign(new Error("no"), { problem: "denied" }) });
  t.own.toggle("video");
  await released();
  t.sent.length = 0;
  await t.own.turnOn("video");
  assert.deepEqual(t.sent, [["room:media", "video:true"], ["room:media", "video:false"]]);
  assert.match(t.errors[0], /not allowed to use your camera/);
  assert.equal(t.outgoing.cameraOn, false);
});

test("joining with the camera off: it is let go before entry and opens on the first turn on", async () => {
  const t = setup({ cameraOn: false, phase: Phase.PREJOIN });
  assert.equal(await t.outgoing.releaseCamera(), true);
  assert.equal(t.camera.readyState, "ended");
  assert.equal(t.outgoing.cameraId, "cam-1", "the chosen camera is remembered");
  t.room.phase = Phase.JOINED;
  Object.assign(t.me, { video: false });
  t.own.syncOnEntry();
  assert.deepEqual(t.sent, [], "the room has the camera off already");
  await t.own.turnOn("video");
  assert.deepEqual(t.opened, ["cam-1"]);
  assert.equal(t.outgoing.cameraOn, true);
});

test("a facilitator's mute of the camera: dark at once, let go a moment later", async () => {
  const t = setup();
  t.own.mutedByFacilitator("video");
  assert.equal(t.camera.enabled, false);
  await released();
  assert.equal(t.camera.readyState, "ended");
});

test("while a screen is shared the camera is let go; the share's end opens it again only if it was on", async () => {
  const on = setup();
  await on.own.toggleShare();
  assert.equal(on.camera.readyState, "ended", "not shown, so not held");
  await on.own.toggleShare();
  assert.deepEqual(on.opened, ["cam-1"]);
  assert.equal(on.outgoing.cameraOn, true);
  assert.equal(on.senders.at(-1), on.outgoing.device("video"));

  const off = setup({ cameraOn: false });
  await off.outgoing.releaseCamera();
  await off.own.toggleShare();
  await off.own.toggleShare();
  assert.deepEqual(off.opened, [], "off before the share: nothing opens");
  assert.equal(off.senders.at(-1), null);
});

test("another camera chosen while the camera is off: remembered, and let go at once", async () => {
  const t = setup();
  t.own.toggle("video");
  await released();
  const other = new FakeTrack("video", true, "cam-2");
  await t.outgoing.useDevice("video", other);
  assert.equal(other.enabled, false);
  assert.equal(other.readyState, "ended");
  assert.equal(t.outgoing.cameraId, "cam-2");
  await t.own.turnOn("video");
  assert.deepEqual(t.opened, ["cam-2"]);
});
