// The program console for administrators, where they land after signing in: an overview (#/admin) and four sections
// (#/admin/users, groups, pairings, audit), each drawn by its own module in admin/. The shell holds what they share:
// the section links, the heading that takes focus on each navigation, and the polite live region that says what an
// act did. Only the REST API is used (docs/protocol.md 4 and 5).
import { h } from "../dom.js";
import { setPageTitle } from "../attention.js";
import { showAudit } from "../admin/audit-panel.js";
import { showGroups } from "../admin/groups-panel.js";
import { showOverview } from "../admin/overview-panel.js";
import { showPairings } from "../admin/pairings-panel.js";
import { showUsers } from "../admin/users-panel.js";

export const title = "Program console";
export const requiresAuth = true;

const SECTIONS = [
  { key: null, href: "#/admin", label: "Overview", heading: "Program console", show: showOverview,
    lead: "Everyone in the program, its groups and pairings, and what was done." },
  { key: "users", href: "#/admin/users", label: "People", heading: "People", show: showUsers,
    lead: "Add accounts, change a role, give a new password, disable or enable an account." },
  { key: "groups", href: "#/admin/groups", label: "Groups", heading: "Groups", show: showGroups,
    lead: "Create groups, enrol members, appoint facilitators, change settings, archive." },
  { key: "pairings", href: "#/admin/pairings", label: "Pairings", heading: "Mentor pairings", show: showPairings,
    lead: "Pair a mentor with a participant, or end a pairing." },
  { key: "audit", href: "#/admin/audit", label: "Audit log", heading: "Audit log", show: showAudit,
    lead: "Who did what, and when. Message and check-in text is never here." },
];

export async function render(root, { signal, params = {}, me = null, homeOf = null }) {
  if (me && me.role !== "admin") {
    // Someone else who followed an old link: say so plainly, with the way to their own home.
    const heading = h("h2", { id: "admin-title", tabindex: "-1" }, "Program console");
    root.replaceChildren(h("section", { class: "stack", "aria-labelledby": "admin-title" }, heading,
      h("p", { class: "card calm", id: "admin-not-yours" }, "The program console is for administrators."),
      h("p", {}, h("a", { href: homeOf ? homeOf(me) : "#/groups" }, "Go to your home page"))));
    heading.focus();
    return;
  }
  const section = SECTIONS.find((s) => s.key === (params.section || null)) || SECTIONS[0];
  if (section.key) setPageTitle(`${section.heading} · Program console · Haven`);

  const heading = h("h2", { id: "admin-title", tabindex: "-1" }, section.heading);
  const live = h("p", { class: "visually-hidden", id: "admin-announce", "aria-live": "polite" });
  let pending = null;
  const announce = (text) => {
    // Emptied first and set a moment later, so the same sentence twice is still read twice.
    live.textContent = "";
    clearTimeout(pending);
    pending = setTimeout(() => { live.textContent = text; }, 50);
  };
  const nav = h("nav", { class: "admin-nav", id: "admin-nav", "aria-label": "Program console" },
    h("ul", {}, SECTIONS.map((s) => h("li", {}, h("a", { href: s.href,
      "aria-current": s === section ? "page" : null }, s.label)))));
  const body = h("div", { class: "admin-body", id: "admin-body" });

  root.classList.add("view-wide");
  signal.addEventListener("abort", () => {
    root.classList.remove("view-wide");
    clearTimeout(pending);
  }, { once: true });
  root.replaceChildren(h("div", { class: "stack admin-console" }, nav,
    h("section", { class: "stack", "aria-labelledby": "admin-title" },
      h("div", { class: "stack-tight" }, heading, h("p", { class: "muted" }, section.lead)),
      live, body)));
  heading.focus();

  try {
    await section.show(body, { signal, announce, me });
  } catch (err) {
    if (err?.name === "AbortError" || signal.aborted) return;
    body.prepend(h("p", { class: "alert", role: "alert", id: "admin-error" }, err?.message || "Something went wrong."));
  }
}
