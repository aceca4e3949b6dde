// An in-page "are you sure?" step: the question in words, a button that does it and one that steps back. Unlike
// window.confirm it can be read, styled and reached like the rest of the page; focus goes to the question, and back
// to where it came from when the person steps back.
import { h } from "../dom.js";

/** {el, ask(question, confirmLabel, returnTo), hide()}; `onConfirm()` runs when the person confirms. */
export function createConfirmStep({ id, onConfirm, backLabel = "Cancel" }) {
  const question = h("p", { id: `${id}-question`, tabindex: "-1", class: "confirm-question" });
  const yes = h("button", { type: "button", class: "button", id: `${id}-yes` });
  const back = h("button", { type: "button", class: "button button-quiet", id: `${id}-back` }, backLabel);
  const el = h("div", { class: "confirm-step stack-tight", id, role: "group", "aria-labelledby": `${id}-question`,
    hidden: true }, question, h("div", { class: "row" }, yes, back));
  let returnTo = null;

  function hide() {
    el.hidden = true;
  }

  yes.addEventListener("click", async () => {
    yes.disabled = true;
    yes.setAttribute("aria-busy", "true");
    try {
      await onConfirm();
    } finally {
      yes.disabled = false;
      yes.removeAttribute("aria-busy");
    }
  });
  back.addEventListener("click", () => {
    hide();
    returnTo?.focus();
  });

  return {
    el,
    hide,
    ask(text, confirmLabel, from = null) {
      question.textContent = text;
      yes.textContent = confirmLabel;
      returnTo = from;
      el.hidden = false;
      question.focus();
    },
  };
}
