// One group's members in the program console (GET /api/groups/{id}/members): the roster, enrolling a person as a
// participant or appointing a facilitator (the picker offers only the accounts the server accepts in that place,
// protocol 4.3), and removing a member. Each act is asked first in the page; a refusal shows the server's sentence.
import { h, setAlert } from "../dom.js";
import { addMember, getMembers, removeMember } from "./api.js";
import { alertBox, createAct, dataTable, shortDate } from "./form-parts.js";
import { parseServerTime } from "./audit.js";
import { PLACE_LABELS, enrolChoices, enrolQuestion, removeQuestion } from "./groups.js";
import { roleLabel } from "./users.js";

const PLACE_HINTS = {
  participant: "Participant and mentor accounts can take part in a group.",
  facilitator: "Only facilitator accounts can facilitate. To appoint someone else, change their role under People first.",
};

/** Draws the members part into `host`. `group()` is the group as it stands now (it may be renamed while this part is
 * open); `people` is a promise of every account (for the picker). */
export async function showMembers(host, { group, people, announce, signal }) {
  const groupId = group().id;
  let members = [];
  let users = [];
  const error = alertBox("members-error");
  const title = h("h4", { id: "members-title", tabindex: "-1" }, "Members");
  const tableSlot = h("div", { id: "members-slot" });

  const remove = createAct({
    id: "member-remove-confirm", alert: error,
    act: (member) => removeMember(groupId, member.user_id),
    done: async (_, member) => {
      announce(`${member.display_name} is no longer a member of ${group().name}.`);
      await load();
      title.focus();
    },
  });

  // The place: participant, or facilitator (appointing one).
  const radios = Object.entries(PLACE_LABELS).reverse().map(([value, label]) => {
    const input = h("input", { type: "radio", name: "enrol-place", id: `enrol-place-${value}`, value,
      checked: value === "participant" });
    return { input, el: h("label", { class: "check", for: input.id }, input,
      value === "facilitator" ? "Facilitator (appoint)" : label) };
  });
  const place = () => radios.find((r) => r.input.checked)?.input.value || "participant";
  const person = h("select", { id: "enrol-person", name: "enrol-person" });
  const personHint = h("p", { class: "muted hint", id: "enrol-person-hint" });
  person.setAttribute("aria-describedby", "enrol-person-hint");
  const enrolButton = h("button", { type: "submit", class: "button button-small", id: "enrol-add" }, "Enrol");
  const enrol = createAct({
    id: "enrol-confirm", alert: error,
    act: (enrolling) => addMember(groupId, enrolling.user.id, enrolling.place),
    done: async (member) => {
      announce(`${member.display_name} is now a ${member.role} of ${group().name}.`);
      await load();
      person.focus();
    },
  });
  const form = h("form", { class: "stack-tight admin-act", id: "enrol-form", novalidate: true },
    h("h4", { id: "enrol-title" }, "Enrol someone"),
    h("fieldset", { class: "stack-tight" }, h("legend", {}, "As"), ...radios.map((r) => r.el)),
    h("div", { class: "field" }, h("label", { for: "enrol-person" }, "Person"), personHint, person),
    h("div", { class: "row" }, enrolButton), enrol.el);

  function fillPicker() {
    const chosen = place();
    const choices = enrolChoices(users, members, chosen);
    person.replaceChildren(...(choices.length
      ? choices.map((u) => h("option", { value: u.id }, `${u.display_name} (${roleLabel(u.role).toLowerCase()}, ${u.email})`))
      : [h("option", { value: "" }, "No one left to enrol in this place")]));
    personHint.textContent = PLACE_HINTS[chosen];
    enrolButton.textContent = chosen === "facilitator" ? "Appoint facilitator" : "Enrol participant";
  }
  for (const r of radios) r.input.addEventListener("change", () => { enrol.hide(); fillPicker(); });
  person.addEventListener("change", () => enrol.hide());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(error, "");
    const user = users.find((u) => u.id === person.value);
    if (!user) {
      setAlert(error, "Choose a person to enrol.");
      return person.focus();
    }
    const enrolling = { user, place: place() };
    enrol.ask(enrolQuestion(user, enrolling.place, group()),
      enrolling.place === "facilitator" ? "Yes, appoint them" : "Yes, enrol them", person, enrolling);
  });

  function drawMembers() {
    if (!members.length) {
      tableSlot.replaceChildren(h("p", { class: "muted", id: "members-none" }, "No members yet."));
      return;
    }
    tableSlot.replaceChildren(dataTable({
      id: "members-table",
      caption: `Members of ${group().name}`,
      columns: ["Name", "Place", "Added", "Actions"],
      rows: members.map((m) => ({
        attrs: { "data-user-id": m.user_id },
        cells: [m.display_name, PLACE_LABELS[m.role] || m.role, shortDate(parseServerTime(m.added_at)),
          h("button", { type: "button", class: "button button-small button-quiet remove-member",
            "aria-label": `Remove ${m.display_name}`, onclick: (event) => {
              remove.ask(removeQuestion(m, group()), "Yes, remove them", event.currentTarget, m);
            } }, "Remove")],
      })),
    }));
  }

  async function load() {
    try {
      const data = await getMembers(groupId, signal);
      members = Array.isArray(data?.members) ? data.members : [];
    } catch (err) {
      if (err.name === "AbortError") return;
      setAlert(error, err.message);
    }
    drawMembers();
    fillPicker();
  }

  host.replaceChildren(title, error, tableSlot, remove.el, form);
  users = await people;
  if (signal.aborted) return;
  await load();
}
