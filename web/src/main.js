// Haven web client: hash router plus session header.
// Each view is a module exporting { title, requiresAuth, render(root, ctx) }.
import { getMe, setUnauthorizedHandler } from "./api.js";
import { clearToken, getToken } from "./session.js";
import * as signin from "./views/signin.js";
import * as groups from "./views/groups.js";
import * as room from "./views/room.js";
import * as contacts from "./views/contacts.js";
import * as sessionPage from "./views/session-page.js";
import * as messages from "./views/messages.js";
import * as admin from "./views/admin.js";
import { attentionOf, onAttention, setPageTitle } from "./attention.js";
import { createCallLine } from "./calls/line.js";
import { mountCallPanel } from "./calls/panel.js";
import { isUp } from "./calls/state.js";
import { setSessionHandlers } from "./live-session.js";
import { createMessagesStore } from "./messages/store.js";
import { linkLabel, navLinks } from "./nav.js";

const routes = {
  "#/signin": signin,
  "#/groups": groups,
  "#/contacts": contacts,
  "#/messages": messages,
  "#/admin": admin,
};

// Routes with a parameter: "#/room/<group id>" (group ids are UUIDs); "#/room/<group id>/checkin" asks for a
// check-in before joining; "#/group/<group id>/sessions[/<session id>]" is the facilitator's session page.
const UUID = "([0-9a-fA-F-]{36})";
const paramRoutes = [
  { pattern: new RegExp(`^#/room/${UUID}$`), page: room, params: (m) => ({ roomId: m[1].toLowerCase() }) },
  { pattern: new RegExp(`^#/room/${UUID}/checkin$`), page: room,
    params: (m) => ({ roomId: m[1].toLowerCase(), checkinFirst: true }) },
  // "#/messages/<user id>": the direct conversation with that person.
  { pattern: new RegExp(`^#/messages/${UUID}$`), page: messages, params: (m) => ({ userId: m[1].toLowerCase() }) },
  // "#/admin/<section>": users, groups, pairings or audit.
  { pattern: /^#\/admin\/(users|groups|pairings|audit)$/, page: admin, params: (m) => ({ section: m[1] }) },
  { pattern: new RegExp(`^#/group/${UUID}/sessions(?:/${UUID})?$`), page: sessionPage,
    params: (m) => ({ groupId: m[1].toLowerCase(), sessionId: m[2] ? m[2].toLowerCase() : null }) },
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
const nav = document.getElementById("nav");
const sessionNotice = document.getElementById("session-notice");
const mainLandmark = document.getElementById("main");
const announcer = document.getElementById("app-announcer");

// The call line lives as long as the sign-in, across views: a call rings and goes on whatever page is open.
const line = createCallLine();
mountCallPanel(line, { host: document.getElementById("call-area"), view, hideDuringCall: [nav] });
// For the browser tests, like window.havenPeers in a group room: the call's peer connection and its ICE restart.
window.havenCall = {
  get pc() {
    return line.peerConnection;
  },
  restartIce: () => line.restartIce(),
};

// Unread messages, counted live across the app while someone is signed in (messages/store.js).
const unread = createMessagesStore({ line });

let me = null;
let current = null; // AbortController of the view on screen
let signInNotice = null; // why the session ended, for the sign-in page to say once

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function setMe(user) {
  me = user;
  meName.textContent = user ? user.display_name || user.email || "" : "";
  sessionBox.hidden = !user;
  if (user) {
    line.start(user);
    unread.start(user);
  } else {
    line.stop();
    unread.stop();
  }
  drawNav();
}

// -- the main navigation ------------------------------------------------------------------------------
// Links per role (nav.js), each with its badge: unread direct messages on "Messages", missed calls on the calls link
// (counted by the calls part, attention.js "calls"). Links are kept and updated in place, so a badge changing never
// takes focus away from the link someone is on.
const badgeCount = { messages: () => unread.directUnread, calls: () => attentionOf("calls") };
let drawnKeys = "";

function drawNav() {
  const rooms = Object.values(unread.entries);
  const links = navLinks(me, {
    paired: line.contactsLoaded && line.contacts.length > 0,
    inGroups: rooms.some((e) => e.kind === "room"),
    hasDirect: rooms.some((e) => e.kind === "dm"),
    missedCalls: attentionOf("calls"),
  });
  const keys = links.map((l) => `${l.key}:${l.href}:${l.text}`).join("|");
  if (keys !== drawnKeys) {
    const focused = nav.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    drawnKeys = keys;
    nav.replaceChildren(...links.map((l) => {
      const a = document.createElement("a");
      a.href = l.href;
      a.dataset.key = l.key;
      a.append(Object.assign(document.createElement("span"), { className: "nav-text", textContent: l.text }));
      return a;
    }));
    if (focused) nav.querySelector(`a[data-key="${focused}"]`)?.focus();
    markCurrentLink(location.hash);
  }
  for (const [i, a] of [...nav.querySelectorAll("a")].entries()) {
    const link = links[i];
    const n = badgeCount[link.key]?.() || 0;
    const label = linkLabel(link, n);
    if (n > 0) a.setAttribute("aria-label", label);
    else a.removeAttribute("aria-label");
    let badge = a.querySelector(".nav-badge");
    if (n > 0) {
      // The badge's number is part of the link's name ("Messages, 2 unread"); a space keeps the words apart.
      if (!badge) a.append(" ");
      badge ??= a.appendChild(Object.assign(document.createElement("span"), { className: "nav-badge" }));
      badge.setAttribute("aria-hidden", "true");
      badge.textContent = n > 99 ? "99+" : String(n);
    } else if (badge) {
      badge.previousSibling?.remove(); // its space
      badge.remove();
    }
  }
}

line.subscribe(drawNav);
unread.subscribe(drawNav);
onAttention((source) => {
  if (source === "calls") drawNav();
});

// A direct message that waits (not the conversation on screen): said once, politely, wherever the person is.
unread.onArrival((message) => {
  announcer.textContent = "";
  const who = message.display_name || "someone";
  setTimeout(() => {
    announcer.textContent = `New message from ${who}.`;
  }, 50);
});

// The skip link moves focus to the page's main part without touching the address (a hash route).
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  mainLandmark.focus();
});

