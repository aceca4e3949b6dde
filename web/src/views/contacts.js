// Mentor calls: the people this person is paired with, their live status, a Call button each, and recent calls.
// The list and statuses come from the call line (calls/line.js), which keeps them current.
import { getCalls } from "../api.js";
import { h, setAlert } from "../dom.js";
import { askNotificationPermission, notificationPermission } from "../calls/alerts.js";
import { describeCall, relationshipLabel, statusLabel } from "../calls/messages.js";
import { Phase } from "../calls/state.js";
import { showCheckinSharing } from "../program/checkin-sharing-panel.js";
import { createMenteeCheckins } from "../program/mentee-checkins-panel.js";
import { formatTime, parseSentAt } from "../room/chat.js";

// A mentor's page is named as their nav link names it ("Mentees"); everyone else's, "Mentor calls".
const pageName = (me) => (me?.role === "mentor" ? "Mentees" : "Mentor calls");
export const title = pageName;
export const requiresAuth = true;

const RECENT_CALLS = 10;
const RECORD_DELAY_MS = 800; // the call's row is written as it ends; ask a moment later

function contactItem(contact, canCall) {
  const name = contact.display_name || "Someone";
  const status = contact.status || "offline";
  const callable = canCall && status === "online";
  return h("li", { class: "contact", "data-user-id": contact.user_id, "data-status": status },
    h("div", { class: "contact-main" },
      h("span", { class: "contact-name" }, name),
      h("span", { class: "muted contact-relationship" }, relationshipLabel(contact.relationship)),
    ),
    h("div", { class: "contact-meta" },
      h("span", { class: `contact-status status-${status}` }, statusLabel(status)),
      h("button", {
        type: "button",
        class: "button call-contact",
        "data-user-id": contact.user_id,
        "aria-label": `Call ${name}`,
        disabled: !callable,
      }, "Call"),
    ),
  );
}

function callItem(record, selfId, nameOf, isNew) {
  const { direction, detail } = describeCall(record, selfId, nameOf);
  const when = parseSentAt(record.invited_at);
  return h("li", { class: `recent-call${isNew ? " is-new" : ""}`, "data-call-id": record.id },
    h("span", { class: "recent-call-who" }, direction,
      isNew ? h("span", { class: "call-missed-badge recent-call-new" }, "New") : null),
    h("span", { class: "muted" }, [detail, when && formatTime(when)].filter(Boolean).join(" · ")),
  );
}

function missedText(count) {
  return count === 1 ? "You missed 1 call since you last looked." : `You missed ${count} calls since you last looked.`;
}

// "Turn on call alerts": asks for permission to notify, from the person's own press, only while it was never asked.
function callAlerts() {
  const button = h("button", { type: "button", id: "call-alerts-on", class: "button button-quiet" },
    "Turn on call alerts");
  const note = h("p", { id: "call-alerts-note", class: "muted", role: "status" });
  const el = h("div", { class: "call-alerts row" }, button, note);
  const draw = () => {
    const permission = notificationPermission();
    button.hidden = permission !== "default";
    note.textContent = permission === "default"
      ? "Get a notice when someone calls while Haven is in the background."
      : permission === "granted" ? "Call alerts are on: you are notified when someone calls while Haven is in "
        + "the background." : permission === "denied" ? "Call alerts are off in this browser's site settings." : "";
    el.hidden = permission === "unsupported";
  };
  button.addEventListener("click", async () => {
    await askNotificationPermission();
    draw();
  });
  draw();
  return el;
}

