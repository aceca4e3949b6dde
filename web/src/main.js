// Haven web client: hash router plus session header.
// Each view is a module exporting { title, requiresAuth, render(root, ctx) }.
import { getMe, setUnauthorizedHandler } from "./api.js";
import { clearToken, getToken } from "./session.js";
import * as signin from "./views/signin.js";
import * as groups from "./views/groups.js";
import * as room from "./views/room.js";

const routes = {
  "#/signin": signin,
  "#/groups": groups,
};

// Routes with a parameter: "#/room/<group id>" (group ids are UUIDs).
const paramRoutes = [
  { pattern: /^#\/room\/([0-9a-fA-F-]{36})$/, page: room, params: (m) => ({ roomId: m[1].toLowerCase() }) },
];

function match(hash) {
  if (Object.prototype.hasOwnProperty.call(routes, hash)) return { page: routes[hash], params: {} };
  for (const route of paramRoutes) {
    const m = route.pattern.exec(hash);
    if (m) return { page: route.page, params: route.params(m) };
  }
  return { page: null, params: {} };
}

const view = document.getElementById("view");
const sessionBox = document.getElementById("session");
const meName = document.getElementById("me-name");
const signoutButton = document.getElementById("signout");

let me = null;
let current = null; // AbortController of the view on screen

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function setMe(user) {
  me = user;
  meName.textContent = user ? user.display_name || user.email || "" : "";
  sessionBox.hidden = !user;
}

function signOut() {
  clearToken();
  setMe(null);
  navigate("#/signin");
}

setUnauthorizedHandler(signOut);
signoutButton.addEventListener("click", signOut);

async function route() {
  const signedIn = Boolean(getToken());
  const defaultHash = signedIn ? "#/groups" : "#/signin";
  const { page, params } = match(location.hash);
  if (!page) return navigate(defaultHash);
  if (page.requiresAuth && !signedIn) return navigate("#/signin");
  if (page === signin && signedIn) return navigate("#/groups");

  current?.abort();
  current = new AbortController();
  const { signal } = current;
  document.title = `${page.title} · Haven`;

  if (page.requiresAuth && !me) {
    try {
      setMe(await getMe(signal));
    } catch (err) {
      if (err.name === "AbortError" || err.status === 401) return; // 401 already signed us out
      // /api/me failing for other reasons shouldn't block the view; show what we can.
    }
    if (signal.aborted) return;
  }
  if (!page.requiresAuth) setMe(null);

  await page.render(view, { navigate, setMe, signal, params });
  // Views move focus themselves (to a heading or first field) so screen readers
  // announce the change; if one didn't, keep focus from being lost on <body>.
  if (!signal.aborted && !view.contains(document.activeElement)) view.focus();
}

window.addEventListener("hashchange", route);
route();
