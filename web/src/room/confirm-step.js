// An in-page confirmation for an act that cannot be undone (end the session, remove someone): the question and two
// buttons appear in place, focus moves to the question's "No" side, and Escape or "Cancel" puts focus back where
// it was. Used instead of window.confirm, which some screen readers and phones handle badly.
import { h } from "../dom.js";

let made = 0;

// options: question, confirmLabel, cancelLabel, onConfirm() (may be async), returnFocus (the element to go back to).
export function createConfirmStep({ id, question, confirmLabel, cancelLabel = "Cancel", onConfirm, returnFocus }) {
  const n = ++made;
  const questionId = `${id || `confirm-${n}`}-question`;
  const yes = h("button", { type: "button", class: "button button-danger button-small", id: id ? `${id}-yes` : null },
    confirmLabel);
  const no = h("button", { type: "button", class: "button button-quiet button-small", id: id ? `${id}-no` : null },
    cancelLabel);
  const el = h("div", { class: "confirm-step stack", id, role: "group", "aria-labelledby": questionId, hidden: true },
    h("p", { class: "confirm-question", id: questionId }, question),
    h("div", { class: "row" }, yes, no));

  function close({ focus = true } = {}) {
    if (el.hidden) return;
    el.hidden = true;
    if (focus && returnFocus?.isConnected) returnFocus.focus();
  }

  function open(text) {
    if (text) el.querySelector(".confirm-question").textContent = text;
    el.hidden = false;
    no.focus();
  }

  no.addEventListener("click", () => close());
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close();
    }
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await onConfirm();
    } finally {
      yes.disabled = false;
      close({ focus: false });
    }
  });

  return { el, open, close, get isOpen() { return !el.hidden; } };
}