// Mentors have calls rather than groups, so their home is the calls page; administrators run the program console.
const homeOf = (user) => (user?.role === "mentor" ? "#/contacts" : user?.role === "admin" ? "#/admin" : "#/groups");
const titleOf = (page) => (typeof page.title === "function" ? page.title(me) : page.title);

// The link of the page on screen is the current page; a page under it (a conversation under Messages) marks it too.
function markCurrentLink(hash) {
  for (const link of nav.querySelectorAll("a")) {
    const href = link.getAttribute("href");
    if (href === hash) link.setAttribute("aria-current", "page");
    else if (hash.startsWith(`${href}/`)) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

function showSessionNotice(text) {
  sessionNotice.textContent = text || "";
  sessionNotice.hidden = !text;
}

function signOut(message = null) {
  clearToken();
  showSessionNotice(null);
  signInNotice = message;
  setMe(null);
  navigate("#/signin");
}

// The account's role changed: its connections were closed and connect again by themselves with the new role.
// The person is read again, and the page on screen drawn again for them (a room stays: it rejoins by itself).
async function reloadMe() {
  try {
    setMe(await getMe());
  } catch {
    return; // a 401 has signed us out; anything else leaves the page as it is
  }
  if (!match(location.hash).params.roomId) route();
}

setUnauthorizedHandler(() => signOut());
signoutButton.addEventListener("click", () => signOut());
setSessionHandlers({
  onEnded: (ending) => (ending.action === "reconnect" ? reloadMe() : signOut(ending.message)),
  onNotice: showSessionNotice,
});

let routing = 0; // each route() call's number: one that waited and is no longer the latest stops

async function route() {
  const turn = ++routing;
  const signedIn = Boolean(getToken());
  const { page, params } = match(location.hash);
  if (page?.requiresAuth && !signedIn) return navigate("#/signin");
  // Home depends on the role: after a reload the person is not known yet, so ask before choosing it.
  if (signedIn && !me && (!page || page === signin)) {
    try {
      setMe(await getMe());
    } catch (err) {
      if (err.status === 401) return; // already signed out, on the way to the sign-in page
    }
    if (turn !== routing) return;
  }
  if (!page) return navigate(signedIn ? homeOf(me) : "#/signin");
  if (page === signin && signedIn) return navigate(homeOf(me));
  if (page === room && isUp(line.state)) return navigate("#/contacts"); // one call or one room at a time
  line.setPaused(page === room);

  current?.abort();
  current = new AbortController();
  const { signal } = current;
  setPageTitle(`${titleOf(page)} · Haven`);
  markCurrentLink(location.hash);

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
  setPageTitle(`${titleOf(page)} · Haven`); // some pages are named for the person (a participant's "Home")

  const notice = page === signin ? signInNotice : null;
  signInNotice = null;
  await page.render(view, { navigate, setMe, signal, params, line, homeOf, notice, me, messages: unread });
  // Views move focus themselves (to a heading or first field) so screen readers
  // announce the change; if one didn't, keep focus from being lost on <body>.
  if (!signal.aborted && !view.contains(document.activeElement)) view.focus();
}

window.addEventListener("hashchange", route);
route();
