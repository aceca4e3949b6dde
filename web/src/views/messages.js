// Messages: a direct conversation with everyone the person may message now (their mentor or mentees, their group's
// facilitator, a facilitator's group members), as GET /api/conversations lists them (messages/store.js keeps that
// list and its unread counts live), and the conversation itself ("#/messages/<user id>"). Nothing else is read: a
// group's roster is not (reading it is audited), and a conversation whose pairing or shared group ended is not
// listed. On a wide screen the list stays beside the open conversation; on a phone the conversation takes the page.
import { setPageTitle } from "../attention.js";
import { h } from "../dom.js";
import { conversationLabel, conversationList } from "../messages/list.js";
import { createThread } from "../messages/thread.js";

export const title = "Messages";
export const requiresAuth = true;

const EMPTY_TEXT = {
  mentor: "No conversations yet. When an administrator pairs you with a mentee, you can write to them here.",
  facilitator: "No conversations yet. The members of the groups you facilitate appear here.",
  participant: "No conversations yet. When an administrator pairs you with a mentor or adds you to a group, you can "
    + "write to your mentor and your group's facilitator here.",
};

function unreadBadge(n) {
  return n > 0 ? h("span", { class: "unread-badge", "aria-hidden": "true" }, n > 99 ? "99+" : String(n)) : null;
}

export async function render(root, { signal, params, line, me, messages: store }) {
  const openId = params.userId || null;
  root.classList.add("view-wide");
  signal.addEventListener("abort", () => root.classList.remove("view-wide"), { once: true });

  // On a phone the open conversation says who it is with; the page's heading stays for screen readers.
  const heading = h("h2", { id: "messages-title", tabindex: "-1", class: openId ? "visually-hidden-narrow" : null },
    "Messages");
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
  root.replaceChildren(h("div", { class: "stack messages-page" }, heading, layout));
  heading.focus();

  let ready = false;
  let thread = null;
  let named = false; // the open thread knows whom it is with

  const items = () => conversationList({ entries: store.entries, selfId: me?.id });
  const itemOf = (all, userId) => all.find((i) => i.userId === userId) || null;

  function draw() {
    if (signal.aborted) return;
    const all = items();
    loading.hidden = ready;
    error.textContent = ready && store.error && !store.loaded ? store.error : "";
    error.hidden = !error.textContent;
    empty.hidden = !ready || all.length > 0 || !store.loaded;
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
    // A thread opened before the list named its person (the list was late): named now.
    const open = thread && !named ? itemOf(all, openId) : null;
    if (open) {
      named = true;
      thread.rename(open.name, open.detail);
      setPageTitle(`${open.name} · Messages · Haven`);
    }
  }

  const offStore = store.subscribe(draw);
  signal.addEventListener("abort", () => {
    offStore();
    thread?.destroy();
  }, { once: true });

  draw();
  // The list is read again on coming here (a pairing made or ended since); the page waits only for a first one.
  const fresh = store.refresh();
  if (!store.loaded) await fresh;
  if (signal.aborted) return;
  ready = true;
  draw();

  if (!openId) return;
  let item = itemOf(items(), openId);
  if (!item) {
    await fresh; // someone the list did not have yet: the fresh list may
    if (signal.aborted) return;
    item = itemOf(items(), openId);
  }
  // Not in the list: the conversation is opened all the same, and the server says why it is closed (a pairing or
  // shared group that ended).
  named = Boolean(item);
  thread = createThread({ line, store, me, other: { userId: openId, name: item?.name || "", detail: item?.detail } });
  threadPane.replaceChildren(thread.el);
  thread.shown();
  setPageTitle(`${item?.name || "Conversation"} · Messages · Haven`);
  thread.heading.focus();
}
