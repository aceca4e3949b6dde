// The facilitator's console, in the people panel: the waiting room first (a count, "Admit all", and Admit / Deny per
// person beside their check-in), then the room's switches (lock, waiting room), and, set apart at the end, ending
// the session, which asks first. Arrivals are announced and chimed by the room (state.js says when).
import { h } from "../dom.js";
import { createConfirmStep } from "./confirm-step.js";
import { syncList } from "./keyed-list.js";
import { isFacilitator } from "./state.js";

// A switch: its name stays, its state is in aria-pressed and in a word beside it (On / Off), in the text's colour.
function switchButton(id, label) {
  const state = h("span", { class: "switch-state", "aria-hidden": "true" });
  const el = h("button", { type: "button", id, class: "switch", "aria-pressed": "false" },
    h("span", { class: "switch-label" }, label), state);
  return {
    el,
    set(on, words = ["On", "Off"]) {
      el.setAttribute("aria-pressed", String(on));
      state.textContent = on ? words[0] : words[1];
    },
  };
}

function since(w) {
  return typeof w.since === "number" && Number.isFinite(w.since)
    ? new Date(w.since * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })
    : null;
}

// options: onAction(action, userId?) for "admit", "deny", "admit-all", "lock", "lobby", "end";
// checkinOf(userId) -> the check-in element to show beside a waiting person, or null; program: {checkins, support,
// live} elements of the program console.
export function createFacilitatorConsole({ onAction, checkinOf, program }) {
  const count = h("span", { id: "lobby-count", class: "badge", hidden: true });
  const admitAll = h("button", { type: "button", id: "admit-all", class: "button button-small", hidden: true },
    "Admit all");
  const lobbyList = h("ul", { id: "lobby", class: "lobby", "aria-labelledby": "lobby-title" });
  const lobbyEmpty = h("p", { class: "muted", id: "lobby-empty" }, "No one is waiting.");
  const lobbySection = h("section", { id: "lobby-section", class: "stack people-section lobby-section",
    "aria-labelledby": "lobby-title", hidden: true },
  h("div", { class: "section-head" }, h("h3", { id: "lobby-title" }, "Waiting to join ", count), admitAll),
  lobbyList, lobbyEmpty);
  admitAll.addEventListener("click", () => onAction("admit-all"));

  const lock = switchButton("lock-room", "Lock room");
  const lobby = switchButton("toggle-lobby", "Waiting room");
  lock.el.addEventListener("click", () => onAction("lock"));
  lobby.el.addEventListener("click", () => onAction("lobby"));
  const facTitle = h("h3", { id: "fac-title" }, "Facilitator");
  const settingsSection = h("section", { id: "facilitator-panel", class: "stack people-section",
    "aria-labelledby": "fac-title", hidden: true },
  facTitle,
  h("div", { class: "switches", role: "group", "aria-label": "Room settings" }, lock.el, lobby.el),
  program.checkins, program.support, program.live);

  const endButton = h("button", { type: "button", id: "end-room", class: "button button-danger-quiet" },
    "End session for everyone…");
  const endConfirm = createConfirmStep({
    id: "end-confirm",
    question: "End this session for everyone in the room and the waiting room?",
    confirmLabel: "End session",
    returnFocus: endButton,
    onConfirm: () => onAction("end"),
  });
  endButton.addEventListener("click", () => endConfirm.open());
  const endSection = h("section", { id: "end-section", class: "stack people-section danger-zone",
    "aria-labelledby": "end-title", hidden: true },
  h("h3", { id: "end-title" }, "End the session"),
  h("p", { class: "muted" }, "Everyone leaves the room, including anyone waiting."),
  h("div", { class: "row" }, endButton), endConfirm.el);

  function waitingItem(w) {
    const name = h("span", { class: "participant-name" });
    const when = h("span", { class: "muted" });
    const before = h("p", { class: "muted removed-before", hidden: true }, "Removed earlier in this session.");
    const checkin = h("div", { class: "waiting-checkin" });
    const admit = h("button", { type: "button", class: "button button-small admit", "data-action": "admit",
      "data-user-id": w.user_id }, "Admit");
    const deny = h("button", { type: "button", class: "button button-small button-quiet deny", "data-action": "deny",
      "data-user-id": w.user_id }, "Deny");
    admit.addEventListener("click", () => onAction("admit", w.user_id));
    deny.addEventListener("click", () => onAction("deny", w.user_id));
    const actions = h("div", { class: "participant-actions", role: "group" }, admit, deny);
    const li = h("li", { class: "waiting-person", "data-user-id": w.user_id },
      h("div", { class: "participant-main" }, name, when), before, checkin, actions);
    li.parts = { name, when, before, checkin, actions };
    return li;
  }

  function paintWaiting(li, w) {
    const who = w.display_name || "Someone";
    const { name, when, before, checkin, actions } = li.parts;
    if (name.textContent !== who) name.textContent = who;
    const at = since(w);
    when.textContent = at ? `waiting since ${at}` : "";
    before.hidden = !w.removed_before;
    actions.setAttribute("aria-label", `Waiting room actions for ${who}`);
    const summary = checkinOf(w.user_id);
    const signature = summary ? summary.outerHTML : "";
    if (li.parts.checkinShown !== signature) {
      li.parts.checkinShown = signature;
      checkin.replaceChildren(...[summary].filter(Boolean));
    }
  }

  return {
    lobbySection,
    settingsSection,
    endSection,
    setSupportOpen(open) {
      facTitle.textContent = open ? `Facilitator (${open} asking for support)` : "Facilitator";
    },
    update(state, { joined }) {
      const show = joined && isFacilitator(state);
      lobbySection.hidden = !show;
      settingsSection.hidden = !show;
      endSection.hidden = !show;
      if (!show) {
        endConfirm.close({ focus: false });
        return;
      }
      const n = state.lobby.length;
      count.hidden = n === 0;
      count.textContent = n ? String(n) : "";
      const admitAllHadFocus = document.activeElement === admitAll;
      admitAll.hidden = n < 2;
      const { focusLost } = syncList(lobbyList, state.lobby, { key: (w) => w.user_id, create: waitingItem,
        update: paintWaiting });
      lobbyEmpty.hidden = n > 0;
      // Focus in a waiting person's entry that went, or on "Admit all" as it hides: the next in line, else the lock.
      if (focusLost || (admitAllHadFocus && admitAll.hidden)) {
        (n > 0 ? lobbyList.querySelector("button.admit") : lock.el).focus();
      }
      lock.set(state.locked, ["Locked", "Off"]);
      lobby.set(state.lobbyEnabled);
    },
  };
}
