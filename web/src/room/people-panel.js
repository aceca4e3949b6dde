// The people in the room: the raised hands in order, and everyone present with their microphone, camera and hand in
// words. A facilitator has a menu per person (mute the microphone or camera, ask to turn it back on, lower the hand,
// send to the waiting room, remove); removing asks first, in place. Items are kept per person, so focus and an open
// menu survive the roster's frequent updates.
import { h } from "../dom.js";
import { createConfirmStep } from "./confirm-step.js";
import { syncList } from "./keyed-list.js";
import { createMenuButton } from "./menu-button.js";
import { personActions } from "./moderation.js";
import { ROLE_LABELS, handPlace, isFacilitator, mediaText, nameOf, ordinal } from "./state.js";

export function createPeoplePanel({ getState, onAction }) {
  const handQueue = h("ol", { id: "hand-queue", class: "hand-queue", "aria-labelledby": "hands-title" });
  const handsEmpty = h("p", { class: "muted", id: "hands-empty" }, "No hands raised.");
  const hands = h("section", { class: "stack people-section", "aria-labelledby": "hands-title" },
    h("h3", { id: "hands-title" }, "Raised hands"), handQueue, handsEmpty);

  const rosterTitle = h("h3", { id: "roster-title", tabindex: "-1" }, "In the room");
  const lockedNote = h("p", { id: "room-locked-note", class: "muted", hidden: true },
    "The room is locked: no one new can join.");
  const roster = h("ul", { id: "roster", class: "roster", "aria-labelledby": "roster-title" });
  const present = h("section", { class: "stack people-section", "aria-labelledby": "roster-title" },
    rosterTitle, lockedNote, roster);

  function personItem(p) {
    const name = h("span", { class: "participant-name" });
    const role = h("span", { class: "role" });
    const state = h("div", { class: "participant-state" });
    const li = h("li", { class: "participant", "data-user-id": p.user_id },
      h("div", { class: "participant-main" }, name, role), state);
    const parts = { name, role, state, menu: null, confirm: null };
    li.parts = parts;
    return li;
  }

  function ensureMenu(li, userId) {
    const parts = li.parts;
    if (parts.menu) return;
    parts.menu = createMenuButton({
      label: "Actions",
      name: `Actions for ${nameOf(getState(), userId)}`,
      className: "person-menu",
      actions: () => {
        const p = getState().participants.find((x) => x.user_id === userId);
        return p ? personActions(getState(), p) : [];
      },
      onSelect: (action) => {
        if (action === "remove") {
          if (!parts.confirm) {
            parts.confirm = createConfirmStep({
              id: `remove-${userId}`,
              question: "",
              confirmLabel: "Remove",
              returnFocus: parts.menu.button,
              // Once they are out, their entry goes: focus goes to the roster's heading (on failure, back to the menu).
              focusAfter: () => rosterTitle,
              onConfirm: () => onAction("remove", userId),
            });
            li.append(parts.confirm.el);
          }
          parts.confirm.open(`Remove ${nameOf(getState(), userId)} from this session? They can come back only `
            + "if a facilitator admits them.");
          return;
        }
        onAction(action, userId);
      },
    });
    li.append(parts.menu.el);
  }

  function paintPerson(li, p, state) {
    const mine = p.user_id === state.self?.user_id;
    const { name, role, state: stateEl } = li.parts;
    const who = `${p.display_name || "Someone"}${mine ? " (you)" : ""}`;
    if (name.textContent !== who) name.textContent = who;
    const roleWord = ROLE_LABELS[p.role] || "Member";
    if (role.textContent !== roleWord) {
      role.className = `role role-${p.role}`;
      role.textContent = roleWord;
    }
    const place = handPlace(state, p.user_id);
    // Drawn again only when something in it changed (the roster is drawn on every room event).
    const signature = JSON.stringify([place, p.screen, p.audio, p.video, p.muted, p.connected]);
    if (li.parts.signature !== signature) {
      li.parts.signature = signature;
      stateEl.replaceChildren(...[
        place > 0 && h("span", { class: "hand", "data-hand": "raised" }, `Hand raised (${ordinal(place)})`),
        p.screen === true && h("span", { class: "media-state sharing" }, "Sharing screen"),
        h("span", { class: `media-state${p.audio ? "" : " off"}`, "data-kind": "audio" }, mediaText(p, "audio")),
        h("span", { class: `media-state${p.video ? "" : " off"}`, "data-kind": "video" }, mediaText(p, "video")),
        p.connected === false && h("span", { class: "media-state off" }, "Reconnecting…"),
      ].filter(Boolean));
    }
    const canAct = isFacilitator(state) && !mine;
    if (canAct) ensureMenu(li, p.user_id);
    if (li.parts.menu) {
      li.parts.menu.el.hidden = !canAct;
      li.parts.menu.button.setAttribute("aria-label", `Actions for ${p.display_name || "Someone"}`);
    }
  }

  function handItem(userId) {
    const name = h("span", {});
    const said = h("span", { class: "visually-hidden" });
    const lower = h("button", { type: "button", class: "button button-small button-quiet lower-hand",
      "data-action": "lower-hand", "data-user-id": userId }, "Lower hand");
    lower.addEventListener("click", () => onAction("lower-hand", userId));
    const li = h("li", { class: "hand-entry", "data-user-id": userId }, name, said, lower);
    li.parts = { name, said, lower };
    return li;
  }

  return {
    hands,
    present,
    rosterTitle,
    update(state) {
      const list = state.participants;
      rosterTitle.textContent = `In the room (${list.length})`;
      lockedNote.hidden = !state.locked;
      const r = syncList(roster, list, {
        key: (p) => p.user_id,
        create: personItem,
        update: (li, p) => paintPerson(li, p, state),
      });
      const q = syncList(handQueue, state.hands, {
        key: (id) => id,
        create: handItem,
        update: (li, id) => {
          const who = `${nameOf(state, id)}${id === state.self?.user_id ? " (you)" : ""}`;
          if (li.parts.name.textContent !== who) li.parts.name.textContent = who;
          li.parts.said.textContent = `, ${ordinal(handPlace(state, id))} in line`;
          li.parts.lower.hidden = !isFacilitator(state);
          li.parts.lower.setAttribute("aria-label", `Lower hand: ${nameOf(state, id)}`);
        },
      });
      handsEmpty.hidden = state.hands.length > 0;
      if (r.focusLost || q.focusLost) rosterTitle.focus();
    },
  };
}
