// The device choice without a browser: naming devices, where a pre-join starts, the saved choice, and the words.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  canRetry, groupDevices, initialChoice, joinSummary, levelOf, problemOf, problemOfError, problemText, readSaved,
  SAVED_KEY, writeSaved,
} from "../src/devices/choice.js";

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), data };
}

const CAM_A = { kind: "videoinput", deviceId: "cam-a", groupId: "g1", label: "Front camera" };
const CAM_B = { kind: "videoinput", deviceId: "cam-b", groupId: "g2", label: "" };
const MIC_A = { kind: "audioinput", deviceId: "mic-a", groupId: "g1", label: "Headset" };
const OUT_A = { kind: "audiooutput", deviceId: "out-a", groupId: "g1", label: "Speakers" };

test("devices are grouped by kind, unnamed ones get a plain name", () => {
  const lists = groupDevices([CAM_A, CAM_B, MIC_A, OUT_A, { kind: "other", deviceId: "x" }, null]);
  assert.deepEqual(lists.videoinput.map((d) => d.label), ["Front camera", "Camera 2"]);
  assert.deepEqual(lists.audioinput.map((d) => d.deviceId), ["mic-a"]);
  assert.deepEqual(lists.audiooutput.map((d) => d.label), ["Speakers"]);
});

test("before permission, devices without ids still count and are named in order", () => {
  const lists = groupDevices([
    { kind: "videoinput", deviceId: "", label: "" },
    { kind: "audioinput", deviceId: "", label: "" },
    { kind: "audioinput", deviceId: "", label: "" },
  ]);
  assert.equal(lists.videoinput.length, 1);
  assert.deepEqual(lists.audioinput.map((d) => d.label), ["Microphone 1", "Microphone 2"]);
  assert.deepEqual(groupDevices(undefined), { audioinput: [], videoinput: [], audiooutput: [] });
});

test("a listed id appears once", () => {
  const lists = groupDevices([MIC_A, { ...MIC_A, label: "again" }]);
  assert.equal(lists.audioinput.length, 1);
});

test("the saved devices are used while they are still here, camera and microphone on by default", () => {
  const lists = groupDevices([CAM_A, CAM_B, MIC_A, OUT_A]);
  assert.deepEqual(initialChoice(null, lists), {
    videoDeviceId: "cam-a", audioDeviceId: "mic-a", outputDeviceId: "out-a", video: true, audio: true,
  });
  const saved = { videoDeviceId: "cam-b", audioDeviceId: "gone", outputDeviceId: null, video: false, audio: true };
  assert.deepEqual(initialChoice(saved, lists), {
    videoDeviceId: "cam-b", audioDeviceId: "mic-a", outputDeviceId: "out-a", video: false, audio: true,
  });
});

test("no such device: that kind starts off, and without ids nothing is named", () => {
  const choice = initialChoice({ video: true, audio: true }, groupDevices([MIC_A]));
  assert.equal(choice.video, false);
  assert.equal(choice.videoDeviceId, null);
  assert.equal(choice.audio, true);
  const hidden = initialChoice(null, groupDevices([{ kind: "videoinput", deviceId: "", label: "" }]));
  assert.equal(hidden.videoDeviceId, null);
  assert.equal(hidden.video, true);
});

test("before permission (no ids told), the saved devices are still asked for", () => {
  const unnamed = groupDevices([{ kind: "videoinput", deviceId: "", label: "" },
    { kind: "audioinput", deviceId: "", label: "" }]);
  const saved = { videoDeviceId: "cam-b", audioDeviceId: "mic-a", outputDeviceId: null, video: true, audio: false };
  assert.deepEqual(initialChoice(saved, unnamed), {
    videoDeviceId: "cam-b", audioDeviceId: "mic-a", outputDeviceId: null, video: true, audio: false,
  });
  // With ids told, a saved device that is gone gives way to the first one.
  assert.equal(initialChoice({ ...saved, videoDeviceId: "gone" }, groupDevices([CAM_A])).videoDeviceId, "cam-a");
});

