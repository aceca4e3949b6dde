// The room's control bar, pinned to the bottom of the window so it is always in reach (on a phone too):
// microphone, camera, hand, screen share, chat, people, devices, support and leave, each an icon beside a word.
// The microphone and camera keep one name ("Microphone", "Camera") and carry their state in aria-pressed; on screen
// the state is also in words and colour ("Muted" on a strong red, "Camera off"); a facilitator's mute is said in the
// banner above the bar and in the control's description. "Share screen" becomes "Stop sharing".
// On a narrow screen the less frequent controls fold into "More".
import { h } from "../dom.js";
import { icon, setIcon } from "./icons.js";

function control(id, iconName, label, attrs = {}) {
  const text = h("span", { class: "ctl-label" }, label);
  const el = h("button", { type: "button", id, class: "ctl", ...attrs }, icon(iconName), text);
  return { el, text };
}

// A count on a control (unread messages, people waiting), with its meaning for screen readers.
function badge(meaning) {
  const count = h("span", { class: "ctl-count" });
  const said = h("span", { class: "visually-hidden" });
  const el = h("span", { class: "ctl-badge", hidden: true }, count, said);
  return {
    el,
    set(n) {
      el.hidden = !(n > 0);
      count.textContent = n > 0 ? String(n) : "";
      said.textContent = n > 0 ? ` ${meaning}` : "";
    },
  };
}

// A microphone or camera toggle: its accessible name is the fixed word (the visible word, which changes with the
// state, is hidden from assistive technology: aria-pressed says the state), described by a line (placed outside the
// button by the bar) that says why it is off when that is not the person's own choice.
function mediaControl(id, iconName, name, kind) {
  const text = h("span", { class: "ctl-label", "aria-hidden": "true" });
  const why = h("span", { id: `${id}-why`, class: "visually-hidden" });
  const el = h("button", { type: "button", id, class: "ctl", "aria-pressed": "false", "data-kind": kind,
    "aria-describedby": why.id }, icon(iconName), h("span", { class: "visually-hidden" }, name), text);
  return { el, text, why };
}

