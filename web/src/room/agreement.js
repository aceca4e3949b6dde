// The group's agreement, shown when room:join answers `agreement_required`: its text, Accept (POST .../accept with
// the version shown, then the join is tried again) and Not now. A newer version on accept (409) is shown instead.
import { h, setAlert } from "../dom.js";
import { acceptAgreement, getAgreement } from "../program/api.js";

export function createAgreementCard({ groupId, onAccepted }) {
  const title = h("h3", { id: "agreement-title", tabindex: "-1" }, "Before you join: the group agreement");
  const lead = h("p", { class: "muted" },
    "Please read this group's agreement. You are asked once, and again only when it changes.");
  const text = h("div", { id: "agreement-text", class: "agreement-text", tabindex: "0", role: "region",
    "aria-labelledby": "agreement-title" });
  const error = h("p", { class: "alert", role: "alert", id: "agreement-error", hidden: true });
  const accept = h("button", { type: "button", class: "button", id: "accept-agreement" }, "I accept and want to join");
  const el = h("section", { id: "agreement", class: "card stack", "aria-labelledby": "agreement-title", hidden: true },
    title, lead, text, error,
    h("div", { class: "row" }, accept, h("a", { href: "#/groups", class: "button button-quiet" }, "Not now")));

  let version = null;

  function show(agreement) {
    version = agreement?.version ?? null;
    text.replaceChildren(...String(agreement?.text ?? "").split(/\n{2,}/).map((para) => h("p", {}, para)));
    setAlert(error, "");
    el.hidden = false;
    title.focus();
  }

  accept.addEventListener("click", async () => {
    setAlert(error, "");
    accept.disabled = true;
    try {
      await acceptAgreement(groupId, version);
      el.hidden = true;
      onAccepted();
    } catch (err) {
      if (err.code === "conflict") {
        // The agreement changed while it was on screen: the new text is the one to accept.
        try {
          show(await getAgreement(groupId));
          setAlert(error, "The agreement has just been updated. Please read the new version.");
        } catch (again) {
          setAlert(error, again.message);
        }
      } else {
        setAlert(error, err.message);
      }
    } finally {
      accept.disabled = false;
    }
  });

  return { el, show, hide: () => { el.hidden = true; } };
}
