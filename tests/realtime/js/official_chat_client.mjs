// The official JavaScript Socket.IO client through both kinds of chat. Prints what it saw as JSON.
// Usage: node official_chat_client.mjs URL ROOM FAC_TOKEN P_TOKEN MENTOR_TOKEN MENTEE_ID MENTOR_ID
import { createRequire } from "node:module";

const require = createRequire(new URL("../../../web/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, roomId, facilitatorToken, participantToken, mentorToken, menteeId, mentorId] = process.argv.slice(2);
const connect = (token) =>
  new Promise((resolve, reject) => {
    const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, timeout: 5000 });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
const next = (socket, event) => new Promise((resolve) => socket.once(event, resolve));
const call = (socket, event, payload) => socket.timeout(5000).emitWithAck(event, payload);

const seen = {};
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: true, seen }));
  process.exit(1);
}, 20000);

try {
  const facilitator = await connect(facilitatorToken);
  const participant = await connect(participantToken);
  await call(facilitator, "room:join", { room_id: roomId });
  const lobby = next(facilitator, "room:lobby");
  await call(participant, "room:join", { room_id: roomId });
  const admitted = next(participant, "room:admitted");
  await call(facilitator, "room:admit", { room_id: roomId, user_id: (await lobby).waiting[0].user_id });
  await admitted;

  const conversation = `room:${roomId}`;
  const incoming = next(facilitator, "chat:message");
  seen.send = await call(participant, "chat:send", { conversation, body: "Hello from the browser client", client_id: "js-1" });
  seen.message = await incoming;
  seen.repeat = await call(participant, "chat:send", { conversation, body: "Hello from the browser client", client_id: "js-1" });
  seen.history = await call(facilitator, "chat:history", { conversation, after_seq: 0 });
  seen.too_long = await call(participant, "chat:send", { conversation, body: "x".repeat(4001), client_id: "js-2" });

  const mentor = await connect(mentorToken);
  const mentee = participant;
  const direct = next(mentee, "chat:message");
  seen.dm_send = await call(mentor, "chat:send", { conversation: `dm:${menteeId}`, body: "Thinking of you", client_id: "js-dm" });
  seen.dm_message = await direct;
  seen.dm_history = await call(mentee, "chat:history", { conversation: `dm:${mentorId}` });

  for (const socket of [facilitator, participant, mentor]) socket.close();
  clearTimeout(timer);
  console.log(JSON.stringify(seen));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), seen }));
  process.exit(1);
}
