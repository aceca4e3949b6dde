// The facilitator's session page for one group: a week's sessions (each held one opens its attendance), the chosen
// session's attendance with sign-off and CSV, the week's check-ins with low ratings flagged, open support requests,
// the group's schedule and time zone, and its agreement. Routes: #/group/<id>/sessions and #/group/<id>/sessions/<session id>.
import { getGroup } from "../api.js";
import { h, setAlert } from "../dom.js";
import { cancelDate, deleteExtraSession, fetchCsv, getCheckins, getOpenSupport, getSessions, restoreDate, saveFile }
  from "../program/api.js";
import { showAgreementEditor } from "../program/agreement-panel.js";
import { showAttendance } from "../program/attendance-panel.js";
import { groupCsvPath } from "../program/attendance.js";
import { isFlagged, ratingText } from "../program/checkins.js";
import { STATUS_LABELS } from "../program/schedule.js";
import { showSchedule } from "../program/schedule-panel.js";
import { formatSpan, formatWhen, localDay, parseTime, weekLabel, weekOf } from "../program/when.js";

export const title = "Sessions";
export const requiresAuth = true;

// The first list in a reply, under whichever of `keys` the server used.
function listOf(data, ...keys) {
  for (const key of keys) if (Array.isArray(data?.[key])) return data[key];
  return [];
}

const pagePath = (groupId, sessionId = null) =>
  `#/group/${encodeURIComponent(groupId)}/sessions${sessionId ? `/${encodeURIComponent(sessionId)}` : ""}`;

