// On a mentor's calls page: each mentee with "Check-ins", which reads their history (GET /api/users/{id}/checkins)
// and shows it below, or "Not shared with you" with the server's reason. Kept across redraws of the contact list.
import { h } from "../dom.js";
import { getUserCheckins } from "./api.js";
import { checkinHistory, menteesOf } from "./sharing.js";

function historyView(history) {
  if (history.kind === "not_shared") {
    return [h("p", {}, h("strong", {}, history.text)), history.detail && h("p", { class: "muted" }, history.detail)];
  }
  if (history.kind !== "list") return [h("p", { class: history.kind === "error" ? "alert" : "muted" }, history.text)];
  return [h("ul", { class: "plain-list" }, history.items.map((c) => h("li", { class: `checkin${c.flagged ? " flagged" : ""}` },
    h("span", {}, c.rating), c.flagged && h("span", { class: "flag" }, "Low rating"),
    h("span", { class: "muted" }, ` · ${c.when}`), c.note && h("p", { class: "checkin-note" }, c.note))))];
}

/** {el, update(contacts)}: call update with the contact list whenever it changes. */
export function createMenteeCheckins({ signal }) {
  const list = h("ul", { class: "plain-list", id: "mentee-checkins", "aria-labelledby": "mentee-checkins-title" });
  const el = h("section", { class: "panel stack", "aria-labelledby": "mentee-checkins-title", hidden: true },
    h("h3", { id: "mentee-checkins-title" }, "Your mentees' check-ins"),
    h("p", { class: "muted" }, "A mentee decides whether you can see their check-ins."), list);
  const rows = new Map(); // mentee id -> its row, kept while they stay a mentee
  let shownKey = "";

  function row(mentee) {
    const name = mentee.display_name || "Your mentee";
    const result = h("div", { class: "stack-tight mentee-checkins-result", id: `checkins-of-${mentee.user_id}`,
      "aria-live": "polite", hidden: true });
    const button = h("button", { type: "button", class: "button button-small button-quiet show-checkins",
      "aria-expanded": "false", "aria-controls": result.id, "aria-label": `Check-ins of ${name}` }, "Check-ins");
    button.addEventListener("click", async () => {
      if (button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        result.hidden = true;
        return;
      }
      button.setAttribute("aria-expanded", "true");
      result.hidden = false;
      result.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      button.disabled = true;
      let history;
      try {
        history = checkinHistory({ data: await getUserCheckins(mentee.user_id, signal) });
      } catch (err) {
        if (err.name === "AbortError") return;
        history = checkinHistory({ error: err });
      } finally {
        button.disabled = false;
      }
      result.replaceChildren(...historyView(history));
    });
    return h("li", { class: "mentee", "data-user-id": mentee.user_id },
      h("div", { class: "row" }, h("span", { class: "contact-name" }, name), button), result);
  }

  return {
    el,
    update(contacts) {
      const mentees = menteesOf(contacts);
      const key = mentees.map((m) => `${m.user_id}:${m.display_name}`).join("|");
      if (key === shownKey) return;
      shownKey = key;
      for (const id of [...rows.keys()]) if (!mentees.some((m) => m.user_id === id)) rows.delete(id);
      list.replaceChildren(...mentees.map((m) => {
        if (!rows.has(m.user_id)) rows.set(m.user_id, row(m));
        return rows.get(m.user_id);
      }));
      el.hidden = mentees.length === 0;
    },
  };
}
