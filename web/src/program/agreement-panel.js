// The group's agreement on the session page: the version in force and its text, and (for the group's facilitators
// and administrators) a new version written from it and published after an in-page confirmation, since publishing
// asks every participant to accept again. GET and PUT /api/groups/{id}/agreement.
import { h, setAlert } from "../dom.js";
import { getAgreement, setAgreement } from "./api.js";
import { MAX_AGREEMENT_CHARS, agreementBody, agreementStatus, nextVersion, paragraphs, publishQuestion,
  publishedText } from "./agreement.js";
import { createConfirmStep } from "./confirm-step.js";

export async function showAgreementEditor(host, { groupId, canPublish, signal, announce }) {
  const status = h("p", { id: "agreement-version", tabindex: "-1" }, "Loading the agreement…");
  const done = h("p", { class: "card calm", id: "agreement-done", hidden: true });
  const current = h("div", { id: "agreement-current", class: "agreement-text", role: "region", tabindex: "0",
    "aria-labelledby": "agreement-editor-title", hidden: true });
  const error = h("p", { class: "alert", role: "alert", id: "agreement-editor-error", hidden: true });
  host.replaceChildren(h("h3", { id: "agreement-editor-title" }, "Group agreement"), status, done, current, error);

  let agreement = null;

  async function load() {
    try {
      agreement = await getAgreement(groupId, signal);
    } catch (err) {
      if (err.name !== "AbortError") {
        status.textContent = "";
        setAlert(error, err.message);
      }
      return false;
    }
    status.textContent = agreementStatus(agreement);
    const parts = paragraphs(agreement?.text);
    current.replaceChildren(...parts.map((p) => h("p", {}, p)));
    current.hidden = parts.length === 0;
    return true;
  }

  if (!canPublish) {
    host.append(h("p", { class: "muted" }, "The group's facilitators and administrators can publish a new version."));
    await load();
    return;
  }

  const counter = h("p", { class: "muted hint", id: "agreement-new-count" });
  const text = h("textarea", { id: "agreement-new", rows: "10", "aria-describedby": "agreement-new-hint agreement-new-count" });
  const publish = h("button", { type: "submit", class: "button", id: "agreement-publish" }, "Publish new version");
  const confirm = createConfirmStep({ id: "agreement-confirm", backLabel: "Keep editing", onConfirm: send });
  const form = h("form", { class: "stack", id: "agreement-form" },
    h("div", { class: "field" }, h("label", { for: "agreement-new" }, "Text of the new version"),
      h("p", { class: "muted hint", id: "agreement-new-hint" },
        "Starts from the version in force. Leave a blank line between paragraphs. Publishing asks every participant "
          + "to accept the new version before they next enter the room."),
      text, counter),
    h("div", { class: "row" }, publish), confirm.el);
  const box = h("details", { class: "form-box", id: "agreement-editor" }, h("summary", {}, "Write a new version"), form);
  host.append(box);

  const count = () => {
    counter.textContent = `${[...text.value].length.toLocaleString()} of ${MAX_AGREEMENT_CHARS.toLocaleString()} characters`;
  };
  const fill = () => {
    text.value = agreement?.text || "";
    count();
  };
  text.addEventListener("input", () => {
    confirm.hide();
    done.hidden = true;
    count();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(error, "");
    const built = agreementBody(text.value, agreement);
    if (built.error) {
      setAlert(error, built.error);
      text.focus();
      return;
    }
    confirm.ask(publishQuestion(agreement), `Yes, publish version ${nextVersion(agreement)}`, text);
  });

  async function send() {
    setAlert(error, "");
    const built = agreementBody(text.value, agreement);
    if (built.error) return setAlert(error, built.error);
    let answer;
    try {
      answer = await setAgreement(groupId, built.body.text);
    } catch (err) {
      confirm.hide();
      setAlert(error, err.message);
      if (err.code === "conflict") await load(); // someone else published meanwhile: show theirs
      text.focus();
      return;
    }
    confirm.hide();
    done.textContent = publishedText(answer.version);
    done.hidden = false;
    announce(done.textContent);
    await load();
    fill();
    status.focus();
  }

  if (await load()) fill();
}
