import { login } from "../api.js";
import { setToken } from "../session.js";
import { h, setAlert } from "../dom.js";
import { createHelpBox } from "../help.js";

export const title = "Sign in";
export const requiresAuth = false;

// notice: why the last session ended (it was signed out, expired, or the account was disabled), if it did.
export function render(root, { navigate, setMe, homeOf, notice = null }) {
  const email = h("input", {
    id: "email", name: "email", type: "email", autocomplete: "username",
    required: true, inputmode: "email", spellcheck: "false",
  });
  const password = h("input", {
    id: "password", name: "password", type: "password",
    autocomplete: "current-password", required: true, spellcheck: "false", autocapitalize: "off",
  });
  // The password shown while typing it, for those who want to check it (the name stays; the pressed state says it).
  const reveal = h("button", { type: "button", id: "show-password", class: "button button-quiet button-small reveal",
    "aria-pressed": "false", "aria-controls": "password" }, "Show password");
  reveal.addEventListener("click", () => {
    const show = password.type === "password";
    password.type = show ? "text" : "password";
    reveal.setAttribute("aria-pressed", String(show));
  });
  const submit = h("button", { id: "signin", type: "submit", class: "button" }, "Sign in");
  const error = h("p", { id: "signin-error", class: "alert", role: "alert", hidden: true });

  // Haven sends no email: an administrator of the program sets a new password, and the person is told it.
  const forgot = h("details", { id: "forgot-password", class: "forgot" },
    h("summary", {}, "Forgot your password?"),
    h("div", { class: "stack-tight" },
      h("p", {}, "An administrator of your program can set a new password for you. Haven does not send "
        + "reset emails."),
      h("p", {}, "Ask your facilitator or your mentor, or contact your program, and they will pass your request "
        + "to an administrator. You will be given a new password to sign in with.")));

  const form = h("form", { class: "card stack", novalidate: true, "aria-labelledby": "signin-title" },
    h("h2", { id: "signin-title" }, "Sign in"),
    notice && h("p", { id: "signin-notice", class: "notice-text", role: "status" }, notice),
    h("p", { class: "muted" }, "Welcome. Sign in to see your groups, messages and calls."),
    h("div", { class: "field" }, h("label", { for: "email" }, "Email"), email),
    h("div", { class: "field" },
      h("div", { class: "field-head" }, h("label", { for: "password" }, "Password"), reveal),
      password),
    error,
    submit,
    forgot,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setAlert(error, "");
    if (!email.value.trim() || !password.value) {
      setAlert(error, "Please enter your email and password.");
      (email.value.trim() ? password : email).focus();
      return;
    }
    // Hidden again before it is sent, so that a browser offering to save it never keeps it as plain text.
    password.type = "password";
    reveal.setAttribute("aria-pressed", "false");
    submit.disabled = true;
    submit.textContent = "Signing in…";
    form.setAttribute("aria-busy", "true");
    try {
      const { token, expires_at: expiresAt, user } = await login(email.value.trim(), password.value);
      setToken(token, expiresAt);
      setMe(user);
      navigate(homeOf(user));
    } catch (err) {
      setAlert(error, err.message);
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
      form.removeAttribute("aria-busy");
    }
  });

  root.replaceChildren(h("div", { class: "signin-page stack" }, form, createHelpBox()));
  email.focus();
}
