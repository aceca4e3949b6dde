// One's own camera and shared screen in the room, with stand-in tracks and a recorded room: what is said to the
// room when a share starts, ends (by the person, the browser, or the server) and after a reconnect.
import { test } from "node:test";
import assert from "node:assert/strict";

import { createOutgoing } from "../src/room/outgoing.js";
import { createOwnMedia } from "../src/room/own-media.js";
import { Phase } from "../src/room/state.js";

const ROOM = "87ef3290-c5ae-4668-8c7e-56d6406ac2c6";

class FakeTrack extends EventTarget {
  constructor(kind, enabled = true) {
    super();
    this.kind = kind;
    this.enabled = enabled;
    this.readyState = "live";
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

// A room with one member (us), a camera on or off, and every request recorded; answers may be set per event.
function setup({ cameraOn = true, screen = false, video = cameraOn, answers = {}, display = null } = {}) {
  const camera = new FakeTrack("video", cameraOn);
  const mic = new FakeTrack("audio");
  const outgoing = createOutgoing({ replaceOnSenders: async () => {} });
  outgoing.use(new FakeStream([mic, camera]));
  const me = { user_id: "robin", role: "participant", audio: true, video, screen, muted: { audio: false, video: false } };
  const room = { phase: Phase.JOINED, self: { user_id: "robin", role: "participant" }, participants: [me],
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
    signal: new AbortController().signal });
  return { own, outgoing, camera, room, me, sent, errors, pickers: () => pickerCalls };
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
