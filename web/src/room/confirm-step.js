// An in-page confirmation for an act that cannot be undone (end the session, remove someone, delete a message): the
// question and two buttons appear in place, focus moves to the question's "No" side, and Escape or "Cancel" puts
// focus back where it was. Used instead of window.confirm, which some screen readers and phones handle badly.
//
// While the act is on its way the confirm button stays focusable and says it is busy (aria-disabled, aria-busy: a
// disabled button would drop keyboard focus to the page). Afterwards focus goes somewhere sensible, unless it has
// already moved on (e.g. to the end of the visit's heading): where focusAfter() says when the act succeeded (the
// roster's heading once someone is removed), back to the opener when it failed.
import { h } from "../dom.js";

let made = 0;

// Whether focus can go to this element: on the page and not inside something hidden.
const usable = (el) => Boolean(el?.isConnected && !el.closest("[hidden]"));

// The act's result: false, or an ack-like {ok: false}, is a failure; anything else (undefined too) a success.
export const succeeded = (result) => result !== false && !(result && typeof result === "object" && result.ok === false);

/**
 * @param {object} options
 * @param {string} [options.id]
 * @param {string} options.question
 * @param {string} options.confirmLabel
 * @param {string} [options.cancelLabel]
 * @param {() => any} options.onConfirm may be async; resolves to false (or {ok: false}) when the act failed
 * @param {HTMLElement} [options.returnFocus] the opener: focus goes back there on cancel and on failure
 * @param {() => HTMLElement|null} [options.focusAfter] where focus goes after a success (default: the opener)
 */
export function createConfirmStep({ id, question, confirmLabel, cancelLabel = "Cancel", onConfirm, returnFocus,
  focusAfter }) {
  const n = ++made;
  const questionId = `${id || `confirm-${n}`}-question`;
  const yes = h("button", { type: "button", class: "button button-danger button-small", id: id ? `${id}-yes` : null },
    confirmLabel);
  const no = h("button", { type: "button", class: "button button-quiet button-small", id: id ? `${id}-no` : null },
    cancelLabel);
  const el = h("div", { class: "confirm-step stack", id, role: "group", "aria-labelledby": questionId, hidden: true },
    h("p", { class: "confirm-question", id: questionId }, question),
    h("div", { class: "row" }, yes, no));
  let running = false;

  function close({ focus = true } = {}) {
    if (el.hidden) return;
    el.hidden = true;
    if (focus && usable(returnFocus)) returnFocus.focus();
  }

  function open(text) {
    if (text) el.querySelector(".confirm-question").textContent = text;
    el.hidden = false;
    no.focus();
  }

  no.addEventListener("click", () => {
    if (!running) close();
  });
  el.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      if (!running) close();
    }
  });
  yes.addEventListener("click", async () => {
    if (running) return;
    running = true;
    yes.setAttribute("aria-disabled", "true");
    yes.setAttribute("aria-busy", "true");
    let ok = false;
    try {
      ok = succeeded(await onConfirm());
    } finally {
      running = false;
      yes.removeAttribute("aria-disabled");
      yes.removeAttribute("aria-busy");
      // Focus moves only if it would otherwise be lost with the step (still in it, or already fallen to the page).
      const active = document.activeElement;
      const lost = !active || active === document.body || el.contains(active) || !active.isConnected;
      el.hidden = true;
      if (lost) {
        const after = ok ? focusAfter?.() : null;
        const target = [after, returnFocus].find(usable);
        target?.focus();
      }
    }
  });

  return { el, open, close, get isOpen() { return !el.hidden; } };
}
