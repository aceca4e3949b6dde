import { login } from "../api.js";
import { setToken } from "../session.js";
import { h, setAlert } from "../dom.js";

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
    autocomplete: "current-password", required: true,
  });
  const submit = h("button", { id: "signin", type: "submit", class: "button" }, "Sign in");
  const error = h("p", { id: "signin-error", class: "alert", role: "alert", hidden: true });

  const form = h("form", { class: "card stack", novalidate: true, "aria-labelledby": "signin-title" },
    h("h2", { id: "signin-title" }, "Sign in"),
    notice && h("p", { id: "signin-notice", class: "notice-text", role: "status" }, notice),
    h("p", { class: "muted" }, "Welcome. Sign in to see your groups and calls."),
    h("div", { class: "field" }, h("label", { for: "email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    error,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setAlert(error, "");
    if (!email.value.trim() || !password.value) {
      setAlert(error, "Please enter your email and password.");
      (email.value.trim() ? password : email).focus();
      return;
    }
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

  root.replaceChildren(form);
  email.focus();
}
