// One direct conversation on screen: its history (the latest page, older pages as the person scrolls up), live
// messages, sending (safe to retry), typing shown both ways, read marks that clear the unread counts on every device,
// and deleting one's own messages. It speaks on the call line (calls/line.js: line.request, line.on), the signed-in
// tab's one connection. Everything from the server goes into text nodes.
//
// The messages are kept in a ChatLog and caught up from chat:history after gaps and reconnects exactly as the
// room's chat does (room/chat-log.js, room/chat-catch-up.js).
import { h } from "../dom.js";
import { ChatLog, isMessage } from "../room/chat-log.js";
import { createCatchUp } from "../room/chat-catch-up.js";
import { cleanBody, formatTime, MAX_CHARS, newClientId, parseSentAt } from "../room/chat.js";
import { createConfirmStep } from "../room/confirm-step.js";
import { hasOlder, keptScrollTop, nearBottom, nearTop, olderRequest, PAGE, readMarkDue, TYPING_SEND_EVERY_MS,
  TYPING_SHOW_MS, typingDue } from "./paging.js";

const READ_EVERY_MS = 800;
const RESEND_AFTER_MS = 1500; // a send the server could not take just now (unavailable, no answer) goes again
const RESENDS = 2;
const ANNOUNCED_CHARS = 200;
const TYPING_MARGIN_MS = 100; // the server's clock starts its 2 s when the notice arrives

const errorText = (ack, fallback) => {
  const message = ack?.error?.message;
  return typeof message === "string" && message.trim() ? message : fallback;
};

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {object} options
 * @param {object} options.line the call line
 * @param {object} options.store the unread store (messages/store.js)
 * @param {{id: string}} options.me
 * @param {{userId: string, name: string, detail?: string}} options.other
 * @param {string} [options.backHref] where "All conversations" leads
 * @returns {{el: HTMLElement, heading: HTMLElement, rename: (name: string, detail?: string) => void, shown: () => void,
 *   destroy: () => void}}
 */
