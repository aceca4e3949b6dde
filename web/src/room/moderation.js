// The facilitator's acts, as the requests they send: a pure mapping from an action chosen in the console (a person's
// menu, the waiting room, the room's switches) to room:* requests (docs/protocol.md 7.3), sent in order by the
// room. "Admit all" is one room:admit per person waiting, in the order they came (admitAll sends them and tallies
// the answers). And which actions a person's menu offers at a given moment.
const KIND_OF = { "mute-audio": "audio", "mute-video": "video", "ask-unmute-audio": "audio",
  "ask-unmute-video": "video" };

// -> [{event, payload}]; empty for an unknown action.
export function moderationRequests(state, roomId, action, userId = null) {
  const target = { room_id: roomId, user_id: userId };
  switch (action) {
    case "mute-audio":
    case "mute-video":
      return [{ event: "room:mute", payload: { ...target, kind: KIND_OF[action] } }];
    case "ask-unmute-audio":
    case "ask-unmute-video":
      return [{ event: "room:ask_unmute", payload: { ...target, kind: KIND_OF[action] } }];
    case "lower-hand":
      return [{ event: "hand:lower", payload: target }];
    case "send-to-lobby":
      return [{ event: "room:send_to_lobby", payload: target }];
    case "remove":
      return [{ event: "room:remove", payload: target }];
    case "admit":
      return [{ event: "room:admit", payload: target }];
    case "deny":
      return [{ event: "room:deny", payload: target }];
    case "admit-all":
      return state.lobby.map((w) => ({ event: "room:admit", payload: { room_id: roomId, user_id: w.user_id } }));
    case "lock":
      return [{ event: "room:lock", payload: { room_id: roomId, locked: !state.locked } }];
    case "lobby":
      return [{ event: "room:lobby", payload: { room_id: roomId, enabled: !state.lobbyEnabled } }];
    case "end":
      return [{ event: "room:end", payload: { room_id: roomId } }];
    default:
      return [];
  }
}

// "Admit all": one room:admit after the other through send(event, payload) -> ack. Someone who left the waiting room
// meanwhile (not_found) is passed over; any other refusal (the room is full, the connection dropped) stops there.
// -> {admitted, gone, left, error}: how many got in, how many had gone, how many still wait unasked, the refusal.
export async function admitAll(requests, send) {
  const result = { admitted: 0, gone: 0, left: 0, error: null };
  for (const [i, { event, payload }] of requests.entries()) {
    const ack = await send(event, payload);
    if (ack?.ok) {
      result.admitted += 1;
    } else if (ack?.error?.code === "not_found") {
      result.gone += 1;
    } else {
      result.error = ack?.error || { code: "unknown" };
      result.left = requests.length - i;
      break;
    }
  }
  return result;
}

const people = (n) => (n === 1 ? "1 person" : `${n} people`);

// The sentence that reports an "Admit all".
export function admitAllSummary({ admitted, gone, left, error }) {
  const parts = [admitted > 0 ? `Admitted ${people(admitted)}.` : "No one was admitted."];
  if (gone > 0) parts.push(`${people(gone)} had already left the waiting room.`);
  if (error) {
    const message = typeof error.message === "string" && error.message.trim() ? error.message.trim() : "";
    if (message) parts.push(/[.!?]$/.test(message) ? message : `${message}.`);
    if (left > 0) parts.push(`${people(left)} still ${left === 1 ? "waits" : "wait"}.`);
  }
  return parts.join(" ");
}

// The kind an "ask to unmute" action is about, or null.
export const askedKind = (action) => (action.startsWith("ask-unmute") ? KIND_OF[action] : null);

// The actions a facilitator has for one member at this moment.
export function personActions(state, p) {
  const actions = [];
  if (p.audio) actions.push({ action: "mute-audio", label: "Mute microphone" });
  else actions.push({ action: "ask-unmute-audio", label: "Ask to unmute", className: "ask-unmute" });
  // A shared screen travels as the member's video: turning their video off ends the share.
  if (p.screen === true) {
    actions.push({ action: "mute-video", label: "Stop their screen share", className: "mute-video stop-share" });
  } else if (p.video) {
    actions.push({ action: "mute-video", label: "Turn off camera" });
  } else {
    actions.push({ action: "ask-unmute-video", label: "Ask to turn camera on" });
  }
  if (state.hands.includes(p.user_id)) actions.push({ action: "lower-hand", label: "Lower hand" });
  if (p.role !== "facilitator") {
    actions.push({ action: "send-to-lobby", label: "Send to waiting room" });
    actions.push({ action: "remove", label: "Remove from session…", danger: true });
  }
  return actions;
}
