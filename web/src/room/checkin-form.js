// The check-in a participant may give while waiting (or before joining): how they are doing, 1 to 5, and an optional
// short note, sent as lobby:checkin. Only the group's facilitators see it.
import { h } from "../dom.js";
import { RATING_WORDS } from "../program/checkins.js";

export const NOTE_MAX = 500;

let forms = 0; // ids stay unique if the form is ever made twice on a page

export function createCheckinForm({ roomId, request }) {
  const n = ++forms;
  const id = (name) => `checkin-${name}${n > 1 ? `-${n}` : ""}`;
  const options = [1, 2, 3, 4, 5].map((rating) => h("label", { class: "rating-option" },
    h("input", { type: "radio", name: id("rating"), value: String(rating), required: true }),
    h("span", {}, `${rating} · ${RATING_WORDS[rating]}`)));
  const note = h("textarea", { id: id("note"), maxlength: String(NOTE_MAX), rows: "2",
    "aria-describedby": id("note-hint") });
  const status = h("p", { class: "muted", id: id("status"), role: "status" });
  const send = h("button", { type: "submit", class: "button", id: id("send") }, "Send check-in");
  const form = h("form", { class: "stack checkin-form", id: id("form"), "aria-labelledby": id("title") },
    h("h4", { id: id("title") }, "Check in (optional)"),
    h("fieldset", { class: "ratings" },
      h("legend", {}, "How are you doing today?"), ...options),
    h("div", { class: "field" },
      h("label", { for: id("note") }, "Anything you would like the facilitator to know? (optional)"),
      h("p", { class: "muted hint", id: id("note-hint") }, `Only the group's facilitators see this. Up to ${NOTE_MAX} characters.`),
      note),
    h("div", { class: "row" }, send), status);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector(`input[name="${id("rating")}"]:checked`);
    if (!chosen) {
      status.textContent = "Please choose a number from 1 to 5.";
      options[0].querySelector("input").focus();
      return;
    }
    const payload = { room_id: roomId, rating: Number(chosen.value) };
    const text = note.value.trim();
    if (text) payload.note = text;
    send.disabled = true;
    status.textContent = "Sending…";
    const ack = await request("lobby:checkin", payload);
    send.disabled = false;
    if (ack.ok) {
      status.textContent = "Thank you. Your check-in was sent to the facilitators.";
      send.textContent = "Send again";
      form.dataset.sent = "true";
    } else {
      status.textContent = ack.error?.message || "Your check-in could not be sent. Please try again.";
    }
  });

  return { el: form };
}
