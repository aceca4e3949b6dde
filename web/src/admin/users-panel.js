// People in the program console: a page of accounts (GET /api/users, 100 at a time), or, once a filter by name,
// email, role or status is set, the matches among every account; adding an account; and, for one person at a time,
// changing their role, giving them a new password (shown to the administrator once, to pass on) and disabling or
// enabling the account. Every act is asked first in the page, and a refusal shows the server's own sentence.
import { h, setAlert } from "../dom.js";
import { createUser, getAllUsers, getUsers, updateUser } from "./api.js";
import { alertBox, createAct, dataTable, field, flagField, passwordField, select, shortDate, usernameFor }
  from "./form-parts.js";
import { parseServerTime } from "./audit.js";
import { MAX_PASSWORD, MIN_PASSWORD } from "./bounds.js";
import { ROLES, accountsView, createQuestion, disableQuestion, isFiltering, nameOf, newUserBody, passwordBody,
  passwordQuestion, roleChangeBody, roleChangeQuestion, roleLabel, roleWithArticle, suggestPassword } from "./users.js";

const PAGE = 100;
const ROLE_OPTIONS = ROLES.map((r) => [r, roleLabel(r)]);
const PASSWORD_HINT = `${MIN_PASSWORD} to ${MAX_PASSWORD} characters. Give it to the person yourself.`;
const randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

