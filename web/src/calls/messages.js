// What the call screens say, in plain and calm words. Pure functions of the call state and the records.
import { Phase } from "./state.js";

const STATUS_LABELS = { online: "Online", in_call: "In a call", offline: "Offline" };
const RELATIONSHIP_LABELS = { mentor: "Your mentor", mentee: "Your mentee" };

export function statusLabel(status) {
  return STATUS_LABELS[status] || "Offline";
}

export function relationshipLabel(relationship) {
  return RELATIONSHIP_LABELS[relationship] || "Paired with you";
}

function nameOf(state) {
  return state.other?.display_name || "The other person";
}

// The line under the call's heading while it lasts.
export function callStatusText(state) {
  const name = nameOf(state);
  if (state.phase === Phase.CALLING) return state.callId ? `Calling ${name}…` : "Placing the call…";
  if (state.phase === Phase.RINGING) return state.answering ? "Answering…" : `${name} is calling you.`;
  if (state.phase !== Phase.ANSWERED) return "";
  if (state.away === "self") return "Your connection dropped. Reconnecting…";
  if (state.away === "other") return `${name}'s connection dropped. Waiting for them to come back…`;
  if (state.link === "trouble") return "The connection is unsteady. Trying to reconnect the video…";
  if (state.link === "lost") return "We could not bring the video back. You can hang up and call again.";
  if (state.link === "connected") return `You are in a call with ${name}.`;
  return "Connecting…";
}

// Why the call ended, said to this side.
export function endedText(state) {
  const name = nameOf(state);
  const caller = state.role === "caller";
  switch (state.reason) {
    case "hangup":
      return state.bySelf ? "You ended the call." : `${name} ended the call.`;
    case "declined":
      if (state.bySelf) return "You declined the call.";
      return caller ? `${name} can't take a call right now. You could try again later.`
        : "The call was declined on another of your devices.";
    case "cancelled":
      return state.bySelf ? "You stopped the call." : `${name} stopped calling before you answered.`;
    case "missed":
      return caller ? `${name} didn't answer this time. You could try again later.`
        : `You missed a call from ${name}.`;
    case "busy":
      return `${name} is busy right now, in another call or a group. You could try again later.`;
    case "connection_lost":
      return "The call ended because the connection was lost.";
    case "not_placed":
      return state.message || "The call could not be placed. Please try again in a moment.";
    case "not_answered":
      return state.message || "The call could not be answered. It may have ended already.";
    default:
      return "The call has ended.";
  }
}

// What a short note says when the call left this device without ending here.
export function noteText(state) {
  if (state.note === "answered_elsewhere") return "You answered the call on another device.";
  return "";
}

// "Under a minute", "1 minute", "1 hour 5 minutes".
export function durationText(seconds) {
  if (!Number.isFinite(seconds) || seconds < 60) return "Under a minute";
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const part = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (hours === 0) return part(minutes, "minute");
  return rest === 0 ? part(hours, "hour") : `${part(hours, "hour")} ${part(rest, "minute")}`;
}

const OUTCOME_WORDS = {
  hangup: null, // an answered call: its length says enough
  declined: "Declined",
  cancelled: "Not answered",
  missed: "Missed",
  busy: "Busy",
  connection_lost: "Connection lost",
};

// One line of the recent calls: {who, direction, detail}. nameOf(user id) gives a contact's name or null.
export function describeCall(call, selfId, nameOf) {
  const outgoing = call.caller_id === selfId;
  const otherId = outgoing ? call.callee_id : call.caller_id;
  const who = nameOf(otherId) || "Someone";
  const direction = outgoing ? `You called ${who}` : `${who} called you`;
  let detail;
  if (call.outcome === null || call.outcome === undefined) detail = "In progress";
  else if (call.answered_at && Number.isFinite(call.duration_seconds)) detail = durationText(call.duration_seconds);
  else if (!outgoing && (call.outcome === "missed" || call.outcome === "cancelled")) detail = "Missed";
  else detail = OUTCOME_WORDS[call.outcome] || "Ended";
  return { who, direction, detail };
}
