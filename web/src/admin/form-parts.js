// The small pieces every section of the program console is built from: a labelled field with its hint, a password
// field that can be shown while typing, a checkbox, a table that scrolls sideways in a region a keyboard can reach,
// and the "ask, then do" step every act goes through (program/confirm-step.js, with the refusal said in the page).
import { h, setAlert } from "../dom.js";
import { createConfirmStep } from "../program/confirm-step.js";

/** A label, an optional hint tied to the control by aria-describedby, and the control. */
export function field(label, control, hint = null) {
  const id = control.id;
  const parts = [h("label", { for: id }, label)];
  if (hint) {
    const hintId = `${id}-hint`;
    parts.push(h("p", { class: "muted hint", id: hintId }, hint));
    control.setAttribute("aria-describedby", hintId);
  }
  return h("div", { class: "field" }, ...parts, control);
}

export function checkbox(id, label, checked = false) {
  const input = h("input", { type: "checkbox", id, name: id, checked });
  return { input, el: h("label", { class: "check", for: id }, input, label) };
}

export function select(id, options, value = "") {
  return h("select", { id, name: id },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

/** A password input with "Show password": {input, el}. The person can read what they type before it goes.
 * `autocomplete`: "new-password" for one's own new password; "off" for one set for someone else, so the browser does
 * not offer to save it as the administrator's own. */
export function passwordField(id, label, hint, { autocomplete = "new-password" } = {}) {
  const input = h("input", { type: "password", id, name: id, autocomplete, spellcheck: "false",
    autocapitalize: "off" });
  const show = checkbox(`${id}-show`, "Show password");
  show.input.addEventListener("change", () => {
    input.type = show.input.checked ? "text" : "password";
  });
  const reveal = (on) => {
    show.input.checked = on;
    input.type = on ? "text" : "password";
  };
  return { input, reveal, el: h("div", { class: "stack-tight" }, field(label, input, hint), show.el) };
}

/** A table in a region that scrolls sideways on a narrow screen and can be scrolled by keyboard (it takes focus).
 * `columns` are header texts; each row is {attrs, cells}, its first cell the row's header. */
export function dataTable({ id, caption, columns, rows }) {
  const captionId = `${id}-caption`;
  const table = h("table", { class: "admin-table", id },
    h("caption", { id: captionId }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map(({ attrs = {}, cells }) => h("tr", attrs,
      cells.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
  return h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": captionId }, table);
}

/** Marks the control the form's error is about, and moves focus to it. */
export function flagField(form, control) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
}

/**
 * An act that is asked first and then done: `ask(question, label, from, subject)` shows the question in the page;
 * confirming runs `act(subject)`. A refusal puts the server's sentence in `alert` and hands focus back to `from`; a
 * success hides the step and runs `done(result, subject)`. The subject (the member, the pairing, the body to send) is
 * the one asked about when the person confirmed, even if another is asked about while the request is on its way.
 * Returns {el, ask, hide}.
 */
export function createAct({ id, alert, act, done }) {
  let from = null;
  let subject = null;
  let asked = 0; // how many questions were asked: a newer one stays on screen when an older act finishes
  const step = createConfirmStep({
    id,
    onConfirm: async () => {
      const mine = { subject, from, asked };
      setAlert(alert, "");
      let result;
      try {
        result = await act(mine.subject);
      } catch (err) {
        if (mine.asked === asked) step.hide();
        setAlert(alert, err.message);
        if (mine.asked === asked) mine.from?.focus();
        return;
      }
      if (mine.asked === asked) step.hide();
      await done(result, mine.subject);
    },
  });
  return {
    el: step.el,
    hide: step.hide,
    ask(question, label, returnTo, about = null) {
      from = returnTo;
      subject = about;
      asked += 1;
      setAlert(alert, "");
      step.ask(question, label, returnTo);
    },
  };
}

/** A username the browser's password manager reads with a password form (hidden from everyone else), so that if it
 * saves the password at all it is under the account it belongs to, never under the administrator's own. */
export const usernameFor = (email) => h("input", { type: "text", autocomplete: "username", value: email || "",
  hidden: true, readonly: true });

export const alertBox = (id) => h("p", { class: "alert", role: "alert", id, hidden: true });

/** A date as people read it, in their zone ("12 Mar 2026"); "" when it is not a time. */
export function shortDate(date) {
  if (!date) return "";
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
