// The facilitator's acts, as the requests they send: a pure mapping from an action chosen in the console (a person's
// menu, the waiting room, the room's switches) to room:* requests (docs/protocol.md 7.3), sent in order by the
// room. "Admit all" is one room:admit per person waiting, in the order they came. And which actions a person's menu
// offers at a given moment.
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