export async function render(root, { signal, params = {}, me = null }) {
  const groupId = String(params.groupId || "");
  const sessionId = params.sessionId ? String(params.sessionId) : null;
  let weekOffset = Number(sessionStorage.getItem("haven.sessions.week") || 0) || 0;

  const heading = h("h2", { id: "sessions-title", tabindex: "-1" }, "Sessions");
  const live = h("p", { class: "visually-hidden", id: "page-announce", "aria-live": "polite" });
  const announce = (text) => {
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 50);
  };
  const error = h("p", { class: "alert", role: "alert", id: "sessions-error", hidden: true });

  const weekTitle = h("h3", { id: "week-title", "aria-live": "polite" });
  const weekList = h("ul", { id: "week-sessions", class: "plain-list session-list", "aria-labelledby": "week-title" });
  const weekEmpty = h("p", { class: "muted", id: "week-empty", hidden: true }, "No sessions this week.");
  const nav = (label, delta, id) => h("button", { type: "button", class: "button button-small button-quiet", id,
    onclick: () => { weekOffset = delta === 0 ? 0 : weekOffset + delta; sessionStorage.setItem("haven.sessions.week", String(weekOffset)); loadWeek(); } }, label);
  const weekCsv = h("button", { type: "button", class: "button button-small button-quiet", id: "week-csv" },
    "Download the week's attendance (CSV)");
  const weekSection = h("section", { class: "panel stack", "aria-labelledby": "week-title" },
    weekTitle,
    h("div", { class: "row" }, nav("Previous week", -1, "week-prev"), nav("This week", 0, "week-this"),
      nav("Next week", 1, "week-next")),
    weekList, weekEmpty, h("div", { class: "row" }, weekCsv));

  const attendanceSection = h("section", { class: "panel stack", id: "attendance", "aria-labelledby": "attendance-title",
    hidden: !sessionId });
  const checkinsTitle = h("h3", { id: "checkins-title" }, "Check-ins this week");
  const checkinsList = h("ul", { id: "group-checkins", class: "plain-list", "aria-labelledby": "checkins-title" });
  const checkinsEmpty = h("p", { class: "muted", hidden: true }, "No check-ins this week.");
  const checkinsSection = h("section", { class: "panel stack", "aria-labelledby": "checkins-title" },
    checkinsTitle, checkinsList, checkinsEmpty);
  const supportList = h("ul", { id: "open-support", class: "plain-list", "aria-labelledby": "support-title" });
  const supportEmpty = h("p", { class: "muted", hidden: true }, "No open support requests.");
  const supportSection = h("section", { class: "panel stack", "aria-labelledby": "support-title" },
    h("h3", { id: "support-title" }, "Open support requests"), supportList, supportEmpty);
  const scheduleSection = h("section", { class: "panel stack", id: "schedule", "aria-labelledby": "schedule-title" });
  const agreementSection = h("section", { class: "panel stack", id: "group-agreement",
    "aria-labelledby": "agreement-editor-title" });

  const roomLink = h("a", { class: "button", href: `#/room/${encodeURIComponent(groupId)}`, id: "enter-room" },
    "Enter room");
  root.classList.add("view-wide");
  root.replaceChildren(h("section", { class: "stack session-page", "aria-labelledby": "sessions-title" },
    h("div", { class: "room-head" }, heading, h("div", { class: "row" }, roomLink,
      h("a", { href: "#/groups", class: "button button-quiet" }, "My groups"))),
    live, error, attendanceSection, weekSection, checkinsSection, supportSection, scheduleSection,
    agreementSection));
  signal.addEventListener("abort", () => root.classList.remove("view-wide"), { once: true });
  heading.focus();

  let group = null;
  try {
    group = await getGroup(groupId, signal);
  } catch (err) {
    if (err.name !== "AbortError") setAlert(error, err.message);
    return;
  }
  if (signal.aborted) return;
  heading.textContent = `${group.name}: sessions`;
  let groupZone = typeof group.timezone === "string" && group.timezone ? group.timezone : "UTC";
  const isAdmin = me?.role === "admin";

  function sessionItem(s) {
    const held = s.status === "open" || s.status === "ended" || Boolean(s.started_at);
    const label = STATUS_LABELS[s.status] || s.status;
    const span = formatSpan(s.starts_at, s.ends_at);
    const actions = [];
    if (held) {
      actions.push(h("a", { class: "button button-small", href: pagePath(groupId, s.id),
        "aria-label": `Attendance: ${span}`, "aria-current": s.id === sessionId ? "true" : null }, "Attendance"));
    } else if (s.status === "scheduled" && s.schedule_id) {
      const day = localDay(parseTime(s.starts_at), groupZone);
      actions.push(h("button", { type: "button", class: "button button-small button-quiet cancel-date",
        "aria-label": `Cancel the session of ${span}`,
        onclick: () => change(() => cancelDate(groupId, s.schedule_id, { date: day }), `Cancelled ${span}.`) },
      "Cancel this date"));
    } else if (s.status === "cancelled" && s.schedule_id) {
      const day = localDay(parseTime(s.starts_at), groupZone);
      actions.push(h("button", { type: "button", class: "button button-small button-quiet",
        "aria-label": `Restore the session of ${span}`,
        onclick: () => change(() => restoreDate(groupId, s.schedule_id, day), `Restored ${span}.`) }, "Restore"));
    } else if (s.status === "scheduled" && !s.schedule_id) {
      actions.push(h("button", { type: "button", class: "button button-small button-quiet",
        "aria-label": `Remove the one-off session of ${span}`,
        onclick: () => change(() => deleteExtraSession(groupId, s.id), `Removed ${span}.`) }, "Remove"));
    }
    return h("li", { class: `session-item status-${s.status}`, "data-session-id": s.id },
      h("div", { class: "stack-tight" }, h("span", { class: "session-when" }, span),
        h("span", { class: "muted" }, label, s.signed_off ? " · Signed off" : "", s.scheduled === false ? " · Unscheduled" : "")),
      h("div", { class: "row" }, ...actions));
  }

  async function change(action, done) {
    setAlert(error, "");
    try {
      await action();
    } catch (err) {
      setAlert(error, err.message);
      return;
    }
    announce(done);
    loadWeek();
  }

  async function loadWeek() {
    const week = weekOf(new Date(), weekOffset);
    weekTitle.textContent = weekLabel(week.start);
    weekCsv.onclick = async () => {
      setAlert(error, "");
      try {
        const { text, fileName } = await fetchCsv(groupCsvPath(groupId, week.from, week.to), week.from);
        saveFile(text, fileName);
        announce("The week's attendance CSV is downloading.");
      } catch (err) {
        setAlert(error, err.message);
      }
    };
    try {
      const [sessions, checkins] = await Promise.all([
        getSessions(groupId, week.from, week.to, signal),
        getCheckins(groupId, week.from, week.to, signal).catch((err) => (err.name === "AbortError" ? Promise.reject(err)
          : { error: err })),
      ]);
      if (signal.aborted) return;
      const list = listOf(sessions, "sessions");
      weekList.replaceChildren(...list.map(sessionItem));
      weekEmpty.hidden = list.length > 0;
      showCheckins(checkins);
    } catch (err) {
      if (err.name !== "AbortError") setAlert(error, err.message);
    }
  }

  function showCheckins(data) {
    if (data?.error) {
      checkinsList.replaceChildren(h("li", { class: "muted" }, data.error.message));
      return;
    }
    const list = listOf(data, "checkins").slice().sort((a, b) => String(b.at).localeCompare(String(a.at)));
    checkinsEmpty.hidden = list.length > 0;
    checkinsList.replaceChildren(...list.map((c) => {
      const flagged = isFlagged(c);
      return h("li", { class: `checkin${flagged ? " flagged" : ""}`, "data-user-id": c.user_id },
        h("span", { class: "participant-name" }, c.display_name || "Someone"),
        h("span", {}, ratingText(c.rating)),
        flagged && h("span", { class: "flag" }, "Low rating"),
        h("span", { class: "muted" }, formatWhen(c.at)),
        c.note && h("p", { class: "checkin-note" }, c.note));
    }));
  }

  async function loadSupport() {
    try {
      const data = await getOpenSupport(groupId, signal);
      const list = listOf(data, "support_requests", "requests");
      supportEmpty.hidden = list.length > 0;
      supportList.replaceChildren(...list.map((s) => h("li", { class: "support-item", "data-user-id": s.user_id },
        h("span", { class: "participant-name" }, s.display_name || "Someone"),
        h("span", { class: "muted" }, formatWhen(s.at)),
        s.note && h("p", { class: "checkin-note" }, s.note))));
    } catch (err) {
      if (err.name !== "AbortError") supportList.replaceChildren(h("li", { class: "muted" }, err.message));
    }
  }

  const jobs = [loadWeek(), loadSupport(),
    showSchedule(scheduleSection, { groupId, timeZone: groupZone, canChangeZone: isAdmin, signal, announce,
      onChanged: loadWeek, onZoneChanged: (zone) => { groupZone = zone; loadWeek(); } }),
    showAgreementEditor(agreementSection, { groupId, signal, announce,
      canPublish: isAdmin || group.my_role === "facilitator" })];
  if (sessionId) {
    jobs.push(showAttendance(attendanceSection, { sessionId, signal, announce, onChanged: loadWeek }).then(() => {
      if (!signal.aborted) attendanceSection.querySelector("#attendance-title")?.focus();
    }));
  }
  await Promise.all(jobs);
}
