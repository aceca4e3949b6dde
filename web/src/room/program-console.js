// The facilitator console's program part: check-ins beside the admit queue (low ratings flagged) and support
// requests with a short sound, a badge and Acknowledge. State is program/checkins.js's reducer; this draws it.
import { h } from "../dom.js";
import { getCheckins, getOpenSupport } from "../program/api.js";
import { INITIAL, badgeText, latestByUser, openSupport, ratingText, step } from "../program/checkins.js";
import { formatWhen, isoUtc } from "../program/when.js";
import { chime } from "./chime.js";

const SEED_HOURS = 4; // check-ins of the last hours are read on entry: those given before the facilitator came

export function checkinSummary(checkin) {
  if (!checkin) return null;
  return h("div", { class: `checkin-summary${checkin.flagged ? " flagged" : ""}`, "data-rating": String(checkin.rating) },
    h("span", {}, `Check-in: ${ratingText(checkin.rating)}`),
    checkin.flagged && h("span", { class: "flag" }, "Low rating"),
    checkin.note && h("p", { class: "checkin-note" }, checkin.note));
}

export function createProgramConsole({ roomId, groupId, request, onChange = () => {} }) {
  let state = INITIAL;
  const polite = h("p", { class: "visually-hidden", "aria-live": "polite", id: "console-announce" });
  const urgent = h("p", { class: "visually-hidden", "aria-live": "assertive", id: "support-announce" });

  const checkinList = h("ul", { id: "room-checkins", class: "plain-list", "aria-labelledby": "room-checkins-title" });
  const checkinEmpty = h("p", { class: "muted" }, "No check-ins yet.");
  const checkins = h("section", { class: "stack", "aria-labelledby": "room-checkins-title" },
    h("h4", { id: "room-checkins-title" }, "Check-ins"), checkinList, checkinEmpty);

  const badge = h("span", { class: "badge", id: "support-badge", hidden: true });
  const supportList = h("ul", { id: "support-requests", class: "plain-list", "aria-labelledby": "support-title" });
  const supportEmpty = h("p", { class: "muted" }, "No one has asked for support.");
  const support = h("section", { class: "stack", "aria-labelledby": "support-title" },
    h("h4", { id: "support-title" }, "Support requests ", badge), supportList, supportEmpty);

  const announce = (el, text) => {
    el.textContent = "";
    setTimeout(() => { el.textContent = text; }, 50);
  };

  function draw() {
    const latest = [...latestByUser(state).values()].reverse();
    checkinList.replaceChildren(...latest.map((c) => h("li", { class: "room-checkin", "data-user-id": c.user_id },
      h("span", { class: "participant-name" }, c.display_name || "Someone"),
      h("span", { class: "muted" }, formatWhen(c.at)),
      checkinSummary(c))));
    checkinEmpty.hidden = latest.length > 0;

    const text = badgeText(state);
    badge.textContent = text;
    badge.hidden = !text;
    const focusedId = document.activeElement?.dataset?.supportId;
    const items = state.support.slice().reverse().slice(0, 20).map((s) => h("li", {
      class: `support-item${s.acknowledged ? " acknowledged" : " open"}`, "data-user-id": s.user_id,
      "data-support-id": s.id },
    h("span", { class: "participant-name" }, s.display_name || "Someone"),
    h("span", { class: "muted" }, formatWhen(s.at)),
    s.note && h("p", { class: "checkin-note" }, s.note),
    s.acknowledged
      ? h("span", { class: "muted" }, "Acknowledged")
      : h("button", { type: "button", class: "button button-small acknowledge", "data-support-id": s.id,
        "aria-label": `Acknowledge ${s.display_name || "the"} support request` }, "Acknowledge")));
    supportList.replaceChildren(...items);
    supportEmpty.hidden = items.length > 0;
    if (focusedId) supportList.querySelector(`button[data-support-id="${CSS.escape(focusedId)}"]`)?.focus();
    onChange(openSupport(state).length);
  }

  function apply(event) {
    const next = step(state, event);
    state = next.state;
    for (const effect of next.effects) {
      if (effect.type === "chime") chime();
      if (effect.type === "announce") announce(event.type.startsWith("support") ? urgent : polite, effect.text);
    }
    draw();
  }

  supportList.addEventListener("click", async (event) => {
    const btn = event.target.closest?.("button.acknowledge");
    if (!btn) return;
    btn.disabled = true;
    const ack = await request("support:acknowledge", { room_id: roomId, id: btn.dataset.supportId });
    if (ack.ok) apply({ type: "support_acknowledged", data: { id: btn.dataset.supportId } });
    else {
      btn.disabled = false;
      announce(urgent, ack.error?.message || "The acknowledgement could not be sent.");
    }
  });

  draw();
  return {
    checkins,
    support,
    live: h("div", {}, polite, urgent),
    received: (type, data) => apply({ type, data }),
    checkinOf: (userId) => latestByUser(state).get(userId) || null,
    openCount: () => openSupport(state).length,
    // Read what came before this console opened: recent check-ins and open support requests.
    async seed() {
      const now = new Date();
      const from = isoUtc(new Date(now.getTime() - SEED_HOURS * 3600000));
      const to = isoUtc(new Date(now.getTime() + 60000));
      const [c, s] = await Promise.allSettled([getCheckins(groupId, from, to), getOpenSupport(groupId)]);
      if (c.status === "fulfilled") apply({ type: "seed_checkins", list: c.value?.checkins });
      if (s.status === "fulfilled") {
        apply({ type: "seed_support", list: s.value?.support_requests || s.value?.requests });
      }
    },
  };
}