test("the saved choice is read defensively and merged when written", () => {
  assert.equal(readSaved(memoryStorage()), null);
  assert.equal(readSaved(memoryStorage({ [SAVED_KEY]: "{not json" })), null);
  assert.equal(readSaved(memoryStorage({ [SAVED_KEY]: "42" })), null);
  assert.equal(readSaved(null), null);
  const storage = memoryStorage({ [SAVED_KEY]: JSON.stringify({ videoDeviceId: 7, audio: false }) });
  assert.deepEqual(readSaved(storage), {
    videoDeviceId: null, audioDeviceId: null, outputDeviceId: null, video: true, audio: false,
  });
  writeSaved(storage, { videoDeviceId: "cam-a", video: false });
  writeSaved(storage, { outputDeviceId: "" });
  assert.deepEqual(readSaved(storage), {
    videoDeviceId: "cam-a", audioDeviceId: null, outputDeviceId: null, video: false, audio: false,
  });
  const broken = { getItem: () => null, setItem: () => { throw new Error("full"); } };
  assert.deepEqual(writeSaved(broken, { audio: true }), { audio: true });
});

test("getUserMedia's errors in three words", () => {
  assert.equal(problemOfError({ name: "NotAllowedError" }), "denied");
  assert.equal(problemOfError({ name: "SecurityError" }), "denied");
  assert.equal(problemOfError({ name: "NotFoundError" }), "missing");
  assert.equal(problemOfError({ name: "OverconstrainedError" }), "missing");
  assert.equal(problemOfError({ name: "NotReadableError" }), "unavailable");
  assert.equal(problemOfError(null), "unavailable");
});

test("what to tell the person, from how each kind went", () => {
  assert.equal(problemOf({ audio: "ok", video: "ok" }), null);
  assert.equal(problemOf({ audio: "denied", video: "denied" }), "denied");
  assert.equal(problemOf({ audio: "ok", video: "denied" }), "camera-denied");
  assert.equal(problemOf({ audio: "denied", video: "ok" }), "microphone-denied");
  assert.equal(problemOf({ audio: "denied", video: "missing" }), "denied");
  assert.equal(problemOf({ audio: "missing", video: "missing" }), "none");
  assert.equal(problemOf({ audio: "ok", video: "missing" }), "no-camera");
  assert.equal(problemOf({ audio: "missing", video: "ok" }), "no-microphone");
  assert.equal(problemOf({ audio: "unavailable", video: "missing" }), "unavailable");
  assert.equal(problemOf({ audio: "ok", video: "unavailable" }), "camera-unavailable");
  assert.equal(problemOf({ audio: "unavailable", video: "ok" }), "microphone-unavailable");
  assert.equal(problemOf({ audio: "unsupported", video: "unsupported" }), "unsupported");
});

test("the words are calm and say what can be done", () => {
  assert.equal(problemText("denied"), "Haven is not allowed to use your camera and microphone. You can allow them "
    + "in the browser's site settings, or join without them.");
  assert.match(problemText("none"), /No camera or microphone was found/);
  assert.match(problemText("no-camera"), /microphone only/);
  assert.match(problemText("something-new"), /could not be opened/);
  assert.equal(problemText(null), "");
  assert.equal(canRetry("denied"), true);
  assert.equal(canRetry("camera-unavailable"), true);
  assert.equal(canRetry("none"), false);
  assert.equal(canRetry("no-camera"), false);
  assert.equal(canRetry(null), false);
});

test("the line under the join button says how one will join", () => {
  assert.equal(joinSummary({ audio: true, video: false, hasAudio: true, hasVideo: true }),
    "You will join with your camera off and your microphone on.");
  assert.equal(joinSummary({ audio: false, video: true, hasAudio: true, hasVideo: true }),
    "You will join with your camera on and your microphone muted.");
  assert.equal(joinSummary({ audio: false, video: false, hasAudio: false, hasVideo: false }),
    "You will join with no camera and no microphone.");
});

test("the level meter reads decibels onto 0-100", () => {
  assert.equal(levelOf(0), 0);
  assert.equal(levelOf(NaN), 0);
  assert.equal(levelOf(0.001), 0); // -60 dBFS
  assert.equal(levelOf(1), 100);
  assert.equal(levelOf(2), 100);
  assert.equal(levelOf(0.0316), 50); // about -30 dBFS
});
