// The room's video grid: a tile per other member (per peer connection in a mesh, per member in a forwarded room),
// each a <figure> with its <video>, name and state. What a tile shows comes from forwarded.js's tileView(); this
// module only puts it on the page. Tests and styles read the tile's data attributes:
//   data-user-id, data-speaking ("true"/"false"), data-audio / data-video ("on", "off", "held": a facilitator's mute).
import { h } from "../dom.js";
import { tileLabels } from "./forwarded.js";

function sameTracks(stream, tracks) {
  const current = stream && typeof stream.getTracks === "function" ? stream.getTracks() : [];
  return current.length === tracks.length && tracks.every((t) => current.includes(t));
}

// The parts of a tile's look shared by the local tile and the remote ones: who, speaking, and the mic and camera
// words (a facilitator's mute reads differently from a member's own choice).
export function paintFigure(figure, stateEl, view, extraLabels = []) {
  if (view.userId) figure.dataset.userId = view.userId;
  figure.dataset.speaking = String(view.speaking);
  figure.dataset.audio = view.audio;
  figure.dataset.video = view.video;
  figure.classList.toggle("speaking", view.speaking);
  figure.classList.toggle("is-screen", view.screen === true);
  figure.classList.toggle("held", view.audio === "held" || view.video === "held");
  const labels = [...tileLabels(view), ...extraLabels];
  if (stateEl.textContent !== labels.join(" · ")) stateEl.textContent = labels.join(" · ");
}

// The first letter of a name, shown large on a tile whose camera is off.
export function initialOf(name) {
  const first = [...String(name || "").trim()][0];
  return first ? first.toLocaleUpperCase() : "?";
}

function setSink(video, deviceId) {
  if (typeof video.setSinkId !== "function") return;
  video.setSinkId(deviceId || "").catch(() => {
    // A speaker that went away: the default one plays instead.
  });
}

export class VideoGrid {
  constructor(container) {
    this.container = container;
    this.tiles = new Map(); // key -> {figure, video, name, state, sound, initial}
    this.sinkId = "";
  }

  keys() {
    return [...this.tiles.keys()];
  }

  get(key) {
    return this.tiles.get(key) || null;
  }

  ensure(key, userId = "") {
    let tile = this.tiles.get(key);
    if (tile) return tile;
    const video = h("video", { class: "remote-video", "data-user-id": userId, autoplay: true, playsinline: true });
    video.playsInline = true;
    const name = h("span", { class: "tile-name" });
    // "Speaking" is a word in the caption as well as the ring, so it is not told by colour alone.
    const speaking = h("span", { class: "tile-speaking" }, "Speaking");
    const state = h("span", { class: "tile-state" });
    const sound = h("button", { type: "button", class: "button tile-sound", hidden: true }, "Turn on sound");
    const initial = h("span", { class: "tile-initial", "aria-hidden": "true" });
    const figure = h("figure", { class: "tile", "data-user-id": userId, "data-key": key },
      video, h("span", { class: "camera-off-note" }, initial, h("span", {}, "Camera off")), sound,
      h("figcaption", {}, name, speaking, state));
    tile = { figure, video, name, state, sound, initial };
    if (this.sinkId) setSink(video, this.sinkId);
    sound.addEventListener("click", () => {
      video.muted = false;
      video.play().catch(() => {});
      sound.hidden = true;
    });
    this.tiles.set(key, tile);
    this.container.append(figure);
    return tile;
  }

  // Plays these tracks on the tile (a new stream only when the set changed: a new srcObject restarts playback).
  setTracks(key, tracks) {
    const tile = this.tiles.get(key);
    if (!tile || sameTracks(tile.video.srcObject, tracks)) return;
    tile.video.srcObject = tracks.length > 0 ? new MediaStream(tracks) : null;
    if (tracks.length > 0) this.#play(tile);
  }

  paint(key, view, extraLabels = []) {
    const tile = this.tiles.get(key);
    if (!tile) return;
    if (view.userId && tile.video.dataset.userId !== view.userId) tile.video.dataset.userId = view.userId;
    if (tile.name.textContent !== view.name) {
      tile.name.textContent = view.name;
      tile.initial.textContent = initialOf(view.name);
    }
    tile.figure.classList.toggle("camera-off", !view.videoShown);
    paintFigure(tile.figure, tile.state, view, extraLabels);
  }

  remove(key) {
    const tile = this.tiles.get(key);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.figure.remove();
    this.tiles.delete(key);
  }

  // The speaker (audio output) chosen for the room, where the browser can choose (setSinkId).
  setSink(deviceId) {
    this.sinkId = deviceId || "";
    for (const tile of this.tiles.values()) setSink(tile.video, this.sinkId);
  }

  // The figure showing this member, or null.
  figureOf(userId) {
    for (const tile of this.tiles.values()) if (tile.figure.dataset.userId === userId) return tile.figure;
    return null;
  }

  clear() {
    for (const key of this.keys()) this.remove(key);
  }

  #play(tile) {
    tile.video.play().catch((err) => {
      // A newer srcObject interrupting this play() (AbortError) is harmless: autoplay starts it again.
      if (err?.name !== "NotAllowedError") return;
      // Autoplay with sound was refused: play silently and let the person turn the sound on.
      tile.video.muted = true;
      tile.video.play().catch(() => {});
      tile.sound.hidden = false;
    });
  }
}
