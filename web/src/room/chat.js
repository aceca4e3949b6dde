// The group room's chat panel: history, live messages, sending (safe to retry), deletion, typing and read marks.
// Everything from the server is shown through text nodes (dom.js); nothing is parsed as HTML.
//
// The messages are kept in a ChatLog (chat-log.js): in `seq` order, without duplicates. Live events are delivered at
// most once, so a gap in the live seqs or a fresh room entry (a reconnect) is caught up from `chat:history`
// (chat-catch-up.js). A send refused as `busy` is sent again by the request itself (socket-request.js): the message
// shows "Sending…" until the last answer.
import { h } from "../dom.js";
import { ChatLog, isMessage } from "./chat-log.js";
import { createCatchUp, LATEST_PAGE } from "./chat-catch-up.js";
import { createConfirmStep } from "./confirm-step.js";

export const MAX_CHARS = 4000;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 3000;
const READ_EVERY_MS = 1000;
const NEAR_BOTTOM_PX = 64;
const SAID_CHARS = 200; // a new message is read out up to this long

// A client id for chat:send (1 to 64 of A-Za-z0-9_.:-). crypto.randomUUID needs a secure context.
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Server timestamps are ISO 8601 in UTC, with microseconds, and without an offset when read back from SQLite.
export function parseSentAt(value) {
  if (typeof value !== "string" || !value) return null;
  let s = value.trim().replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += "Z";
  const date = new Date(s);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(date, now = new Date()) {
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })
    : date.toLocaleString([], { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" });
}

// What the person typed, as it is sent: tabs become spaces (the server refuses control characters other than
// newlines), leading blank lines and trailing spaces go.
export function cleanBody(text) {
  return String(text).replace(/\r\n?/g, "\n").replace(/\t/g, "    ").replace(/^(?:[ \u00a0]*\n)+/, "").trimEnd();
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "Several people are typing…";
}

function errorText(ack, fallback) {
  const message = ack?.error?.message;
  return typeof message === "string" && message.trim() ? message : fallback;
}

function sendError(ack) {
  if (ack?.error?.code === "invalid_request") {
    return "This message could not be sent as written. Please check it for unusual characters and try again.";
  }
  return errorText(ack, "Your message was not sent. Please try again.");
}

// The sentence that reads out a new message from someone else.
export function saidText(name, body, max = SAID_CHARS) {
  const text = String(body);
  return `${name || "Someone"}: ${text.length > max ? `${text.slice(0, max)}…` : text}`;
}

// options: conversation ("room:<id>", until the join names it), request(event, payload) -> Promise<ack>,
// showError(text), clearError(), getSelf() -> {user_id, role}, nameOf(user id) -> display name,
// onCaughtUp(messages): messages new here that the history brought (not the first page), for the unread count.
export function createChat({ conversation: initialConversation, request, showError, clearError, getSelf, nameOf,
  onCaughtUp = () => {} }) {
  // -- the panel --------------------------------------------------------------------------------------
  const heading = h("h3", { id: "chat-title" }, "Chat");
  const earlier = h("button", { type: "button", id: "chat-earlier", class: "button button-small button-quiet",
    hidden: true }, "Show earlier messages");
  const empty = h("p", { id: "chat-empty", class: "muted" }, "No messages yet. You can write to the group here.");
  const loadNote = h("p", { id: "chat-load-note", class: "muted", hidden: true });
  // The list is not a live region: a page of history, a catch-up, one's own message or a deletion is not news.
  // New messages from others are said in their own status line while the chat is shown (the room says "New message
  // from …" while it is not).
  const list = h("ol", { id: "chat-messages", class: "chat-messages", "aria-labelledby": "chat-title" });
  const said = h("p", { id: "chat-said", class: "visually-hidden", role: "status" });
  const scroller = h("div", { class: "chat-scroll", role: "region", "aria-label": "Chat messages", tabindex: "0" },
    earlier, empty, loadNote, list);
  const typing = h("p", { id: "chat-typing", class: "chat-typing muted", role: "status" });
  const hint = h("p", { id: "chat-hint", class: "muted chat-hint" }, "Enter sends. Shift+Enter starts a new line.");
  const input = h("textarea", { id: "chat-input", name: "message", rows: "2", maxlength: String(MAX_CHARS),
    "aria-describedby": "chat-hint", autocomplete: "off", spellcheck: "true" });
  const sendButton = h("button", { type: "submit", id: "chat-send", class: "button" }, "Send");
  const form = h("form", { id: "chat-form", class: "chat-form", novalidate: true },
    h("label", { for: "chat-input" }, "Message to the group"), input, hint,
    h("div", { class: "chat-form-actions" }, sendButton));
  const el = h("section", { id: "chat", class: "panel stack chat", "aria-labelledby": "chat-title", hidden: true },
    heading, scroller, typing, form, said);

  // -- state ------------------------------------------------------------------------------------------
  let conversation = initialConversation ? String(initialConversation).toLowerCase() : null;
  let active = false; // in the room: may send
  let shown = false; // the Chat tab is on screen: marks read, says new messages
  let destroyed = false;
  let readSeq = 0;
  let lastReadAt = 0;
  let readTimer = null;
  let lastTypingAt = -Infinity;
  let draft = null; // {text, clientId}: the last text tried, so a retry reuses its client id
  let sending = false;
  let renderedFor = "";
  const log = new ChatLog(); // the records with a seq, each with its list item (li)
  const pending = []; // own records waiting for their ack, in the order sent
  const typers = new Map(); // user id -> {name, timer}

  const sameConversation = (name) => typeof name === "string" && name.toLowerCase() === conversation;
  const selfId = () => getSelf()?.user_id || null;
  const isFacilitator = () => getSelf()?.role === "facilitator";

  // -- rendering --------------------------------------------------------------------------------------
  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function updateEmpty() {
    empty.hidden = log.records.length > 0 || pending.length > 0 || !catchUp.loaded;
  }

  function renderItem(rec) {
    const mine = Boolean(rec.sender_id && rec.sender_id === selfId());
    const li = rec.li || (rec.li = h("li", { class: "chat-message", tabindex: "-1" }));
    const hadFocus = li.contains(document.activeElement) && document.activeElement !== li;
    li.className = ["chat-message", mine && "mine", rec.pending && "pending", rec.deleted && "deleted"]
      .filter(Boolean).join(" ");
    for (const [key, value] of [["id", rec.id], ["seq", rec.seq], ["senderId", rec.sender_id]]) {
      if (value === undefined || value === null) delete li.dataset[key];
      else li.dataset[key] = String(value);
    }
    const name = rec.display_name || "Someone";
    const when = parseSentAt(rec.sent_at);
    const time = when ? formatTime(when) : "";
    const meta = h("p", { class: "chat-meta" },
      h("span", { class: "chat-author" }, name, mine ? " (you)" : ""),
      when && h("time", { class: "chat-time", datetime: when.toISOString() }, time),
      rec.pending && h("span", { class: "chat-state" }, "Sending…"),
    );
    const body = rec.deleted
      ? h("p", { class: "chat-body chat-tombstone" }, "Message deleted")
      : h("p", { class: "chat-body" }, rec.body);
    const canDelete = !rec.pending && !rec.deleted && rec.id && (isFacilitator() || mine);
    const remove = canDelete && h("button", { type: "button", class: "button button-small button-quiet delete-message",
      "data-id": rec.id, "aria-label": `Delete message from ${name}${time ? `, ${time}` : ""}` }, "Delete");
    li.replaceChildren(h("div", { class: "chat-content" }, meta, body), ...(remove ? [remove] : []));
    if (hadFocus) (li.querySelector("button.delete-message") || li).focus();
    return li;
  }

  // Puts a record's item in its place: by seq among the sent messages, before the pending ones.
  function place(rec) {
    const i = log.records.indexOf(rec);
    const next = log.records[i + 1]?.li || pending.find((p) => p.li?.isConnected)?.li || null;
    list.insertBefore(rec.li, next);
  }

  // A message from history or a live event; returns true when it is new here.
  function upsert(m) {
    const { rec, change } = log.put(m);
    if (change) renderItem(rec);
    if (change === "added") place(rec);
    return change === "added";
  }

  function markDeleted(rec) {
    log.markDeleted(rec);
    renderItem(rec);
  }

  function rerenderAll() {
    list.setAttribute("aria-busy", "true");
    for (const rec of log.records) renderItem(rec);
    list.removeAttribute("aria-busy");
  }

  // Adds a batch (history), keeping the view where the person was reading; returns the messages new here.
  function addBatch(messages, { stick = true, keepTop = false } = {}) {
    const wasNearBottom = nearBottom();
    const heightBefore = scroller.scrollHeight;
    const topBefore = scroller.scrollTop;
    list.setAttribute("aria-busy", "true");
    const added = messages.filter((m) => isMessage(m) && upsert(m));
    list.removeAttribute("aria-busy");
    updateEmpty();
    if (keepTop) scroller.scrollTop = topBefore + (scroller.scrollHeight - heightBefore);
    else if (stick && wasNearBottom) scrollToBottom();
    return added;
  }

  // -- typing -----------------------------------------------------------------------------------------
  // Written only when the words change: a status line set again to the same words is read out again, and typing
  // notices come every 2 s.
  function renderTyping() {
    const text = typingText([...typers.values()].map((t) => t.name));
    if (typing.textContent !== text) typing.textContent = text;
  }

  function stopTyping(userId) {
    const t = typers.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    typers.delete(userId);
    renderTyping();
  }

  function clearTypers() {
    for (const t of typers.values()) clearTimeout(t.timer);
    typers.clear();
    renderTyping();
  }

  input.addEventListener("input", () => {
    if (!active || sending || !input.value.trim()) return;
    const now = Date.now();
    if (now - lastTypingAt < TYPING_SEND_EVERY_MS) return;
    lastTypingAt = now;
    request("chat:typing", { conversation }); // best effort: nothing to tell the person if it is lost
  });

  // -- read marks -------------------------------------------------------------------------------------
  // Messages are marked read only while the person can see them: the Chat tab shown, in a visible browser tab.
  const reading = () => active && shown && !destroyed && document.visibilityState === "visible";

  function scheduleRead() {
    if (!reading() || readTimer || log.highest <= readSeq) return;
    readTimer = setTimeout(sendRead, Math.max(0, lastReadAt + READ_EVERY_MS - Date.now()));
  }

  async function sendRead() {
    readTimer = null;
    if (!reading() || log.highest <= readSeq) return;
    const seq = log.highest;
    lastReadAt = Date.now();
    const ack = await request("chat:read", { conversation, seq });
    if (ack.ok && seq > readSeq) readSeq = seq;
    if (ack.ok) scheduleRead(); // more may have come meanwhile
  }

  const onVisibility = () => scheduleRead();
  document.addEventListener("visibilitychange", onVisibility);

  // -- loading and catching up ------------------------------------------------------------------------
  function showLoadProblem(text) {
    loadNote.textContent = text;
    loadNote.hidden = !text;
  }

  // A page of history, put in its place. Messages that only the history brought (after a reconnect, or a gap in
  // the live ones) are told to the room, which counts them as unread while the chat is not shown.
  function showPage(messages, page) {
    if (page === "missing") {
      const added = addBatch(messages);
      if (added.length) onCaughtUp(added);
      return;
    }
    const added = addBatch(messages, { stick: false });
    if (page === "latest" && added.length) onCaughtUp(added);
    if (page === "first") {
      const seqs = messages.filter(isMessage).map((m) => m.seq);
      earlier.hidden = !(seqs.length >= LATEST_PAGE && Math.min(...seqs) > 1);
      scrollToBottom();
    }
  }

  const catchUp = createCatchUp({
    log,
    request,
    conversation: () => conversation,
    isActive: () => active && !destroyed,
    show: showPage,
    onProblem: (text) => showLoadProblem(text || ""),
    onSynced: () => scheduleRead(),
  });

  earlier.addEventListener("click", async () => {
    const first = log.records[0];
    if (!first || earlier.getAttribute("aria-busy") === "true") return;
    earlier.setAttribute("aria-busy", "true");
    const ack = await request("chat:history", { conversation, before_seq: first.seq, limit: LATEST_PAGE });
    earlier.removeAttribute("aria-busy");
    if (destroyed) return;
    if (!ack.ok || !Array.isArray(ack.messages)) {
      showError("Earlier messages could not be loaded just now. Please try again.");
      return;
    }
    addBatch(ack.messages, { keepTop: true });
    const seqs = ack.messages.filter(isMessage).map((m) => m.seq);
    earlier.hidden = seqs.length < LATEST_PAGE || Math.min(...seqs) <= 1;
    if (earlier.hidden) scroller.focus();
  });

  // -- sending ----------------------------------------------------------------------------------------
  function setSending(value) {
    sending = value;
    input.readOnly = value;
    sendButton.setAttribute("aria-disabled", String(value));
    if (value) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }

  async function send() {
    if (!active || sending || destroyed) return;
    const text = cleanBody(input.value);
    if (!text.trim()) {
      // Prevented here; the server would refuse a blank body with invalid_request.
      showError("Your message is empty. Write something before sending.");
      input.focus();
      return;
    }
    clearError();
    const clientId = draft && draft.text === text ? draft.clientId : newClientId();
    draft = { text, clientId };
    const self = getSelf() || {};
    const rec = { clientId, body: text, sender_id: self.user_id, display_name: nameOf(self.user_id) || "You",
      pending: true };
    pending.push(rec);
    renderItem(rec);
    list.append(rec.li);
    updateEmpty();
    scrollToBottom();
    setSending(true);
    const ack = await request("chat:send", { conversation, body: text, client_id: clientId });
    if (destroyed) return;
    setSending(false);
    pending.splice(pending.indexOf(rec), 1);
    const stored = ack.ok ? ack.message : null;
    if (!stored || typeof stored.id !== "string" || !Number.isInteger(stored.seq)) {
      rec.li.remove();
      updateEmpty();
      showError(sendError(ack)); // the text stays in the box; sending again reuses its client id
      input.focus();
      return;
    }
    draft = null;
    if (cleanBody(input.value) === text) input.value = "";
    lastTypingAt = -Infinity;
    rec.li.remove();
    if (!log.get(stored.id)) { // else a catch-up brought it before the ack: it is already here
      Object.assign(rec, { id: stored.id, seq: stored.seq, sent_at: stored.sent_at, pending: false });
      const stick = nearBottom();
      if (log.add(rec)) {
        renderItem(rec);
        place(rec);
      }
      if (stick) scrollToBottom();
    }
    catchUp.checkGap(); // others' messages before ours may not have reached us
    updateEmpty();
    scheduleRead();
    if (document.activeElement === sendButton || document.activeElement === document.body) input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    if (event.altKey) return;
    event.preventDefault();
    send();
  });

  // -- deleting ---------------------------------------------------------------------------------------
  // Deleting asks first, in place under the message (an in-page step rather than window.confirm).
  list.addEventListener("click", (event) => {
    const btn = event.target.closest?.("button.delete-message");
    if (!btn || !list.contains(btn) || btn.getAttribute("aria-busy") === "true") return;
    const rec = log.get(btn.dataset.id);
    if (!rec || rec.deleted) return;
    const mine = rec.sender_id === selfId();
    const question = mine
      ? "Delete your message? Everyone will see \u201cMessage deleted\u201d in its place."
      : `Delete this message from ${rec.display_name || "this person"}? `
        + "Everyone will see \u201cMessage deleted\u201d in its place.";
    const step = createConfirmStep({ question, confirmLabel: "Delete", cancelLabel: "Keep it", returnFocus: btn,
      onConfirm: () => remove(rec, btn) });
    rec.li.querySelector(".confirm-step")?.remove();
    rec.li.append(step.el);
    step.open();
  });

  // -> whether the message is gone (the confirm step puts focus back on its Delete button when not).
  async function remove(rec, btn) {
    if (rec.deleted) return true;
    btn.setAttribute("aria-busy", "true");
    clearError();
    const ack = await request("chat:delete", { conversation, id: rec.id });
    if (destroyed) return false;
    btn.removeAttribute("aria-busy");
    if (!ack.ok) {
      showError(errorText(ack, "The message was not deleted. Please try again."));
      return false;
    }
    // chat:deleted goes to everyone else, not to this connection.
    if (!rec.deleted) markDeleted(rec);
    rec.li.focus();
    return true;
  }

  // -- the room's side --------------------------------------------------------------------------------
  return {
    el,

    // Entering the room (the join ack or room:admitted), also again after a reconnect.
    enter(info) {
      if (destroyed) return;
      if (typeof info?.conversation === "string" && info.conversation) conversation = info.conversation.toLowerCase();
      const who = `${selfId()}:${getSelf()?.role}`;
      if (who !== renderedFor) {
        renderedFor = who;
        if (log.records.length) rerenderAll();
      }
      active = true;
      el.hidden = false;
      if (!catchUp.loaded) list.setAttribute("aria-busy", "true");
      // The latest page, or what was missed while away.
      catchUp.entered().finally(() => list.removeAttribute("aria-busy"));
    },

    // Whether the Chat tab is on screen now (the room draws this on every change): read marks go only then, and
    // begin as soon as it opens.
    setShown(value) {
      const was = shown;
      shown = Boolean(value);
      if (shown && !was) scheduleRead();
      if (!shown) {
        clearTimeout(readTimer);
        readTimer = null;
      }
    },

    // Waiting, sent to the lobby, or the visit is over.
    leave() {
      active = false;
      el.hidden = true;
      clearTypers();
      clearTimeout(readTimer);
      readTimer = null;
    },

    received(m) {
      if (destroyed || !isMessage(m) || !sameConversation(m.conversation)) return;
      const stick = nearBottom();
      if (upsert(m)) {
        updateEmpty();
        if (stick) scrollToBottom();
        const fromOther = !(m.sender_id && m.sender_id === selfId());
        if (shown && fromOther && m.deleted !== true && typeof m.body === "string") {
          said.textContent = saidText(m.display_name || nameOf(m.sender_id), m.body);
        }
      }
      if (m.sender_id) stopTyping(m.sender_id);
      catchUp.checkGap();
      scheduleRead();
    },

    deleted(d) {
      if (destroyed || !d || !sameConversation(d.conversation)) return;
      const rec = typeof d.id === "string" ? log.get(d.id) : null;
      if (rec && !rec.deleted) markDeleted(rec);
    },

    typing(t) {
      if (destroyed || !active || !t || !sameConversation(t.conversation) || typeof t.user_id !== "string") return;
      if (t.user_id === selfId()) return;
      const before = typers.get(t.user_id);
      if (before) clearTimeout(before.timer);
      const timer = setTimeout(() => stopTyping(t.user_id), TYPING_SHOW_MS);
      typers.set(t.user_id, { name: t.display_name || nameOf(t.user_id) || "Someone", timer });
      renderTyping();
    },

    destroy() {
      destroyed = true;
      active = false;
      clearTypers();
      clearTimeout(readTimer);
      catchUp.stop();
      document.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
