// On a mentee's calls page: "Let <mentor> see my check-ins", one switch per mentor of an active pairing
// (GET/PUT /api/me/checkin-sharing). Each change is said aloud and shown; a refusal puts the switch back and shows why.
import { h, setAlert } from "../dom.js";
import { getCheckinSharing, setCheckinSharing } from "./api.js";
import { sharingDoneText, sharingLabel } from "./sharing.js";

/** Fills `host` (hidden while the person has no mentor). */
export async function showCheckinSharing(host, { signal }) {
  host.hidden = true;
  let mentors;
  try {
    const data = await getCheckinSharing(signal);
    mentors = Array.isArray(data?.mentors) ? data.mentors : [];
  } catch {
    return; // calls work without it; the switch appears when it can be read
  }
  if (signal.aborted || !mentors.length) return;

  const status = h("p", { id: "sharing-status", role: "status", class: "muted" });
  const error = h("p", { id: "sharing-error", class: "alert", role: "alert", hidden: true });
  const items = mentors.map((mentor) => {
    const id = `share-${mentor.mentor_id}`;
    const box = h("input", { type: "checkbox", id, class: "share-checkins", "data-mentor-id": mentor.mentor_id,
      checked: Boolean(mentor.shared) });
    box.addEventListener("change", async () => {
      const shared = box.checked;
      setAlert(error, "");
      status.textContent = "";
      box.disabled = true;
      try {
        await setCheckinSharing(mentor.mentor_id, shared);
        mentor.shared = shared;
        status.textContent = sharingDoneText(mentor, shared);
      } catch (err) {
        box.checked = Boolean(mentor.shared);
        setAlert(error, err.message);
      } finally {
        box.disabled = false;
        box.focus();
      }
    });
    return h("li", {}, h("label", { class: "check", for: id }, box, sharingLabel(mentor)));
  });

  host.replaceChildren(h("h3", { id: "sharing-title" }, "Your check-ins"),
    h("p", { class: "muted" }, "Check-ins you give before a group session go to that group's facilitators. "
      + "You may also let your mentor see them; you can stop at any time."),
    h("ul", { class: "plain-list", id: "checkin-sharing", "aria-labelledby": "sharing-title" }, items),
    status, error);
  host.hidden = false;
}
