// The video stage: it takes the space the window leaves beside the side panel and above the control bar. In the grid
// layout the other members' tiles share it in the shape that makes them largest (gridShape in state.js); in the
// speaker layout one member fills it (the one speaking, or a shared screen, which is always pinned) with the others in
// a strip below. One's own tile is small in a corner (or fills the stage while no one else is here).
import { h } from "../dom.js";
import { icon } from "./icons.js";
import { gridShape } from "./state.js";
import { VideoGrid } from "./tiles.js";

const ASPECT = 4 / 3; // the picture the room asks cameras for (640x480)

export function createStage({ onLayout }) {
  const localVideo = h("video", { id: "local-video", muted: true, autoplay: true, playsinline: true });
  localVideo.muted = true; // the attribute alone does not mute an element made by script
  localVideo.playsInline = true;
  const localState = h("span", { class: "tile-state" });
  const localTile = h("figure", { class: "tile tile-local", hidden: true },
    localVideo,
    h("span", { class: "camera-off-note" }, h("span", { class: "tile-initial", "aria-hidden": "true" }, "You"),
      h("span", {}, "Your camera is off")),
    h("figcaption", {}, h("span", { class: "tile-name" }, "You"), h("span", { class: "tile-speaking" }, "Speaking"),
      localState));
  const videos = h("div", { id: "videos", class: "video-grid", role: "group", "aria-label": "Video",
    "data-layout": "grid" }, localTile);
  const empty = h("p", { id: "stage-empty", class: "stage-empty", hidden: true }, "No one else is here yet.");
  const screenLabel = h("p", { id: "screen-label", class: "screen-label", hidden: true });

  const gridButton = h("button", { type: "button", id: "layout-grid", class: "button button-small button-quiet",
    "aria-pressed": "true" }, icon("grid"), h("span", {}, "Grid"));
  const speakerButton = h("button", { type: "button", id: "layout-speaker", class: "button button-small button-quiet",
    "aria-pressed": "false" }, icon("speaker"), h("span", {}, "Speaker"));
  const layoutGroup = h("div", { class: "layout-choice", role: "group", "aria-label": "Layout" }, gridButton,
    speakerButton);
  gridButton.addEventListener("click", () => onLayout("grid"));
  speakerButton.addEventListener("click", () => onLayout("speaker"));

  const el = h("div", { class: "stage", id: "stage" },
    h("div", { class: "stage-bar" }, screenLabel, layoutGroup),
    h("div", { class: "stage-area" }, videos, empty));
  const grid = new VideoGrid(videos);
  let shape = "";

  // The grid's shape and its tiles' size for the space there is now (tiles keep their 4:3 picture, centred).
  function refit() {
    const remote = grid.keys().length;
    const box = videos.getBoundingClientRect();
    const count = Math.max(1, remote);
    const { cols, rows } = gridShape(count, box.width, box.height, ASPECT);
    const gap = parseFloat(getComputedStyle(videos).columnGap) || 0;
    const width = Math.max(0, Math.floor(Math.min((box.width - gap * (cols - 1)) / cols,
      ((box.height - gap * (rows - 1)) / rows) * ASPECT)));
    const next = `${cols}x${rows}:${width}`;
    if (next !== shape && width > 0) {
      shape = next;
      videos.style.setProperty("--cols", String(cols));
      videos.style.setProperty("--rows", String(rows));
      videos.style.setProperty("--tile-w", `${width}px`);
      videos.style.setProperty("--tile-h", `${Math.floor(width / ASPECT)}px`);
    }
    videos.dataset.count = String(remote);
    el.classList.toggle("alone", remote === 0);
    localTile.classList.toggle("tile-pip", remote > 0);
    empty.hidden = !inRoom || remote > 0;
    const main = mainUser ? grid.figureOf(mainUser) : null;
    for (const figure of videos.querySelectorAll("figure.tile:not(.tile-local)")) {
      figure.classList.toggle("is-main", figure === main);
    }
  }

  let inRoom = false;
  let shownVideo = null; // the video track one's own tile was last given
  let mainUser = null; // the member large in the speaker layout
  const resized = typeof ResizeObserver === "function" ? new ResizeObserver(() => refit()) : null;
  resized?.observe(videos);
  // Tiles come and go with the connections (outside the room's own drawing): the grid follows at once.
  const tiles = new MutationObserver(() => refit());
  tiles.observe(videos, { childList: true });

  return {
    el,
    videos,
    grid,
    localVideo,
    localTile,
    localState,
    layoutGroup,

    // The camera (or the shared screen) shown on one's own tile. A camera opened again, or a screen in its place,
    // is a new track in the same stream: the element is given the stream afresh, so it shows the new picture.
    setLocalStream(stream, { showTile }) {
      const video = stream?.getVideoTracks?.()[0] || null;
      const changed = localVideo.srcObject !== stream || video !== shownVideo;
      shownVideo = video;
      if (changed) {
        localVideo.srcObject = null;
        localVideo.srcObject = stream;
      }
      localTile.hidden = !showTile;
      if (stream && showTile && (changed || localVideo.paused)) localVideo.play().catch(() => {});
    },

    // One's own tile: the camera's state, and no mirror while it shows a shared screen.
    paintLocal({ cameraOn, sharing }) {
      localTile.classList.toggle("camera-off", !cameraOn && !sharing);
      localTile.classList.toggle("is-screen", sharing);
    },

    // focus: stageFocus() in state.js; label: who shares their screen, if anyone; inRoom: others can be here.
    arrange({ focus, chosenLayout, label, inRoom: inStage }) {
      videos.dataset.layout = focus.layout;
      gridButton.setAttribute("aria-pressed", String(chosenLayout === "grid"));
      speakerButton.setAttribute("aria-pressed", String(chosenLayout === "speaker"));
      layoutGroup.hidden = !inStage;
      mainUser = focus.layout === "speaker" ? focus.userId : null;
      screenLabel.textContent = label || "";
      screenLabel.hidden = !label;
      inRoom = inStage;
      refit();
    },

    refit,
    destroy() {
      resized?.disconnect();
      tiles.disconnect();
      grid.clear();
      localVideo.srcObject = null;
    },
  };
}
