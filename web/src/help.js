// The program's help and crisis line (HAVEN_HELP_TEXT, GET /api/help), shown on the sign-in page, the home page and
// in the room. It is asked once per page load and kept; a program that configured none shows nothing at all. The
// text is the program's own plain text: it goes into a text node, its line breaks kept by the stylesheet.
import { getHelp } from "./api.js";
import { h } from "./dom.js";

let asked = null; // Promise<string|null>, once per page load
let boxes = 0;

// The help text, or null when there is none (or it could not be read: the page goes on without it).
export function helpText() {
  asked ??= getHelp()
    .then((data) => (typeof data?.help_text === "string" && data.help_text.trim() ? data.help_text : null))
    .catch(() => {
      asked = null; // asked again by the next box
      return null;
    });
  return asked;
}

/**
 * An element that fills itself in with the help line once it is known (hidden until then, and for good when there
 * is none). compact: a disclosure ("Need help now?") that opens to the text, for tight places such as the room's
 * panel; otherwise a box with the text shown.
 * @param {{compact?: boolean}} [options]
 * @returns {HTMLElement}
 */
export function createHelpBox({ compact = false } = {}) {
  boxes += 1;
  const titleId = `help-title-${boxes}`;
  const text = h("p", { class: "help-text" });
  let el;
  if (compact) {
    el = h("section", { class: "help-box help-compact", "aria-label": "Help and crisis line", hidden: true },
      h("details", {}, h("summary", { id: titleId }, "Need help now?"), text));
  } else {
    el = h("section", { class: "help-box", "aria-labelledby": titleId, hidden: true },
      h("h3", { id: titleId, class: "help-title" }, "Need help now?"), text);
  }
  helpText().then((value) => {
    if (!value) return;
    text.textContent = value;
    el.hidden = false;
  });
  return el;
}
