// Drives Haven with the official JavaScript Socket.IO client (the one browsers use), as a facilitator and a
// participant, and prints what each saw as one JSON object. Usage: node official_client.mjs URL ROOM FAC_TOKEN P_TOKEN
import { createRequire } from "node:module";

// socket.io-client is the web client's dependency; resolve it from there.
const require = createRequire(new URL("../../../web/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, roomId, facilitatorToken, participantToken] = process.argv.slice(2);
const options = (token) => ({ auth: { token }, transports: ["websocket"], reconnection: false, timeout: 5000 });

function connect(token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, options(token));
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => reject(error));
  });
}

function next(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

const call = (socket, event, payload) => socket.timeout(5000).emitWithAck(event, payload);

const seen = {};
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, seen }));
  process.exit(1);
}, 20000);

try {
  const refused = await connect("not-a-token").then(() => null, (error) => ({ message: error.message, data: error.data }));
  seen.refused = refused;

  const facilitator = await connect(facilitatorToken);
  const participant = await connect(participantToken);
  seen.facilitator_join = await call(facilitator, "room:join", { room_id: roomId });
  const lobby = next(facilitator, "room:lobby");
  seen.participant_join = await call(participant, "room:join", { room_id: roomId });
  seen.lobby = await lobby;

  const admitted = next(participant, "room:admitted");
  seen.admit = await call(facilitator, "room:admit", { room_id: roomId, user_id: seen.lobby.waiting[0].user_id });
  seen.admitted = await admitted;

  const muted = next(participant, "room:muted");
  seen.mute = await call(facilitator, "room:mute", { room_id: roomId, user_id: seen.lobby.waiting[0].user_id, kind: "audio" });
  seen.muted = await muted;

  const queue = next(facilitator, "hand:queue");
  seen.raise = await call(participant, "hand:raise", { room_id: roomId });
  seen.queue = await queue;

  seen.unknown = await call(participant, "room:teleport", { room_id: roomId });
  seen.invalid = await call(participant, "room:mute", { room_id: roomId, user_id: "nobody", kind: "audio" });

  const signal = next(participant, "rtc:signal");
  seen.relay = await call(facilitator, "rtc:signal", {
    to: seen.admitted.self.peer_id,
    type: "candidate",
    candidate: { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 },
  });
  seen.signal = await signal;

  const ended = next(participant, "room:ended");
  seen.end = await call(facilitator, "room:end", { room_id: roomId });
  seen.ended = await ended;

  facilitator.close();
  participant.close();
  clearTimeout(timer);
  console.log(JSON.stringify(seen));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), seen }));
  process.exit(1);
}