export function createThread({ line, store, me, other, backHref = "#/messages" }) {
  const conversation = `dm:${other.userId}`;
  // Not named when the list does not have this person (a conversation that ended: the server says so below); the
  // page names it once the list does (rename).
  let otherName = "this person";

  // -- the panel --------------------------------------------------------------------------------------
  const heading = h("h3", { id: "thread-title", tabindex: "-1" });
  const earlier = h("button", { type: "button", id: "thread-earlier", class: "button button-small button-quiet",
    hidden: true }, "Show earlier messages");
  const status = h("p", { id: "thread-status", class: "muted", role: "status" }, "Loading messages…");
  const empty = h("p", { id: "thread-empty", class: "muted", hidden: true });
  const list = h("ol", { id: "thread-messages", class: "dm-messages" });
  const scroller = h("div", { id: "thread-scroll", class: "dm-scroll", role: "region", tabindex: "0" },
    earlier, status, empty, list);
  const typing = h("p", { id: "thread-typing", class: "dm-typing muted" });
  const error = h("p", { id: "thread-error", class: "alert", role: "alert", hidden: true });
  const closed = h("p", { id: "thread-closed", class: "card calm", hidden: true });
  const hint = h("p", { id: "thread-hint", class: "muted dm-hint" }, "Enter sends. Shift+Enter starts a new line.");
  const input = h("textarea", { id: "thread-input", name: "message", rows: "2", maxlength: String(MAX_CHARS),
    "aria-describedby": "thread-hint", autocomplete: "off", spellcheck: "true" });
  const sendButton = h("button", { type: "submit", id: "thread-send", class: "button" }, "Send");
  const inputLabel = h("label", { for: "thread-input" });
  const form = h("form", { id: "thread-form", class: "dm-form", novalidate: true }, inputLabel, input,
    h("div", { class: "dm-form-actions" }, hint, sendButton));
  // New messages from the other person, said politely (the list itself is not live: a page of history is not news).
  const announcer = h("p", { id: "thread-announcer", class: "visually-hidden", role: "status" });
  const detail = h("p", { class: "muted dm-detail", hidden: true });
  const el = h("section", { id: "thread", class: "dm-thread", "aria-labelledby": "thread-title",
    "data-user-id": other.userId },
  h("div", { class: "dm-head" },
    h("a", { href: backHref, class: "dm-back" }, "All conversations"),
    heading, detail),
  scroller, typing, error, closed, form, announcer);

  function rename(name, what) {
    otherName = name || "this person";
    heading.textContent = name || "Conversation";
    detail.textContent = what || "";
    detail.hidden = !what;
    empty.textContent = `No messages yet. You can write to ${otherName} below.`;
    list.setAttribute("aria-label", `Messages with ${otherName}`);
    scroller.setAttribute("aria-label", `Conversation with ${otherName}`);
    inputLabel.textContent = `Message to ${otherName}`;
  }
  rename(other.name, other.detail);

  // -- state ------------------------------------------------------------------------------------------
  const log = new ChatLog();
  const pending = [];
  let destroyed = false;
  let older = false; // older messages may remain before the first held
  let loadingOlder = false;
  let readSeq = 0;
  let lastReadAt = 0;
  let readTimer = null;
  let lastTypingAt = -Infinity;
  let typingTimer = null;
  let typingSendTimer = null;
  let draft = null; // {text, clientId}: the text last tried, so sending it again reuses its client id
  let sending = false;
  const offs = [];

  const visible = () => document.visibilityState === "visible" && el.isConnected && !el.closest("[hidden]");

  function showError(text) {
    error.textContent = text || "";
    error.hidden = !text;
  }

  function updateEmpty() {
    empty.hidden = refused || !catchUp.loaded || log.records.length > 0 || pending.length > 0;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  // -- rendering --------------------------------------------------------------------------------------
  function renderItem(rec) {
    const mine = rec.sender_id === me.id;
    const li = rec.li || (rec.li = h("li", { tabindex: "-1" }));
    li.className = ["dm-message", mine ? "mine" : "theirs", rec.pending && "pending", rec.deleted && "deleted"]
      .filter(Boolean).join(" ");
    for (const [key, value] of [["id", rec.id], ["seq", rec.seq]]) {
      if (value === undefined || value === null) delete li.dataset[key];
      else li.dataset[key] = String(value);
    }
    const when = parseSentAt(rec.sent_at);
    const time = when ? formatTime(when) : "";
    const name = mine ? "You" : rec.display_name || otherName;
    const remove = mine && !rec.pending && !rec.deleted && rec.id && h("button", { type: "button",
      class: "dm-delete", "data-id": rec.id, "aria-label": `Delete your message${time ? ` of ${time}` : ""}` },
    "Delete");
    const meta = h("p", { class: "dm-meta" },
      h("span", { class: "dm-author" }, name),
      when && h("time", { datetime: when.toISOString() }, time),
      rec.pending && h("span", { class: "dm-state" }, "Sending…"),
      remove);
    const body = rec.deleted
      ? h("p", { class: "dm-body dm-tombstone" }, "Message deleted")
      : h("p", { class: "dm-body" }, rec.body);
    li.replaceChildren(h("div", { class: "dm-bubble" }, meta, body));
    return li;
  }

  function place(rec) {
    const i = log.records.indexOf(rec);
    const next = log.records[i + 1]?.li || pending.find((p) => p.li?.isConnected)?.li || null;
    list.insertBefore(rec.li, next);
  }

  function upsert(m) {
    const { rec, change } = log.put(m);
    if (change) renderItem(rec);
    if (change === "added") place(rec);
    return change === "added";
  }

  // A page of history, the reader kept where they were: at the bottom, or on the message they were reading.
  function addBatch(messages, { keepPlace = false } = {}) {
    const stick = nearBottom(scroller);
    const heightBefore = scroller.scrollHeight;
    const topBefore = scroller.scrollTop;
    list.setAttribute("aria-busy", "true");
    for (const m of messages) if (isMessage(m)) upsert(m);
    list.removeAttribute("aria-busy");
    updateEmpty();
    if (keepPlace) scroller.scrollTop = keptScrollTop({ topBefore, heightBefore, heightAfter: scroller.scrollHeight });
    else if (stick) scrollToBottom();
  }

  // -- history ----------------------------------------------------------------------------------------
  // The server refuses a conversation the person may no longer have (its pairing or shared group ended): said once,
  // with the server's words, and not asked again.
  let refused = false;
  async function historyRequest(event, payload) {
    const ack = await line.request(event, payload);
    if (!destroyed && !refused && ack?.ok === false && ack.error?.code === "not_authorized") {
      refused = true;
      status.hidden = true;
      empty.hidden = true;
      earlier.hidden = true;
      store.markClosed(conversation);
      closeComposer(errorText(ack, "This conversation is closed."));
    }
    return ack;
  }

  const catchUp = createCatchUp({
    log,
    request: historyRequest,
    conversation: () => conversation,
    isActive: () => !destroyed && !refused,
    show(messages, page) {
      if (page === "first") {
        addBatch(messages);
        older = hasOlder(messages, PAGE);
        earlier.hidden = !older;
        status.hidden = true;
        scrollToBottom();
      } else {
        addBatch(messages);
      }
    },
    onProblem(text) {
      if (text) {
        status.textContent = text;
        status.hidden = false;
      } else if (catchUp.loaded) {
        status.hidden = true;
      }
    },
    onSynced: () => scheduleRead(),
  });

  async function loadOlder() {
    const first = log.records[0];
    const payload = olderRequest(conversation, first?.seq, PAGE);
    if (!older || loadingOlder || destroyed || !payload) return;
    loadingOlder = true;
    earlier.setAttribute("aria-busy", "true");
    const ack = await line.request("chat:history", payload);
    loadingOlder = false;
    earlier.removeAttribute("aria-busy");
    if (destroyed) return;
    if (!ack.ok || !Array.isArray(ack.messages)) {
      showError("Earlier messages could not be loaded just now. Please try again.");
      return;
    }
    addBatch(ack.messages, { keepPlace: true });
    older = hasOlder(ack.messages, PAGE);
    earlier.hidden = !older;
    if (!older && document.activeElement === earlier) scroller.focus();
  }

  earlier.addEventListener("click", loadOlder);
  scroller.addEventListener("scroll", () => {
    if (nearTop(scroller.scrollTop)) loadOlder();
  }, { passive: true });

  // -- read marks -------------------------------------------------------------------------------------
  function scheduleRead() {
    if (destroyed || refused || readTimer || readMarkDue({ highest: log.highest, readSeq, visible: visible() }) === null) return;
    readTimer = setTimeout(sendRead, Math.max(0, lastReadAt + READ_EVERY_MS - Date.now()));
  }

  async function sendRead() {
    readTimer = null;
    const seq = readMarkDue({ highest: log.highest, readSeq, visible: visible() });
    if (destroyed || seq === null) return;
    lastReadAt = Date.now();
    const ack = await line.request("chat:read", { conversation, seq });
    if (ack.ok) {
      readSeq = Math.max(readSeq, seq);
      store.markRead(conversation, seq);
      scheduleRead(); // more may have come meanwhile
    }
  }

  function onVisibility() {
    store.setReading(visible() ? conversation : null);
    scheduleRead();
  }
  document.addEventListener("visibilitychange", onVisibility);

  // -- typing -----------------------------------------------------------------------------------------
  function showTyping(name) {
    clearTimeout(typingTimer);
    typing.textContent = name ? `${name} is typing…` : "";
    if (name) typingTimer = setTimeout(() => showTyping(null), TYPING_SHOW_MS);
  }

  // At most one notice every 2 s (the server drops more); typing inside that time is told once it has passed.
  function tellTyping() {
    clearTimeout(typingSendTimer);
    typingSendTimer = null;
    if (destroyed || sending || !input.value.trim()) return;
    const now = Date.now();
    if (!typingDue(lastTypingAt, now, TYPING_SEND_EVERY_MS + TYPING_MARGIN_MS)) {
      typingSendTimer = setTimeout(tellTyping, lastTypingAt + TYPING_SEND_EVERY_MS + TYPING_MARGIN_MS - now);
      return;
    }
    lastTypingAt = now;
    line.request("chat:typing", { conversation }); // best effort: a lost one is not worth a word
  }
  input.addEventListener("input", () => {
    if (!typingSendTimer) tellTyping();
  });

  // -- live events ------------------------------------------------------------------------------------
  const ours = (data) => typeof data?.conversation === "string" && data.conversation.toLowerCase() === conversation;

  offs.push(line.on("chat:message", (m) => {
    if (destroyed || !ours(m) || !isMessage(m)) return;
    const stick = nearBottom(scroller);
    if (upsert(m)) {
      updateEmpty();
      if (stick) scrollToBottom();
      if (m.sender_id !== me.id && !m.deleted && typeof m.body === "string") {
        const text = m.body.length > ANNOUNCED_CHARS ? `${m.body.slice(0, ANNOUNCED_CHARS)}…` : m.body;
        announcer.textContent = `${m.display_name || otherName}: ${text}`;
      }
    }
    if (m.sender_id !== me.id) showTyping(null);
    catchUp.checkGap();
    scheduleRead();
  }));
  offs.push(line.on("chat:deleted", (d) => {
    if (destroyed || !ours(d)) return;
    const rec = typeof d.id === "string" ? log.get(d.id) : null;
    if (rec && !rec.deleted) {
      log.markDeleted(rec);
      renderItem(rec);
    }
  }));
  offs.push(line.on("chat:typing", (t) => {
    if (destroyed || !ours(t) || t.user_id === me.id) return;
    showTyping(t.display_name || otherName);
  }));
  offs.push(line.on("chat:read", (d) => {
    if (!destroyed && ours(d) && Number.isInteger(d.seq)) readSeq = Math.max(readSeq, d.seq); // another device
  }));
  // (Re)connected: what was missed meanwhile, from the history.
  offs.push(line.on("connect", () => {
    if (!destroyed) catchUp.entered();
  }));

  // -- sending ----------------------------------------------------------------------------------------
  function setSending(value) {
    sending = value;
    input.readOnly = value;
    sendButton.setAttribute("aria-disabled", String(value));
    if (value) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
  }

  // The conversation is closed (its pairing or shared group ended): nothing more can be written or read there.
  function closeComposer(text) {
    closed.textContent = text;
    closed.hidden = false;
    form.hidden = true;
    typing.textContent = "";
  }

  async function sendOnce(text, clientId) {
    let ack;
    for (let attempt = 0; ; attempt += 1) {
      ack = await line.request("chat:send", { conversation, body: text, client_id: clientId });
      const code = ack?.error?.code;
      if (ack.ok || destroyed || attempt >= RESENDS || (code !== "unavailable" && code !== "timeout")) return ack;
      await wait(RESEND_AFTER_MS); // nothing was stored, or it was and the same client id returns it
    }
  }

  async function send() {
    if (sending || destroyed) return;
    const text = cleanBody(input.value);
    if (!text.trim()) {
      showError("Your message is empty. Write something before sending.");
      input.focus();
      return;
    }
    showError(null);
    const clientId = draft && draft.text === text ? draft.clientId : newClientId();
    draft = { text, clientId };
    const rec = { clientId, body: text, sender_id: me.id, pending: true };
    pending.push(rec);
    renderItem(rec);
    list.append(rec.li);
    updateEmpty();
    scrollToBottom();
    setSending(true);
    const ack = await sendOnce(text, clientId);
    if (destroyed) return;
    setSending(false);
    pending.splice(pending.indexOf(rec), 1);
    rec.li.remove();
    const stored = ack.ok ? ack.message : null;
    if (!stored || typeof stored.id !== "string" || !Number.isInteger(stored.seq)) {
      updateEmpty();
      if (ack?.error?.code === "not_authorized") {
        store.markClosed(conversation);
        closeComposer(errorText(ack, "You can no longer send messages in this conversation."));
        return;
      }
      showError(errorText(ack, "Your message was not sent. Please try again.")); // the text stays; same client id
      input.focus();
      return;
    }
    draft = null;
    if (cleanBody(input.value) === text) input.value = "";
    const message = { conversation, id: stored.id, seq: stored.seq, sent_at: stored.sent_at, sender_id: me.id,
      body: text };
    upsert(message);
    store.noteSent(message);
    scrollToBottom();
    catchUp.checkGap();
    updateEmpty();
    scheduleRead();
    if (document.activeElement === sendButton || document.activeElement === document.body) input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    send();
  });

  // -- deleting one's own messages --------------------------------------------------------------------
  // Deleting asks first, in place under the message (the room chat's in-page step rather than window.confirm,
  // which some screen readers and phones handle badly). Focus goes to the message once deleted, back to its Delete
  // button when kept or when the deletion failed.
  list.addEventListener("click", (event) => {
    const btn = event.target.closest?.("button.dm-delete");
    if (!btn || btn.getAttribute("aria-busy") === "true") return;
    const rec = log.get(btn.dataset.id);
    if (!rec || rec.deleted) return;
    const step = createConfirmStep({
      question: `Delete your message? ${otherName} will see \u201cMessage deleted\u201d in its place.`,
      confirmLabel: "Delete", cancelLabel: "Keep it", returnFocus: btn,
      focusAfter: () => rec.li,
      onConfirm: () => remove(rec, btn),
    });
    const bubble = rec.li.querySelector(".dm-bubble");
    bubble.querySelector(".confirm-step")?.remove();
    bubble.append(step.el);
    step.open();
  });

  // -> whether the message is gone.
  async function remove(rec, btn) {
    if (rec.deleted) return true;
    btn.setAttribute("aria-busy", "true");
    showError(null);
    const ack = await line.request("chat:delete", { conversation, id: rec.id });
    if (destroyed) return false;
    btn.removeAttribute("aria-busy");
    if (!ack.ok) {
      showError(errorText(ack, "The message was not deleted. Please try again."));
      return false;
    }
    if (!rec.deleted) {
      log.markDeleted(rec);
      renderItem(rec);
    }
    return true;
  }

  // -- start ------------------------------------------------------------------------------------------
  store.setReading(conversation);
  if (line.connected) catchUp.entered();
  else status.textContent = "Connecting…";

  return {
    el,
    heading,
    // The list now names the other person (the thread was opened before it did).
    rename,
    // The thread was put on screen (or shown again): read marks may go.
    shown() {
      onVisibility();
      scrollToBottom();
    },
    destroy() {
      destroyed = true;
      for (const off of offs) off();
      clearTimeout(readTimer);
      clearTimeout(typingTimer);
      clearTimeout(typingSendTimer);
      catchUp.stop();
      document.removeEventListener("visibilitychange", onVisibility);
      store.setReading(null);
    },
  };
}
