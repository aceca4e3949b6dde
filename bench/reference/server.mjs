// Reference peer for the chat benchmark (bench/chat.py): a minimal Node.js socket.io 4 server with the official
// Redis adapter and PostgreSQL writes, the default a team would otherwise pick. It speaks the subset of Haven's
// wire protocol (shared/PROTOCOL.md, "Real-time connection" and "Chat") that the load generator drives:
//
//   connect      auth {token}; the token is taken as an opaque user id and trusted (NO JWT verification, no
//                account lookup: a cost Haven pays at connect and this peer does not)
//   room:join    {room_id} -> joins the Socket.IO room; ack {ok, status: "joined", chat: {last_seq}}
//   chat:send    {conversation: "room:<id>", body, client_id} -> one PostgreSQL transaction (upsert the
//                conversation taking the next seq, insert the message, unique (sender, client_id) so a repeat
//                returns the stored message), ack {ok, message: {id, seq, sent_at}} after COMMIT, then emit
//                chat:message to the room's other members (not the sending connection, as Haven does: it has
//                the ack) through the Redis adapter
//   chat:history {conversation, after_seq?, before_seq?, limit?} -> ack {ok, messages: [...]} in seq order
//   anything else is acknowledged {ok: false, error: {code: "unknown_event"}}
//
// Configuration: PORT (default 8090), HOST (default 127.0.0.1), REDIS_URL (default redis://127.0.0.1:6379/0),
// DATABASE_URL (postgres://user@host:port/db), PG_POOL_MAX (default 10, node-postgres's own default),
// REDIS_CHANNEL (adapter channel prefix, default "socket.io"). Two instances given the same Redis and database
// form a two-node deployment. Tables are created on start if missing (under an advisory lock, so two instances
// starting together do not race).

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

import { createAdapter } from "@socket.io/redis-adapter";
import pg from "pg";
import { createClient } from "redis";
import { Server } from "socket.io";

const PORT = Number.parseInt(process.env.PORT ?? "8090", 10);
const HOST = process.env.HOST ?? "127.0.0.1";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const DATABASE_URL = process.env.DATABASE_URL;
const POOL_MAX = Number.parseInt(process.env.PG_POOL_MAX ?? "10", 10);
const REDIS_CHANNEL = process.env.REDIS_CHANNEL ?? "socket.io";
const MAX_BODY = 4000;
const MAX_CLIENT_ID = 64;
const MAX_TOKEN = 256;
const SCHEMA_LOCK = 4242_0001;