export async function render(root, { signal, line, me }) {
  const heading = h("h2", { id: "contacts-title", tabindex: "-1" }, pageName(me || line.me));
  const lead = h("p", { class: "muted" },
    "The people you are paired with. When someone is online, you can call them here.");
  const loading = h("p", { class: "muted", id: "contacts-loading", role: "status" }, "Loading your contacts…");
  // Calls missed since the person last came here; they are seen now, so the count in the title clears.
  const missedNote = h("p", { id: "missed-calls", class: "notice notice-text", role: "status" });
  const alerts = callAlerts();
  const error = h("p", { id: "contacts-error", class: "alert", role: "alert", hidden: true });
  const list = h("ul", { id: "contacts", class: "contact-list", "aria-labelledby": "contacts-title", hidden: true });
  const empty = h("p", { id: "contacts-empty", class: "card calm", hidden: true },
    "You are not paired with anyone yet. When an administrator pairs you with a mentor or a mentee, "
      + "they will appear here.");

  const recentTitle = h("h3", { id: "recent-calls-title" }, "Recent calls");
  const recentList = h("ul", { id: "recent-calls", class: "recent-calls", "aria-labelledby": "recent-calls-title" });
  const recentEmpty = h("p", { class: "muted", id: "recent-calls-empty", hidden: true }, "No calls yet.");
  const recent = h("section", { class: "panel stack", "aria-labelledby": "recent-calls-title", hidden: true },
    recentTitle, recentList, recentEmpty);

  // A mentee's sharing of check-ins with their mentors; a mentor's view of their mentees' check-ins.
  const sharing = h("section", { class: "panel stack", id: "sharing", "aria-labelledby": "sharing-title", hidden: true });
  const menteeCheckins = createMenteeCheckins({ signal });

  const section = h("section", { class: "stack", "aria-labelledby": "contacts-title" },
    heading, lead, missedNote, alerts, loading, error, list, empty, sharing, menteeCheckins.el, recent);
  root.replaceChildren(section);
  heading.focus();

  let calls = null;
  const newMissed = new Set(line.missedCalls);
  function seeMissed() {
    for (const id of line.missedCalls) newMissed.add(id);
    if (line.missedCalls.length && document.visibilityState === "visible") line.markCallsSeen();
    missedNote.textContent = newMissed.size ? missedText(newMissed.size) : "";
    missedNote.hidden = newMissed.size === 0;
  }
  seeMissed();
  const nameOf = (userId) => line.contacts.find((c) => c.user_id === userId)?.display_name || null;

  function draw() {
    if (signal.aborted) return;
    const phase = line.state.phase;
    const canCall = (phase === Phase.IDLE || phase === Phase.ENDED) && !line.preparing;
    loading.hidden = line.contactsLoaded || Boolean(line.contactsError);
    setAlert(error, line.contactsLoaded ? "" : line.contactsError);
    list.hidden = !line.contactsLoaded || line.contacts.length === 0;
    empty.hidden = !line.contactsLoaded || line.contacts.length > 0;

    // Keep keyboard focus on the same person's button when the list is redrawn.
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.userId : null;
    list.replaceChildren(...line.contacts.map((c) => contactItem(c, canCall)));
    if (focused) {
      const again = list.querySelector(`button[data-user-id="${CSS.escape(focused)}"]`);
      (again && !again.disabled ? again : heading).focus();
    }

    menteeCheckins.update(line.contactsLoaded ? line.contacts : []);

    recent.hidden = calls === null;
    if (calls !== null) {
      recentList.replaceChildren(...calls.map((c) => callItem(c, line.me?.id, nameOf, newMissed.has(c.id))));
      recentEmpty.hidden = calls.length > 0;
    }
  }

  async function loadCalls() {
    try {
      const data = await getCalls(RECENT_CALLS, signal);
      calls = Array.isArray(data?.calls) ? data.calls : [];
    } catch {
      return; // the recent calls are a convenience; the contacts above still work
    }
    draw();
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest?.("button.call-contact");
    if (!button || button.disabled) return;
    const contact = line.contacts.find((c) => c.user_id === button.dataset.userId);
    if (contact) line.prepare("dial", contact);
  });

  let lastPhase = line.state.phase;
  let timer = null;
  const unsubscribe = line.subscribe(() => {
    seeMissed();
    const phase = line.state.phase;
    if (phase !== lastPhase && phase === Phase.ENDED) {
      clearTimeout(timer);
      timer = setTimeout(loadCalls, RECORD_DELAY_MS);
    }
    lastPhase = phase;
    draw();
  });
  // A call missed while this page sat in a background tab is seen when the person comes back to it.
  document.addEventListener("visibilitychange", seeMissed, { signal });
  signal.addEventListener("abort", () => {
    unsubscribe();
    clearTimeout(timer);
  }, { once: true });

  // Read afresh each time the page opens: a pairing made (or ended) since arrives with no event on the line.
  line.refreshContacts();
  draw();
  loadCalls();
  showCheckinSharing(sharing, { signal });
}