// options: on(action, detail) with action "toggle" (detail: kind), "hand", "share", "chat", "people", "leave";
// support: the support request's button, placed in the folding group; signal: the view's, which removes the
// document's listener when the room is left.
export function createControlBar({ on, support, signal }) {
  const mic = mediaControl("toggle-audio", "mic", "Microphone", "audio");
  const camera = mediaControl("toggle-video", "camera", "Camera", "video");
  const hand = h("button", { type: "button", id: "raise-hand", class: "ctl", "aria-pressed": "false" },
    icon("hand"), h("span", { class: "ctl-label" }, h("span", { class: "wide-only" }, "Raise hand"),
      h("span", { class: "narrow-only" }, "Hand")));
  const share = control("share-screen", "screen", "Share screen");
  const chat = control("open-chat", "chat", "Chat", { "aria-expanded": "false", "aria-controls": "room-side" });
  const unread = badge("unread");
  chat.el.append(unread.el);
  const people = control("open-people", "people", "People", { "aria-expanded": "false", "aria-controls": "room-side" });
  const waiting = badge("waiting");
  people.el.append(waiting.el);
  const devices = control("room-devices", "settings", "Devices", { "aria-expanded": "false",
    "aria-controls": "devices-popover" });
  const more = control("room-more", "more", "More", { "aria-expanded": "false", "aria-controls": "bar-more" });
  const leave = control("leave-room", "leave", "Leave", { class: "ctl ctl-leave" });
  support.classList.add("ctl", "ctl-support");
  support.classList.remove("button", "button-support");
  support.prepend(icon("support"));

  const moreGroup = h("div", { id: "bar-more", class: "bar-more" }, share.el, devices.el, support);
  const heldBanner = h("p", { id: "muted-banner", class: "muted-banner", hidden: true });
  const el = h("section", { id: "control-bar", class: "control-bar", "aria-label": "Your controls" },
    heldBanner, mic.why, camera.why, // outside the buttons, so they describe them without joining their names
    h("div", { class: "bar-row" },
      h("div", { class: "bar-group" }, mic.el, camera.el, hand),
      h("div", { class: "bar-group" }, chat.el, people.el),
      h("div", { class: "bar-group bar-fold" }, more.el, moreGroup),
      h("div", { class: "bar-group" }, leave.el)));

  const foldOpen = () => el.classList.contains("more-open");
  function setFold(open) {
    el.classList.toggle("more-open", open);
    more.el.setAttribute("aria-expanded", String(open));
  }

  mic.el.addEventListener("click", () => on("toggle", "audio"));
  camera.el.addEventListener("click", () => on("toggle", "video"));
  hand.addEventListener("click", () => on("hand"));
  share.el.addEventListener("click", () => {
    setFold(false);
    on("share");
  });
  chat.el.addEventListener("click", () => on("chat"));
  people.el.addEventListener("click", () => on("people"));
  devices.el.addEventListener("click", () => on("devices"));
  support.addEventListener("click", () => setFold(false));
  leave.el.addEventListener("click", () => on("leave"));
  more.el.addEventListener("click", () => {
    setFold(!foldOpen());
    if (foldOpen()) moreGroup.querySelector("button:not([hidden])")?.focus();
  });
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && foldOpen()) {
      setFold(false);
      more.el.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (foldOpen() && !el.querySelector(".bar-fold").contains(event.target)) setFold(false);
  }, { signal });

  // One media control: on, off by choice, off by a facilitator's mute, or no device.
  function paintMedia(c, kind, s) {
    const words = kind === "audio"
      ? { on: "Mic", off: "Muted", none: "No mic", icon: "mic", held: "Muted by the facilitator",
        missing: "No microphone on this device" }
      : { on: "Camera", off: "Camera off", none: "No camera", icon: "camera",
        held: "Turned off by the facilitator", missing: "No camera on this device" };
    c.el.setAttribute("aria-pressed", String(s.on));
    c.el.disabled = !s.available || Boolean(s.locked); // locked: the camera waits while a screen is shared
    c.el.classList.toggle("is-off", s.available && !s.on);
    c.el.classList.toggle("is-held", s.available && !s.on && s.held);
    const text = !s.available ? words.none : s.on ? words.on : words.off;
    if (c.text.textContent !== text) c.text.textContent = text;
    const why = !s.available ? words.missing : s.held && !s.on ? words.held
      : s.locked ? "Your screen is shared in its place" : "";
    if (c.why.textContent !== why) c.why.textContent = why;
    setIcon(c.el, s.on ? words.icon : `${words.icon}-off`);
    if (s.busy) c.el.setAttribute("aria-busy", "true");
    else c.el.removeAttribute("aria-busy");
  }

  return {
    el,
    devicesButton: devices.el,
    moreButton: more.el,
    chatButton: chat.el,
    peopleButton: people.el,
    // view: {phase, audio, video: {available, on, held, busy}, hand: {shown, raised}, share: {shown, sharing},
    //        panel: {open, tab}, unread, waiting, inRoom}
    update(view) {
      paintMedia(mic, "audio", view.audio);
      paintMedia(camera, "video", view.video);
      const micIsHeld = view.audio.held && !view.audio.on;
      const cameraHeld = view.video.held && !view.video.on;
      heldBanner.hidden = !micIsHeld && !cameraHeld;
      heldBanner.textContent = micIsHeld
        ? `Muted by the facilitator${cameraHeld ? " (microphone and camera)" : ""}`
        : cameraHeld ? "Camera turned off by the facilitator" : "";
      hand.hidden = !view.hand.shown;
      hand.setAttribute("aria-pressed", String(view.hand.raised));
      share.el.hidden = !view.share.shown;
      share.el.classList.toggle("is-active", view.share.sharing);
      share.text.textContent = view.share.sharing ? "Stop sharing" : "Share screen";
      if (view.share.busy) share.el.setAttribute("aria-busy", "true"); // the screen picker is open
      else share.el.removeAttribute("aria-busy");
      for (const [c, tab] of [[chat, "chat"], [people, "people"]]) {
        c.el.hidden = !view.inRoom;
        const shown = view.panel.open && view.panel.tab === tab;
        c.el.setAttribute("aria-expanded", String(shown));
        c.el.classList.toggle("is-active", shown);
      }
      unread.set(view.unread);
      waiting.set(view.waiting);
    },
    closeFold: () => setFold(false),
  };
}