export async function showUsers(host, { signal, announce, me }) {
  let offset = 0;
  let page = [];
  let more = false;
  let openId = null;
  let everyone = null; // every account, read when a filter is first set (null until then, or after a change)
  let readingEveryone = null; // the promise of that read
  let everyoneFailed = false; // the read failed: tried again when the filter changes, not in a loop

  // ---- the list -----------------------------------------------------------------------------------------------
  const listError = alertBox("users-error");
  const text = h("input", { type: "search", id: "users-filter-text", name: "users-filter-text", autocomplete: "off" });
  const role = select("users-filter-role", [["", "Every role"], ...ROLE_OPTIONS]);
  const status = select("users-filter-status", [["", "Any status"], ["active", "Active"],
    ["disabled", "Disabled"]]);
  const count = h("p", { class: "muted", id: "users-count", role: "status" });
  const tableSlot = h("div", { id: "users-table-slot" });
  const prev = h("button", { type: "button", class: "button button-small button-quiet", id: "users-prev" },
    "Previous page");
  const next = h("button", { type: "button", class: "button button-small button-quiet", id: "users-next" }, "Next page");
  const pager = h("div", { class: "row", id: "users-pager" }, prev, next);
  const manage = h("section", { class: "panel stack", id: "user-manage", "aria-labelledby": "user-manage-title",
    hidden: true });
  const list = h("section", { class: "panel stack", "aria-labelledby": "people-title" },
    h("h3", { id: "people-title", tabindex: "-1" }, "Accounts"),
    h("div", { class: "admin-filters" },
      field("Find by name or email", text),
      field("Role", role),
      field("Status", status)),
    listError, count, tableSlot, pager);

  const filter = () => ({ text: text.value, role: role.value, status: status.value });
  for (const control of [text, role, status]) {
    control.addEventListener("input", () => {
      everyoneFailed = false;
      drawTable();
    });
  }
  prev.addEventListener("click", () => turn(-PAGE));
  next.addEventListener("click", () => turn(PAGE));

  // Every account, for a search: read once, then kept up to date by this page's own changes.
  async function readEveryone() {
    if (readingEveryone) return readingEveryone;
    const reading = getAllUsers(signal).then((users) => {
      if (readingEveryone === reading) everyone = users;
    }).catch((err) => {
      if (readingEveryone === reading) everyoneFailed = true;
      if (err.name !== "AbortError") setAlert(listError, err.message);
    }).finally(() => {
      if (readingEveryone === reading) readingEveryone = null;
      if (!signal.aborted) drawTable();
    });
    readingEveryone = reading;
    return reading;
  }

  function drawTable() {
    const view = accountsView({ page, everyone, filter: filter(), offset, more });
    if (view.needEveryone && !readingEveryone && !everyone && !everyoneFailed) readEveryone();
    const shown = view.rows;
    count.textContent = view.count;
    prev.disabled = offset === 0;
    next.disabled = !more;
    pager.hidden = !view.pager;
    if (!shown.length) {
      tableSlot.replaceChildren(h("p", { class: "muted", id: "users-none" },
        !isFiltering(filter()) ? "No accounts yet."
          : view.needEveryone ? "No account on this page matches." : "No account matches."));
      return;
    }
    tableSlot.replaceChildren(dataTable({
      id: "users-table",
      caption: view.caption,
      columns: ["Name", "Email", "Role", "Status", "Added", "Actions"],
      rows: shown.map((u) => ({
        attrs: { "data-user-id": u.id, class: u.disabled ? "is-disabled" : null },
        cells: [
          u.display_name,
          u.email,
          roleLabel(u.role),
          u.disabled ? h("span", { class: "flag" }, "Disabled") : "Active",
          shortDate(parseServerTime(u.created_at)),
          h("button", { type: "button", class: "button button-small button-quiet manage-user",
            "aria-label": `Manage ${nameOf(u)}`, "aria-controls": "user-manage",
            "aria-expanded": String(openId === u.id), onclick: () => openManage(u.id) }, "Manage"),
        ],
      })),
    }));
  }

  // Reads the page from `at`; only once it came does the list move there (a failed turn stays where it was).
  async function load(at = offset) {
    setAlert(listError, "");
    try {
      const data = await getUsers(PAGE + 1, at, signal);
      const users = Array.isArray(data?.users) ? data.users : [];
      more = users.length > PAGE;
      page = users.slice(0, PAGE);
      offset = at;
    } catch (err) {
      if (err.name === "AbortError") return;
      setAlert(listError, err.message);
    }
    drawTable();
  }

  async function turn(delta) {
    closeManage(false);
    await load(Math.max(0, offset + delta));
    list.querySelector("#people-title").focus();
  }

  // ---- one person ---------------------------------------------------------------------------------------------
  function manageButton(id) {
    return tableSlot.querySelector(`tr[data-user-id="${CSS.escape(id)}"] .manage-user`);
  }

  function closeManage(returnFocus = true) {
    const id = openId;
    openId = null;
    manage.hidden = true;
    manage.replaceChildren();
    drawTable();
    if (returnFocus && id) manageButton(id)?.focus();
  }

  function replaceUser(user) {
    page = page.map((u) => (u.id === user.id ? user : u));
    if (everyone) everyone = everyone.map((u) => (u.id === user.id ? user : u));
    drawTable();
  }

  function openManage(id, { password = null } = {}) {
    const user = page.find((u) => u.id === id) || everyone?.find((u) => u.id === id);
    if (!user) return;
    openId = id;
    const self = me && me.id === user.id;
    const title = h("h3", { id: "user-manage-title", tabindex: "-1" }, nameOf(user));
    const parts = [title,
      h("p", { class: "muted", id: "user-manage-summary" }, `${user.email} · ${roleLabel(user.role)} · `
        + (user.disabled ? "disabled" : "active"))];

    if (password) {
      const hide = h("button", { type: "button", class: "button button-small button-quiet", id: "user-password-hide" },
        "I have noted it: hide it");
      const box = h("div", { class: "notice password-shown", id: "user-password-shown", tabindex: "-1" },
        h("p", { class: "notice-text" }, `New password for ${nameOf(user)}: `, h("code", { id: "user-password-value" },
          password)),
        h("p", { class: "muted" }, "Haven shows it only now. Pass it to them in person or by phone."),
        hide);
      hide.addEventListener("click", () => {
        box.remove();
        title.focus();
      });
      parts.push(box);
    }

    if (self) {
      parts.push(h("p", { class: "card calm", id: "user-manage-self" },
        "This is your own account. Administrators cannot give up their own role or disable themselves; another "
        + "administrator can."), passwordForm(user, true));
    } else {
      parts.push(roleForm(user), passwordForm(user, false), accessForm(user));
    }
    const close = h("button", { type: "button", class: "button button-quiet", id: "user-manage-close" },
      "Close");
    close.addEventListener("click", () => closeManage());
    parts.push(h("div", { class: "row" }, close));
    manage.replaceChildren(...parts);
    manage.hidden = false;
    drawTable();
    (password ? manage.querySelector("#user-password-shown") : title).focus();
  }

  // Each act has its alert beside it, so a refusal is read where the act was asked for.
  function roleForm(user) {
    const error = alertBox("user-role-error");
    const choice = select("user-role", ROLE_OPTIONS, user.role);
    const save = h("button", { type: "submit", class: "button button-small", id: "user-role-save" }, "Change role");
    const act = createAct({
      id: "user-role-confirm", alert: error,
      act: () => updateUser(user.id, { role: choice.value }),
      done: (updated) => {
        replaceUser(updated);
        openManage(updated.id);
        announce(`${nameOf(updated)} is now ${roleWithArticle(updated.role)}. They rejoin with the new role.`);
      },
    });
    const form = h("form", { class: "stack-tight admin-act", id: "user-role-form", novalidate: true },
      h("h4", {}, "Role"),
      field("New role", choice, "Changing the role ends any page or call they have open; they rejoin with the new "
        + "role. Group memberships and pairings stay."),
      error, h("div", { class: "row" }, save), act.el);
    choice.addEventListener("change", () => act.hide());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const built = roleChangeBody(user, choice.value);
      if (built.error) {
        setAlert(error, built.error);
        return choice.focus();
      }
      act.ask(roleChangeQuestion(user, choice.value), `Yes, make them ${roleWithArticle(choice.value)}`, choice);
    });
    return form;
  }

  function passwordForm(user, self) {
    const error = alertBox("user-password-error");
    const pw = passwordField("user-password", "New password", PASSWORD_HINT,
      { autocomplete: self ? "new-password" : "off" });
    const suggest = h("button", { type: "button", class: "button button-small button-quiet", id: "user-password-suggest" },
      "Suggest a password");
    suggest.addEventListener("click", () => {
      pw.input.value = suggestPassword(randomBytes);
      pw.reveal(true);
      pw.input.focus();
    });
    const save = h("button", { type: "submit", class: "button button-small", id: "user-password-save" },
      "Set new password");
    const act = createAct({
      id: "user-password-confirm", alert: error,
      act: (sent) => updateUser(user.id, { password: sent }),
      done: (updated, sent) => {
        replaceUser(updated);
        openManage(updated.id, { password: sent });
        announce(`${nameOf(updated)} has a new password. It is shown once on this page.`);
      },
    });
    const form = h("form", { class: "stack-tight admin-act", id: "user-password-form", novalidate: true },
      h("h4", {}, "Password"), usernameFor(user.email),
      self ? h("p", { class: "muted" }, "A new password for yourself signs you out here too.") : null,
      pw.el, error, h("div", { class: "row" }, suggest, save), act.el);
    pw.input.addEventListener("input", () => act.hide());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const built = passwordBody(pw.input.value);
      if (built.error) {
        setAlert(error, built.error);
        return pw.input.focus();
      }
      act.ask(passwordQuestion(user), "Yes, set this password", pw.input, built.body.password);
    });
    return form;
  }

  function accessForm(user) {
    const error = alertBox("user-access-error");
    const toggle = h("button", { type: "button", id: "user-disable",
      class: user.disabled ? "button button-small" : "button button-small button-danger" },
    user.disabled ? "Enable account" : "Disable account");
    const act = createAct({
      id: "user-disable-confirm", alert: error,
      act: () => updateUser(user.id, { disabled: !user.disabled }),
      done: (updated) => {
        replaceUser(updated);
        openManage(updated.id);
        announce(updated.disabled ? `${nameOf(updated)}'s account is disabled.` : `${nameOf(updated)}'s account is `
          + "enabled again.");
      },
    });
    toggle.addEventListener("click", () => act.ask(disableQuestion(user),
      user.disabled ? "Yes, enable it" : "Yes, disable it", toggle));
    return h("div", { class: "stack-tight admin-act admin-apart", id: "user-access" },
      h("h4", {}, "Access"),
      h("p", { class: "muted" }, user.disabled ? "This account is disabled: it cannot sign in."
        : "Disabling signs the person out everywhere and stops their sign-ins."),
      error, h("div", { class: "row" }, toggle), act.el);
  }

  // ---- a new account ------------------------------------------------------------------------------------------
  const createError = alertBox("new-user-error");
  const email = h("input", { type: "email", id: "new-user-email", name: "new-user-email", autocomplete: "off",
    spellcheck: "false", autocapitalize: "off" });
  const name = h("input", { type: "text", id: "new-user-name", name: "new-user-name", autocomplete: "off" });
  const newRole = select("new-user-role", ROLE_OPTIONS, "participant");
  const newPassword = passwordField("new-user-password", "Password", PASSWORD_HINT, { autocomplete: "off" });
  const suggestNew = h("button", { type: "button", class: "button button-small button-quiet",
    id: "new-user-suggest" }, "Suggest a password");
  suggestNew.addEventListener("click", () => {
    newPassword.input.value = suggestPassword(randomBytes);
    newPassword.reveal(true);
    newPassword.input.focus();
  });
  const create = createAct({
    id: "new-user-confirm", alert: createError,
    act: (body) => createUser(body),
    done: async (user) => {
      announce(`${nameOf(user)} was added as ${roleWithArticle(user.role)}.`);
      form.reset();
      newPassword.reveal(false);
      email.focus();
      everyone = null; // read again for the next search, with the new person
      readingEveryone = null;
      everyoneFailed = false;
      await load();
    },
  });
  const form = h("form", { class: "stack", id: "new-user-form", novalidate: true },
    field("Email", email, "They sign in with it."),
    field("Display name", name, "How others see them in groups and calls."),
    field("Role", newRole),
    newPassword.el,
    h("div", { class: "row" }, suggestNew),
    createError,
    h("div", { class: "row" }, h("button", { type: "submit", class: "button", id: "new-user-create" }, "Add person")),
    create.el);
  const controls = { email, display_name: name, role: newRole, password: newPassword.input };
  for (const control of Object.values(controls)) control.addEventListener("input", () => create.hide());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setAlert(createError, "");
    const built = newUserBody({ email: email.value, display_name: name.value, role: newRole.value,
      password: newPassword.input.value });
    if (built.error) {
      setAlert(createError, built.error);
      return flagField(form, controls[built.field]);
    }
    flagField(form, null);
    create.ask(createQuestion(built.body), "Yes, add them", email, built.body);
  });
  const add = h("section", { class: "panel stack", "aria-labelledby": "new-user-title" },
    h("h3", { id: "new-user-title" }, "Add a person"), form);

  host.replaceChildren(h("div", { class: "admin-columns" },
    h("div", { class: "stack" }, list, manage), add));
  await load();
}
