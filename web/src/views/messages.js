// Messages: every direct conversation the person may have (their mentor or mentees, a facilitator's group members,
// and anyone they wrote with before), unread counts on each, and the conversation itself ("#/messages/<user id>").
// On a wide screen the list stays beside the open conversation; on a phone the conversation takes the page.
import { getGroupMembers, getGroups } from "../api.js";
import { setPageTitle } from "../attention.js";
import { h } from "../dom.js";
import { conversationLabel, conversationList } from "../messages/list.js";
import { createThread } from "../messages/thread.js";

export const title = "Messages";
export const requiresAuth = true;

const WAIT_FOR_CONTACTS_MS = 4000;

const EMPTY_TEXT = {
  mentor: "No conversations yet. When an administrator pairs you with a mentee, you can write to them here.",
  facilitator: "No conversations yet. The members of the groups you facilitate appear here.",
  participant: "No conversations yet. When an administrator pairs you with a mentor, or a facilitator writes to "
    + "you, your conversations appear here.",
};

// For a facilitator: the people of the groups they facilitate, with whom they may write (their rosters).
async function groupMembers(me, signal) {
  if (me?.role !== "facilitator") return [];
  try {
    const { groups } = await getGroups(signal);
    const mine = (Array.isArray(groups) ? groups : []).filter((g) => g.my_role === "facilitator");
    const rosters = await Promise.all(mine.map((g) => getGroupMembers(g.id, signal)
      .then((data) => (Array.isArray(data?.members) ? data.members : []).map((m) => ({ ...m, group_name: g.name })))
      .catch(() => [])));
    return rosters.flat();
  } catch {
    return []; // the conversations already written still show
  }
}

// Resolves once the call line has its contacts (or after a while: the page shows what it has).
function contactsReady(line, signal) {
  if (line.contactsLoaded || line.contactsError) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      off();
      clearTimeout(timer);
      resolve();
    };
    const off = line.subscribe(() => {
      if (line.contactsLoaded || line.contactsError) done();
    });
    const timer = setTimeout(done, WAIT_FOR_CONTACTS_MS);
    signal.addEventListener("abort", done, { once: true });
  });
}

function unreadBadge(n) {
  return n > 0 ? h("span", { class: "unread-badge", "aria-hidden": "true" }, n > 99 ? "99+" : String(n)) : null;
}

export async function render(root, { signal, params, line, me, messages: store }) {
  const openId = params.userId || null;
  root.classList.add("view-wide");
  signal.addEventListener("abort", () => root.classList.remove("view-wide"), { once: true });

  const heading = h("h2", { id: "messages-title", tabindex: "-1" }, "Messages");
  const loading = h("p", { id: "conversations-loading", class: "muted", role: "status" }, "Loading your conversations…");
  const error = h("p", { id: "conversations-error", class: "alert", role: "alert", hidden: true });
  const empty = h("p", { id: "conversations-empty", class: "card calm", hidden: true },
    EMPTY_TEXT[me?.role] || "No conversations yet.");
  const list = h("ul", { id: "conversations", class: "conversation-list", "aria-labelledby": "conversations-title" });
  const listPane = h("section", { class: "conversations-pane stack", "aria-labelledby": "conversations-title" },
    h("h3", { id: "conversations-title", class: openId ? "visually-hidden-narrow" : "" }, "Conversations"),
    loading, error, empty, list);
  const threadPane = h("div", { class: "thread-pane", id: "thread-pane" });
  const layout = h("div", { class: `messages-layout${openId ? " has-thread" : ""}` }, listPane, openId && threadPane);
  root.replaceChildren(h("div", { class: "stack" }, heading, layout));
  heading.focus();

  let members = [];
  let ready = false;
  let thread = null;

  function items() {
    return conversationList({
      contacts: line.contactsLoaded ? line.contacts : [],
      members,
      entries: store.entries,
      selfId: me?.id,
    });
  }

  function draw() {
    if (signal.aborted) return;
    const all = items();
    loading.hidden = ready;
    error.textContent = ready && store.error && !store.loaded ? store.error : "";
    error.hidden = !error.textContent;
    empty.hidden = !ready || all.length > 0;
    const focusedId = list.contains(document.activeElement) ? document.activeElement.dataset.userId : null;
    list.replaceChildren(...all.map((item) => h("li", {
      class: `conversation${item.unread > 0 ? " has-unread" : ""}`, "data-user-id": item.userId },
    h("a", { href: `#/messages/${encodeURIComponent(item.userId)}`, "data-user-id": item.userId,
      "aria-label": conversationLabel(item), "aria-current": item.userId === openId ? "page" : null },
    // Spaces between the parts: what shows reads as the start of the link's name (its aria-label).
    h("span", { class: "conversation-main" },
      h("span", { class: "conversation-name" }, item.name),
      item.detail && " ",
      item.detail && h("span", { class: "conversation-detail muted" }, item.detail)),
    item.unread > 0 && " ",
    unreadBadge(item.unread)))));
    if (focusedId) list.querySelector(`a[data-user-id="${focusedId}"]`)?.focus();
  }

  const offStore = store.subscribe(draw);
  const offLine = line.subscribe(() => {
    if (line.contactsLoaded) draw();
  });
  signal.addEventListener("abort", () => {
    offStore();
    offLine();
    thread?.destroy();
  }, { once: true });

  draw();
  members = await Promise.all([groupMembers(me, signal), store.loaded ? null : store.refresh(),
    contactsReady(line, signal)]).then(([found]) => found);
  if (signal.aborted) return;
  ready = true;
  draw();

  if (!openId) return;
  const item = items().find((i) => i.userId === openId);
  if (!item) {
    threadPane.replaceChildren(h("div", { class: "card stack", id: "thread-missing" },
      h("h3", { tabindex: "-1" }, "No such conversation"),
      h("p", {}, "You have no conversation with this person. Choose one of your conversations."),
      h("a", { href: "#/messages", class: "button button-quiet" }, "All conversations")));
    threadPane.querySelector("h3").focus();
    return;
  }
  thread = createThread({ line, store, me, other: { userId: openId, name: item.name, detail: item.detail } });
  threadPane.replaceChildren(thread.el);
  thread.shown();
  setPageTitle(`${item.name} · Messages · Haven`);
  thread.heading.focus();
}
