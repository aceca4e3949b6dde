// The live session's decisions (docs/protocol.md 7.7): renewing the token before it expires, what an ended session
// does, and what rtc:ice_servers carries. Sockets are small stand-ins that record what was emitted.
import { beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";

const store = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};

const {
  createLiveSession, createRenewal, endingOf, expiryOf, iceUpdateOf, MAX_RETRIES, RETRY_DELAY_MS, WILL_END_NOTICE,
} = await import("../src/live-session.js");
const { getToken, getTokenExpiry, setToken } = await import("../src/session.js");

const settle = () => new Promise((resolve) => setImmediate(resolve));

class FakeSocket {
  constructor({ connected = true, answer = () => ({ ok: true, expires_at: "2030-01-01T00:00:00+00:00" }) } = {}) {
    this.connected = connected;
    this.answer = answer;
    this.handlers = new Map();
    this.emitted = [];
  }

  on(event, handler) {
    this.handlers.set(event, handler);
  }

  // What the server sends.
  receive(event, data) {
    this.handlers.get(event)?.(data);
  }

  timeout() {
    return {
      emit: (event, payload, callback) => {
        this.emitted.push([event, payload]);
        const ack = this.answer(event, payload);
        if (ack === undefined) callback(new Error("timeout"));
        else callback(null, ack);
      },
    };
  }
}

class HttpError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

beforeEach(() => store.clear());

// -- session:ended ------------------------------------------------------------------------------------------

test("a session ended by the server sends the person back to sign-in with a plain sentence", () => {
  for (const code of ["token_expired", "signed_out", "account_disabled"]) {
    const ending = endingOf({ code, message: "server words" });
    assert.equal(ending.action, "sign_in");
    assert.equal(ending.code, code);
    assert.match(ending.message, /\.$/);
    assert.notEqual(ending.message, "server words");
  }
  assert.match(endingOf({ code: "account_disabled" }).message, /no longer active/);
  assert.match(endingOf({ code: "signed_out" }).message, /password/);
});

test("a changed role connects again rather than signing out", () => {
  assert.deepEqual(endingOf({ code: "role_changed", message: "x" }), { code: "role_changed", action: "reconnect",
    message: null });
});

test("an ending this client does not know still ends the session, in the server's words when it gave some", () => {
  assert.deepEqual(endingOf({ code: "new_reason", message: "Your program ended." }),
    { code: "new_reason", action: "sign_in", message: "Your program ended." });
  for (const data of [null, "x", {}, { code: 5, message: "  " }, { code: "constructor" }]) {
    const ending = endingOf(data);
    assert.equal(ending.action, "sign_in");
    assert.equal(ending.message, endingOf({ code: "token_expired" }).message);
  }
});

// -- the wire's values ------------------------------------------------------------------------------------------

test("expiry times are read as ISO 8601 or as seconds since the epoch", () => {
  assert.equal(expiryOf("2026-12-01T18:39:39.803274+00:00"), Date.parse("2026-12-01T18:39:39.803Z"));
  assert.equal(expiryOf(1_800_000_000), 1_800_000_000_000);
  for (const value of [undefined, null, "soon", Number.NaN, {}]) assert.equal(expiryOf(value), null);
});

test("rtc:ice_servers is kept to what RTCPeerConnection takes", () => {
  const servers = [{ urls: ["turn:turn.example.org"], username: "1:x", credential: "c" }];
  assert.deepEqual(iceUpdateOf({ ice_servers: servers, ice_transport_policy: "relay" }),
    { iceServers: servers, iceTransportPolicy: "relay" });
  assert.deepEqual(iceUpdateOf({ ice_servers: [], ice_transport_policy: "nope" }),
    { iceServers: [], iceTransportPolicy: "all" });
  for (const data of [null, {}, { ice_servers: "turn:x" }]) assert.equal(iceUpdateOf(data), null);
});

// -- renewing the token ----------------------------------------------------------------------------------------

