// One session's attendance on the session page: the table (corrections beside the original figures), sign-off with
// an optional note, a correction form, and the CSV download. Built from GET /api/sessions/{id}/attendance.
import { h, setAlert } from "../dom.js";
import { addCorrection, fetchCsv, getAttendance, saveFile, signOff } from "./api.js";
import { correctionBody, csvPath, memberRows, signOffText } from "./attendance.js";
import { formatSpan } from "./when.js";

const COLUMNS = ["Member", "Status", "Present", "Camera on", "Waited", "First joined", "Last left", "Late or early",
  "How it ended", "Corrections"];

function field(id, label, control, hint = null) {
  return h("div", { class: "field" }, h("label", { for: id }, label), hint && h("p", { class: "muted hint", id: `${id}-hint` }, hint), control);
}

function table(rows) {
  const head = h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)));
  const body = rows.map((r) => h("tr", { "data-user-id": r.user_id, class: r.absent ? "absent" : null },
    h("th", { scope: "row" }, r.name, h("span", { class: "muted cell-role" }, r.role)),
    h("td", { "data-col": "status" }, r.status),
    h("td", { "data-col": "present" }, r.present),
    h("td", {}, r.camera),
    h("td", {}, r.waiting),
    h("td", {}, r.first),
    h("td", {}, r.last),
    h("td", {}, r.flags || "—"),
    h("td", {}, r.ended || "—"),
    h("td", { class: "corrections", "data-col": "corrections" },
      r.corrections.length ? h("ul", {}, r.corrections.map((c) => h("li", {}, c))) : "—"),
  ));
  return h("table", { class: "attendance-table", id: "attendance-table" },
    h("caption", { class: "visually-hidden" }, "Attendance, one row per member"),
    h("thead", {}, head), h("tbody", {}, body));
}

/**
 * Renders session `sessionId`'s attendance into `host`. `announce(text)` speaks through the page's live region;
 * `onChanged()` tells the page the session's state changed (signed off).
 */
export async function showAttendance(host, { sessionId, signal, announce, onChanged = () => {} }) {
  const title = h("h3", { id: "attendance-title", tabindex: "-1" }, "Attendance");
  const when = h("p", { class: "muted", id: "attendance-when" });
  const status = h("p", { class: "muted", role: "status" }, "Loading the attendance…");
  const error = h("p", { class: "alert", role: "alert", id: "attendance-error", hidden: true });
  const signed = h("p", { class: "card calm", id: "signed-off", hidden: true });
  const tableBox = h("div", { class: "table-scroll", role: "region", "aria-labelledby": "attendance-title",
    tabindex: "0" });
  const csvButton = h("button", { type: "button", class: "button button-quiet", id: "download-csv" },
    "Download CSV");

  const note = h("textarea", { id: "sign-off-note", maxlength: "1000", rows: "3",
    "aria-describedby": "sign-off-note-hint" });
  const signButton = h("button", { type: "submit", class: "button", id: "sign-off" }, "Sign off attendance");
  const signForm = h("form", { class: "stack sign-off-form", id: "sign-off-form", hidden: true },
    h("h4", {}, "Sign off"),
    field("sign-off-note", "Note (optional)", note, "Signed attendance is final. Later changes are added as corrections."),
    h("div", { class: "row" }, signButton));

  const who = h("select", { id: "correction-member" });
  const newStatus = h("select", { id: "correction-status" }, h("option", { value: "" }, "Unchanged"),
    h("option", { value: "present" }, "Present"), h("option", { value: "absent" }, "Absent"));
  const minutes = h("input", { id: "correction-minutes", type: "number", min: "0", max: "1440", inputmode: "numeric" });
  const why = h("textarea", { id: "correction-note", maxlength: "1000", rows: "2", required: true });
  const correctionForm = h("details", { class: "correction" },
    h("summary", {}, "Add a correction"),
    h("form", { class: "stack", id: "correction-form" },
      field("correction-member", "Member", who),
      field("correction-status", "Status", newStatus),
      field("correction-minutes", "Minutes present (optional)", minutes),
      field("correction-note", "Why (required)", why),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button" }, "Add correction"))));

  host.replaceChildren(title, when, status, error, signed, h("div", { class: "row" }, csvButton), tableBox, signForm,
    correctionForm);

  let report = null;

  async function load() {
    try {
      report = await getAttendance(sessionId, signal);
    } catch (err) {
      if (err.name === "AbortError") return;
      status.textContent = "";
      setAlert(error, err.message);
      return;
    }
    if (signal.aborted) return;
    status.textContent = "";
    const s = report.session || {};
    when.textContent = formatSpan(s.scheduled_start || s.started_at || s.starts_at,
      s.scheduled_end || s.ended_at || s.ends_at);
    const rows = memberRows(report);
    tableBox.replaceChildren(rows.length ? table(rows) : h("p", { class: "muted" }, "No members."));
    const signedText = signOffText(report);
    setAlert(signed, signedText);
    const open = s.status === "open" || (s.started_at && !s.ended_at && s.status !== "ended");
    signForm.hidden = Boolean(signedText) || Boolean(open);
    correctionForm.hidden = Boolean(open); // the server takes corrections once the session has ended
    who.replaceChildren(h("option", { value: "" }, "Choose…"),
      ...rows.map((r) => h("option", { value: r.user_id }, r.name)));
  }

  signForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setAlert(error, "");
    signButton.disabled = true;
    try {
      await signOff(sessionId, note.value.trim() || null);
      announce("Attendance signed off.");
      note.value = "";
      await load();
      onChanged();
      signed.focus?.();
    } catch (err) {
      setAlert(error, err.message);
    } finally {
      signButton.disabled = false;
    }
  });

  correctionForm.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    setAlert(error, "");
    const built = correctionBody({ user_id: who.value, status: newStatus.value, minutes: minutes.value, note: why.value });
    if (built.error) {
      setAlert(error, built.error);
      return;
    }
    try {
      await addCorrection(sessionId, built.body);
      announce("Correction added.");
      why.value = "";
      minutes.value = "";
      newStatus.value = "";
      await load();
    } catch (err) {
      setAlert(error, err.message);
    }
  });

  csvButton.addEventListener("click", async () => {
    setAlert(error, "");
    csvButton.disabled = true;
    try {
      const { text, fileName } = await fetchCsv(csvPath(sessionId), report?.session?.scheduled_start
        || report?.session?.started_at || "");
      saveFile(text, fileName);
      announce("The attendance CSV is downloading.");
    } catch (err) {
      setAlert(error, err.message);
    } finally {
      csvButton.disabled = false;
    }
  });

  await load();
}
