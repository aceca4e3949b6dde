// A menu button (the WAI-ARIA menu button pattern): a button with aria-haspopup="menu" that opens a list of actions.
// Enter, Space or ArrowDown open it on the first action, ArrowUp on the last; arrows, Home and End move; Escape
// closes it and puts focus back on the button; Tab closes it and moves on; a click elsewhere closes it. Its actions
// are read when it opens, so they always fit the moment (e.g. "Lower hand" only while the hand is up).
import { h } from "../dom.js";

let made = 0;
const open = new Set(); // menus open on the page: a click elsewhere closes them

document.addEventListener("click", (event) => {
  for (const menu of [...open]) if (!menu.contains(event.target)) menu.close(false);
});

// options: label (the button's visible text), name (its accessible name, containing the label), className,
// actions() -> [{action, label, className?, danger?}], onSelect(action).
export function createMenuButton({ label, name, className = "", actions, onSelect }) {
  const n = ++made;
  const menuId = `menu-${n}`;
  const buttonId = `menu-button-${n}`;
  const button = h("button", { type: "button", id: buttonId,
    class: `button button-small button-quiet menu-button ${className}`, "aria-haspopup": "menu",
    "aria-expanded": "false", "aria-controls": menuId, "aria-label": name || null }, label);
  const list = h("ul", { id: menuId, class: "menu", role: "menu", "aria-labelledby": buttonId, hidden: true });
  const el = h("div", { class: "menu-wrap" }, button, list);
  const items = () => [...list.querySelectorAll('[role="menuitem"]')];

  const self = {
    el,
    button,
    contains: (node) => el.contains(node),
    close(focusButton = true) {
      if (list.hidden) return;
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      open.delete(self);
      if (focusButton) button.focus();
    },
    open(at = "first") {
      const chosen = actions();
      list.replaceChildren(...chosen.map((a) => h("li", { role: "none" },
        h("button", { type: "button", role: "menuitem", tabindex: "-1", "data-action": a.action,
          class: `menu-item ${a.className || a.action}${a.danger ? " menu-item-danger" : ""}` }, a.label))));
      if (chosen.length === 0) return;
      for (const other of [...open]) other.close(false);
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      open.add(self);
      const all = items();
      (at === "last" ? all.at(-1) : all[0]).focus();
    },
    get isOpen() {
      return !list.hidden;
    },
  };

  button.addEventListener("click", (event) => {
    event.stopPropagation();
    if (list.hidden) self.open();
    else self.close();
  });
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      self.open(event.key === "ArrowUp" ? "last" : "first");
    }
  });
  list.addEventListener("keydown", (event) => {
    const all = items();
    const i = all.indexOf(document.activeElement);
    const move = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[event.key];
    if (move !== undefined) {
      event.preventDefault();
      all[(move + all.length) % all.length]?.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      self.close();
    } else if (event.key === "Tab") {
      self.close(false);
    }
  });
  list.addEventListener("click", (event) => {
    const item = event.target.closest?.('[role="menuitem"]');
    if (!item) return;
    event.stopPropagation();
    const action = item.dataset.action;
    self.close();
    onSelect(action);
  });

  return self;
}