function renewal({ answers, now = () => 0, kept = { token: "old", expiresAt: 60_000 } } = {}) {
  const asked = [];
  const waits = [];
  let stored = { ...kept };
  const renew = createRenewal({
    refresh: async () => {
      asked.push(true);
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    stored: () => stored,
    store: (token, expiresAt) => {
      stored = { token, expiresAt: expiryOf(expiresAt) };
    },
    now,
    wait: async (ms) => {
      waits.push(ms);
    },
  });
  return { renew, asked, waits, stored: () => stored };
}

test("connections told together that the token expires renew it once between them", async () => {
  const fresh = { token: "new", expires_at: "2030-01-01T00:00:00Z", user: {} };
  const { renew, asked, stored } = renewal({ answers: [fresh] });
  const tokens = await Promise.all([renew(60_000), renew(60_000)]);
  assert.deepEqual(tokens, ["new", "new"]);
  assert.equal(asked.length, 1);
  assert.deepEqual(stored(), { token: "new", expiresAt: Date.parse("2030-01-01T00:00:00Z") });
  // A connection told later about the old expiry takes the token another already renewed.
  assert.equal(await renew(60_000), "new");
  assert.equal(asked.length, 1);
});

test("the token from sign-in, whose expiry has a fraction of a second more than announced, is renewed", async () => {
  // Sign-in said ...:54.803274; the token's own expiry, the one session:expiring announces, is ...:54.
  const kept = { token: "old", expiresAt: expiryOf("2026-12-03T13:51:54.803274+00:00") };
  const { renew, asked } = renewal({ answers: [{ token: "new" }], kept });
  assert.equal(await renew(expiryOf("2026-12-03T13:51:54+00:00")), "new");
  assert.equal(asked.length, 1);
});

test("a renewal that met no network or a busy server is tried again while the old token lasts", async () => {
  const { renew, asked, waits } = renewal({ answers: [new HttpError(0), new HttpError(503), { token: "new" }] });
  assert.equal(await renew(60_000), "new");
  assert.equal(asked.length, 3);
  assert.deepEqual(waits, [RETRY_DELAY_MS, RETRY_DELAY_MS]);
});

test("a renewal the server refuses, or that keeps failing, is not tried again", async () => {
  const refused = renewal({ answers: [new HttpError(401), { token: "new" }] });
  await assert.rejects(refused.renew(60_000), (err) => err.status === 401);
  assert.equal(refused.asked.length, 1);

  const failing = renewal({ answers: Array.from({ length: 5 }, () => new HttpError(0)) });
  await assert.rejects(failing.renew(60_000));
  assert.equal(failing.asked.length, MAX_RETRIES + 1);

  const late = renewal({ answers: [new HttpError(0), { token: "new" }], now: () => 58_000 });
  await assert.rejects(late.renew(60_000));
  assert.equal(late.asked.length, 1); // no time left to wait for another try
});

test("the token's expiry is kept beside it, and forgotten with a token stored without one", async () => {
  setToken("t1", "2026-01-01T00:00:00Z");
  assert.equal(getTokenExpiry(), Date.parse("2026-01-01T00:00:00Z"));
  setToken("t2");
  assert.equal(getToken(), "t2");
  assert.equal(getTokenExpiry(), null);
});

// -- on a connection ---------------------------------------------------------------------------------------

function live({ renew = async () => "fresh-token" } = {}) {
  const ended = [];
  const notices = [];
  const attach = createLiveSession({
    renew,
    handlers: () => ({ onEnded: (ending) => ended.push(ending), onNotice: (text) => notices.push(text) }),
  });
  return { attach, ended, notices };
}

test("session:expiring: a fresh token is fetched and handed to the connection with session:refresh", async () => {
  const asked = [];
  const { attach, notices } = live({ renew: async (expiresAt) => {
    asked.push(expiresAt);
    return "fresh-token";
  } });
  const socket = new FakeSocket();
  attach(socket);
  socket.receive("session:expiring", { expires_at: "2026-12-01T18:39:39+00:00" });
  await settle();
  assert.deepEqual(asked, [Date.parse("2026-12-01T18:39:39Z")]);
  assert.deepEqual(socket.emitted, [["session:refresh", { token: "fresh-token" }]]);
  assert.deepEqual(notices, [null]);
});

test("when no fresh token can be had or the connection refuses it, a quiet notice says the session will end", async () => {
  const failing = live({ renew: async () => {
    throw new HttpError(401);
  } });
  const socket = new FakeSocket();
  failing.attach(socket);
  socket.receive("session:expiring", { expires_at: "2026-12-01T18:39:39+00:00" });
  await settle();
  assert.deepEqual(socket.emitted, []);
  assert.deepEqual(failing.notices, [WILL_END_NOTICE]);

  for (const answer of [() => ({ ok: false, error: { code: "not_authenticated" } }), () => undefined]) {
    const refused = live();
    const other = new FakeSocket({ answer });
    refused.attach(other);
    other.receive("session:expiring", {});
    await settle();
    assert.equal(other.emitted.length, 1);
    assert.deepEqual(refused.notices, [WILL_END_NOTICE]);
  }
});

test("session:refresh refused as busy is sent again after the hint, with the same token", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const answers = [{ ok: false, error: { code: "busy", message: "Busy.", retry_after_ms: 200 } }, { ok: true }];
    const { attach, notices } = live();
    const socket = new FakeSocket({ answer: () => answers.shift() });
    attach(socket);
    socket.receive("session:expiring", {});
    await settle();
    assert.equal(socket.emitted.length, 1);
    assert.deepEqual(notices, [], "no notice while it waits");
    mock.timers.tick(300); // the hint and a jitter of less than half of it
    await settle();
    assert.deepEqual(socket.emitted, [["session:refresh", { token: "fresh-token" }],
      ["session:refresh", { token: "fresh-token" }]]);
    assert.deepEqual(notices, [null]);
  } finally {
    mock.timers.reset();
  }
});

test("a connection that dropped meanwhile is not asked: it connects again with the new token", async () => {
  const { attach, notices } = live();
  const socket = new FakeSocket({ connected: false });
  attach(socket);
  socket.receive("session:expiring", {});
  await settle();
  assert.deepEqual(socket.emitted, []);
  assert.deepEqual(notices, []);
});

test("session:ended reaches the app as an ending; rtc:ice_servers reaches the connection's media", () => {
  const { attach, ended } = live();
  const socket = new FakeSocket();
  const updates = [];
  attach(socket, { onIceServers: (update) => updates.push(update) });
  socket.receive("session:ended", { code: "account_disabled", message: "x" });
  assert.equal(ended.length, 1);
  assert.equal(ended[0].action, "sign_in");
  socket.receive("rtc:ice_servers", { ice_servers: [{ urls: ["stun:x"] }], ice_transport_policy: "all" });
  socket.receive("rtc:ice_servers", { nothing: true });
  assert.deepEqual(updates, [{ iceServers: [{ urls: ["stun:x"] }], iceTransportPolicy: "all" }]);
});
