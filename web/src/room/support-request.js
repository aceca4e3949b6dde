// "I need support": a member privately tells the room's facilitators (support:request, with an optional note), and
// hears back when one of them acknowledges it (support:acknowledged). Nobody else in the room sees either.
import { h } from "../dom.js";

export function createSupportRequest({ roomId, request }) {
  const open = h("button", { type: "button", class: "button button-support", id: "need-support",
    "aria-expanded": "false", "aria-controls": "support-form" }, "I need support");
  const note = h("textarea", { id: "support-note", maxlength: "500", rows: "2" });
  const send = h("button", { type: "submit", class: "button", id: "send-support" }, "Tell the facilitators");
  const cancel = h("button", { type: "button", class: "button button-quiet" }, "Cancel");
  const form = h("form", { class: "card calm stack", id: "support-form", hidden: true },
    h("p", { class: "notice-text" }, "This goes only to the facilitators, privately. Nobody else in the room sees it."),
    h("div", { class: "field" }, h("label", { for: "support-note" }, "A note (optional)"), note),
    h("div", { class: "row" }, send, cancel));
  const status = h("p", { id: "support-status", class: "notice-text", role: "status" });
  const el = h("div", { class: "support-request stack" }, form, status);
  let pending = null; // the id of the request sent, until acknowledged

  const close = () => {
    form.hidden = true;
    open.setAttribute("aria-expanded", "false");
  };
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) send.focus();
  });
  cancel.addEventListener("click", () => {
    close();
    open.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = { room_id: roomId };
    if (note.value.trim()) payload.note = note.value.trim();
    send.disabled = true;
    const ack = await request("support:request", payload);
    send.disabled = false;
    if (ack.ok) {
      pending = ack.id ?? null;
      note.value = "";
      close();
      status.textContent = "The facilitators have been told. Someone will be with you soon.";
      open.focus();
    } else {
      status.textContent = ack.error?.message || "Your request could not be sent. Please try again.";
    }
  });

  return {
    button: open,
    el,
    // support:acknowledged for this person (the server sends it to the requester and the facilitators).
    acknowledged(data) {
      if (pending !== null && data?.id !== pending) return;
      pending = null;
      status.textContent = "A facilitator has seen your request.";
    },
    setVisible(visible) {
      open.hidden = !visible;
      if (!visible) {
        close();
      }
    },
  };
}
