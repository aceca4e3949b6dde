// The room's side panel: Chat and People as tabs (the WAI-ARIA tabs pattern: arrow keys move between them), each
// with a count when something waits there (unread messages; people in the waiting room), and a button that folds
// the panel away so the stage has the room. On a phone it opens as a sheet above the control bar.
import { h } from "../dom.js";

// Where the panel becomes a sheet over the stage (as in css/room.css).
export const NARROW = "(max-width: 61.99rem)";

function tab(id, panelId, label) {
  const count = h("span", { class: "tab-count", hidden: true });
  const el = h("button", { type: "button", role: "tab", id, class: "side-tab", "aria-controls": panelId,
    "aria-selected": "false", tabindex: "-1" }, h("span", {}, label), count);
  return {
    el,
    setCount(n, meaning) {
      count.hidden = !(n > 0);
      count.replaceChildren(...(n > 0 ? [String(n), h("span", { class: "visually-hidden" }, ` ${meaning}`)] : []));
    },
  };
}

// options: chat (element), people (elements, in order), footer (element or null), onTab(tab), onClose().
export function createSidePanel({ chat, people, footer, onTab, onClose }) {
  const chatTab = tab("tab-chat", "panel-chat", "Chat");
  const peopleTab = tab("tab-people", "panel-people", "People");
  const tabs = [chatTab, peopleTab];
  const names = ["chat", "people"];
  const close = h("button", { type: "button", id: "close-side", class: "button button-small button-quiet" },
    "Hide panel");
  const chatPanel = h("div", { id: "panel-chat", role: "tabpanel", class: "side-body", "aria-labelledby": "tab-chat",
    tabindex: "-1" }, chat);
  const peoplePanel = h("div", { id: "panel-people", role: "tabpanel", class: "side-body stack",
    "aria-labelledby": "tab-people", tabindex: "-1", hidden: true }, ...people);
  const el = h("aside", { id: "room-side", class: "room-side", "aria-label": "Chat and people" },
    h("div", { class: "side-head" },
      h("div", { role: "tablist", "aria-label": "Side panel", class: "side-tabs" }, chatTab.el, peopleTab.el), close),
    chatPanel, peoplePanel, footer);

  chatTab.el.addEventListener("click", () => onTab("chat"));
  peopleTab.el.addEventListener("click", () => onTab("people"));
  close.addEventListener("click", () => onClose());
  el.querySelector('[role="tablist"]').addEventListener("keydown", (event) => {
    const i = tabs.findIndex((t) => t.el === document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const next = (to + tabs.length) % tabs.length;
    onTab(names[next]);
    tabs[next].el.focus();
  });
  el.addEventListener("keydown", (event) => {
    // Escape folds the panel on a phone, where it covers the stage (not while a menu or a confirmation is open:
    // they take Escape first).
    if (event.key === "Escape" && !event.defaultPrevented && window.matchMedia(NARROW).matches) onClose();
  });

  return {
    el,
    closeButton: close,
    tabOf: (name) => (name === "chat" ? chatTab.el : peopleTab.el),
    // view: {open, tab, unread, waiting, shown}
    update(view) {
      el.hidden = !view.shown || !view.open;
      tabs.forEach((t, i) => {
        const selected = names[i] === view.tab;
        t.el.setAttribute("aria-selected", String(selected));
        t.el.tabIndex = selected ? 0 : -1;
      });
      chatPanel.hidden = view.tab !== "chat";
      peoplePanel.hidden = view.tab !== "people";
      chatTab.setCount(view.unread, "unread");
      peopleTab.setCount(view.waiting, "waiting");
    },
  };
}
