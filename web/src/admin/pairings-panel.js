// Mentor pairings in the program console: the active pairings (or all, ended ones too), each person named from the
// accounts; a new pairing of a mentor account with a participant account; ending a pairing. Every act is asked
// first in the page, and a refusal shows the server's own sentence.
import { h, setAlert } from "../dom.js";
import { createPairing, endPairing, getAllUsers, getPairings } from "./api.js";
import { alertBox, checkbox, createAct, dataTable, field, shortDate } from "./form-parts.js";
import { parseServerTime } from "./audit.js";
import { endQuestion, menteeChoices, mentorChoices, pairQuestion, pairingBody, pairingRows } from "./pairings.js";
import { namesById } from "./users.js";

export async function showPairings(host, { signal, announce }) {
  let users = [];
  let rows = [];
  const listError = alertBox("pairings-error");
  const showEnded = checkbox("pairings-show-ended", "Show ended pairings too");
  const tableSlot = h("div", { id: "pairings-slot" });
  const title = h("h3", { id: "pairings-list-title", tabindex: "-1" }, "Pairings");

  const end = createAct({
    id: "pairing-end-confirm", alert: listError,
    act: (pairing) => endPairing(pairing.id),
    done: async (_, pairing) => {
      announce(`The pairing of ${pairing.mentor} with ${pairing.mentee} has ended.`);
      await load();
      title.focus();
    },
  });
  showEnded.input.addEventListener("change", () => { end.hide(); load(); });

  function draw() {
    const all = showEnded.input.checked;
    if (!rows.length) {
      tableSlot.replaceChildren(h("p", { class: "muted", id: "pairings-none" },
        all ? "No pairings yet." : "No active pairings."));
      return;
    }
    tableSlot.replaceChildren(dataTable({
      id: "pairings-table",
      caption: all ? "All pairings, active first" : "Active pairings",
      columns: ["Mentor", "Mentee", "Since", "Status", "Actions"],
      rows: rows.map((p) => ({
        attrs: { "data-pairing-id": p.id, class: p.active ? null : "is-ended" },
        cells: [p.mentor, p.mentee, shortDate(parseServerTime(p.created_at)),
          p.active ? "Active" : `Ended ${shortDate(parseServerTime(p.ended_at))}`.trim(),
          p.active ? h("button", { type: "button", class: "button button-small button-quiet end-pairing",
            "aria-label": `End pairing: ${p.mentor} with ${p.mentee}`, onclick: (event) => {
              end.ask(endQuestion(p), "Yes, end it", event.currentTarget, p);
            } }, "End pairing") : ""],
      })),
    }));
  }

  async function load() {
    setAlert(listError, "");
    try {
      const data = await getPairings(!showEnded.input.checked, signal);
      rows = pairingRows(data?.pairings, namesById(users));
    } catch (err) {
      if (err.name === "AbortError") return;
      setAlert(listError, err.message);
    }
    draw();
  }

  // ---- a new pairing ------------------------------------------------------------------------------------------
  const createError = alertBox("new-pairing-error");
  const mentor = h("select", { id: "pairing-mentor", name: "pairing-mentor" });
  const mentee = h("select", { id: "pairing-mentee", name: "pairing-mentee" });
  const emptyNote = h("p", { class: "muted", id: "pairing-empty", hidden: true });
  const create = createAct({
    id: "new-pairing-confirm", alert: createError,
    act: (pending) => createPairing(pending.body),
    done: async (_, pending) => {
      announce(`${pending.mentor} is now paired with ${pending.mentee}.`);
      form.reset();
      await load();
      mentor.focus();
    },
  });
  const form = h("form", { class: "stack", id: "new-pairing-form", novalidate: true },
    field("Mentor", mentor, "Accounts with the mentor role."),
    field("Mentee", mentee, "Participant accounts: only a participant can have a mentor."),
    emptyNote, createError,
    h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "new-pairing-create" }, "Pair them")),
    create.el);
  for (const control of [mentor, mentee]) control.addEventListener("change", () => create.hide());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(createError, "");
    const built = pairingBody(mentor.value, mentee.value);
    if (built.error) {
      setAlert(createError, built.error);
      return (built.field === "mentor" ? mentor : mentee).focus();
    }
    const names = namesById(users);
    const pending = { body: built.body, mentor: names.get(mentor.value), mentee: names.get(mentee.value) };
    create.ask(pairQuestion(pending.mentor, pending.mentee), "Yes, pair them", mentor, pending);
  });

  function fillPickers() {
    const option = (u) => h("option", { value: u.id }, `${u.display_name} (${u.email})`);
    const mentors = mentorChoices(users);
    const mentees = menteeChoices(users);
    mentor.replaceChildren(h("option", { value: "" }, "Choose a mentor"), ...mentors.map(option));
    mentee.replaceChildren(h("option", { value: "" }, "Choose a mentee"), ...mentees.map(option));
    const missing = [!mentors.length && "mentor", !mentees.length && "participant"].filter(Boolean);
    emptyNote.hidden = !missing.length;
    emptyNote.replaceChildren(missing.length
      ? h("span", {}, `There is no active ${missing.join(" or ")} account yet. `,
        h("a", { href: "#/admin/users" }, "Add people first."))
      : "");
  }

  host.replaceChildren(h("div", { class: "admin-columns" },
    h("section", { class: "panel stack", "aria-labelledby": "pairings-list-title" },
      title, showEnded.el, listError, tableSlot, end.el),
    h("section", { class: "panel stack", "aria-labelledby": "new-pairing-title" },
      h("h3", { id: "new-pairing-title" }, "New pairing"), form)));

  try {
    users = await getAllUsers(signal);
  } catch (err) {
    if (err.name === "AbortError") return;
    setAlert(listError, err.message);
  }
  fillPickers();
  await load();
}