if (!DATABASE_URL) {
  console.error("DATABASE_URL is required (postgres://user@host:port/db)");
  process.exit(2);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ref_conversations (
  key text PRIMARY KEY,
  last_seq bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ref_messages (
  id uuid PRIMARY KEY,
  conversation text NOT NULL REFERENCES ref_conversations (key) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq > 0),
  sender_id text NOT NULL,
  client_id text NOT NULL,
  body text NOT NULL,
  sent_at timestamptz NOT NULL,
  UNIQUE (conversation, seq),
  UNIQUE (sender_id, client_id)
);
`;

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL_MAX });
pool.on("error", (err) => console.error("postgres pool error:", err.message));

const ok = (result = {}) => ({ ok: true, ...result });
const fail = (code, message) => ({ ok: false, error: { code, message } });
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

async function createSchema() {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query(SCHEMA);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function wireMessage(row) {
  return { id: row.id, seq: Number(row.seq), sent_at: new Date(row.sent_at).toISOString() };
}

// Store one message: returns {message, created}. A repeated (sender, client_id) returns the stored message.
async function storeMessage(conversation, senderId, clientId, body) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const seq = await client.query(
      "INSERT INTO ref_conversations AS c (key, last_seq) VALUES ($1, 1) " +
        "ON CONFLICT (key) DO UPDATE SET last_seq = c.last_seq + 1 RETURNING last_seq",
      [conversation],
    );
    const inserted = await client.query(
      "INSERT INTO ref_messages (id, conversation, seq, sender_id, client_id, body, sent_at) " +
        "VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (sender_id, client_id) DO NOTHING " +
        "RETURNING id, seq, sent_at",
      [randomUUID(), conversation, seq.rows[0].last_seq, senderId, clientId, body],
    );
    if (inserted.rowCount === 1) {
      await client.query("COMMIT");
      return { message: wireMessage(inserted.rows[0]), created: true };
    }
    // A repeat: give the sequence number back and answer with the message stored the first time.
    await client.query("ROLLBACK");
    const existing = await client.query(
      "SELECT id, seq, sent_at, conversation FROM ref_messages WHERE sender_id = $1 AND client_id = $2",
      [senderId, clientId],
    );
    return { message: wireMessage(existing.rows[0]), created: false };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function lastSeq(conversation) {
  const found = await pool.query("SELECT last_seq FROM ref_conversations WHERE key = $1", [conversation]);
  return found.rowCount ? Number(found.rows[0].last_seq) : 0;
}

async function history(conversation, afterSeq, beforeSeq, limit) {
  const rows = await pool.query(
    "SELECT id, seq, sender_id, body, sent_at FROM ref_messages WHERE conversation = $1 " +
      "AND ($2::bigint IS NULL OR seq > $2) AND ($3::bigint IS NULL OR seq < $3) " +
      "ORDER BY CASE WHEN $2::bigint IS NULL THEN -seq ELSE seq END LIMIT $4",
    [conversation, afterSeq, beforeSeq, limit],
  );
  return rows.rows
    .map((row) => ({
      conversation,
      ...wireMessage(row),
      sender_id: row.sender_id,
      display_name: row.sender_id,
      body: row.body,
    }))
    .sort((a, b) => a.seq - b.seq);
}

// The room a "room:<id>" conversation names, when this connection is in it; else null.
function joinedRoom(socket, conversation) {
  if (typeof conversation !== "string" || !conversation.startsWith("room:")) return null;
  const roomId = conversation.slice(5);
  return roomId && socket.data.room === roomId ? roomId : null;
}

function optionalSeq(value) {
  if (value === undefined || value === null) return null;
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

const handlers = {
  "room:join": async (socket, payload) => {
    if (!isObject(payload) || typeof payload.room_id !== "string" || !payload.room_id || payload.room_id.length > 100) {
      return fail("invalid_request", "room_id is required.");
    }
    const roomId = payload.room_id;
    if (socket.data.room && socket.data.room !== roomId) socket.leave(socket.data.room);
    socket.data.room = roomId;
    socket.join(roomId);
    return ok({ status: "joined", chat: { last_seq: await lastSeq(`room:${roomId}`) } });
  },
  "room:leave": async (socket, payload) => {
    if (!isObject(payload) || typeof payload.room_id !== "string") return fail("invalid_request", "room_id is required.");
    if (socket.data.room !== payload.room_id) return fail("not_in_room", "You are not in that room.");
    socket.leave(payload.room_id);
    socket.data.room = null;
    return ok();
  },
  "chat:send": async (socket, payload) => {
    if (!isObject(payload)) return fail("invalid_request", "Send an object.");
    const { conversation, body, client_id: clientId } = payload;
    if (typeof body !== "string" || body.length < 1 || body.length > MAX_BODY) {
      return fail("invalid_request", "body must be 1 to 4000 characters.");
    }
    if (typeof clientId !== "string" || clientId.length < 1 || clientId.length > MAX_CLIENT_ID) {
      return fail("invalid_request", "client_id must be 1 to 64 characters.");
    }
    const roomId = joinedRoom(socket, conversation);
    if (roomId === null) return fail("not_in_room", "Join the room before sending to its chat.");
    const { message, created } = await storeMessage(conversation, socket.data.userId, clientId, body);
    if (created) {
      // After the ack is queued: the sender's ack goes out first, then the fan-out (every node, through Redis)
      // to the room except the sending connection.
      setImmediate(() =>
        socket.to(roomId).emit("chat:message", {
          conversation,
          ...message,
          sender_id: socket.data.userId,
          display_name: socket.data.userId,
          body,
        }),
      );
    }
    return ok({ message });
  },
  "chat:history": async (socket, payload) => {
    if (!isObject(payload)) return fail("invalid_request", "Send an object.");
    const afterSeq = optionalSeq(payload.after_seq);
    const beforeSeq = optionalSeq(payload.before_seq);
    const limit = payload.limit ?? 50;
    if (afterSeq === undefined || beforeSeq === undefined || !Number.isInteger(limit) || limit < 1 || limit > 200) {
      return fail("invalid_request", "after_seq/before_seq are sequence numbers, limit 1 to 200.");
    }
    if (joinedRoom(socket, payload.conversation) === null) return fail("not_in_room", "Join the room first.");
    return ok({ messages: await history(payload.conversation, afterSeq, beforeSeq, limit) });
  },
};

const httpServer = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    return;
  }
  res.writeHead(404).end();
});

const io = new Server(httpServer, { path: "/socket.io/", transports: ["websocket"], serveClient: false });

io.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  if (typeof token !== "string" || token.length < 1 || token.length > MAX_TOKEN) {
    const err = new Error("Sign in again: the token is missing.");
    err.data = { code: "not_authenticated", message: err.message };
    next(err);
    return;
  }
  socket.data.userId = token; // trusted as is: see the header comment
  socket.data.room = null;
  next();
});

io.on("connection", (socket) => {
  socket.onAny((event, ...args) => {
    const ack = args.length > 0 && typeof args[args.length - 1] === "function" ? args.pop() : null;
    const handler = Object.hasOwn(handlers, event) ? handlers[event] : null;
    if (handler === null) {
      if (ack) ack(fail("unknown_event", `No event named '${String(event).slice(0, 64)}'.`));
      return;
    }
    handler(socket, args[0]).then(
      (answer) => ack?.(answer),
      (err) => {
        console.error(`${event} failed:`, err.message);
        ack?.(fail("internal_error", "Something went wrong."));
      },
    );
  });
});

async function main() {
  await createSchema();
  const pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) client.on("error", (err) => console.error("redis:", err.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient, { key: REDIS_CHANNEL }));
  await new Promise((resolve) => httpServer.listen(PORT, HOST, resolve));
  console.error(`reference peer listening on http://${HOST}:${PORT}`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => process.exit(0), 5000);
    deadline.unref();
    io.close(() => {
      Promise.allSettled([pubClient.quit(), subClient.quit(), pool.end()]).then(() => process.exit(0));
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error("reference peer failed to start:", err);
  process.exit(1);
});
