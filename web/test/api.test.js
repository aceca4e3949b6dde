// Unit tests for the REST wrapper, with fetch and sessionStorage stubbed.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";

const store = new Map();
globalThis.sessionStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};

const { request, login, getGroups, getConversations, getHelp, setUnauthorizedHandler, ApiError } =
  await import("../src/api.js");
const { setToken, getToken, clearToken } = await import("../src/session.js");

let calls;
function respond(status, body) {
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(body === undefined ? null : text, { status });
  };
}

beforeEach(() => {
  calls = [];
  store.clear();
  setUnauthorizedHandler(() => {});
});

test("token is kept under haven.token in sessionStorage", () => {
  setToken("abc");
  assert.equal(store.get("haven.token"), "abc");
  assert.equal(getToken(), "abc");
  clearToken();
  assert.equal(getToken(), null);
});

test("login posts JSON without a bearer token", async () => {
  setToken("stale");
  respond(200, { token: "t1", user: { id: 1, role: "member", display_name: "Ana" } });
  const data = await login("a@example.org", "pw");
  assert.equal(data.token, "t1");
  assert.equal(calls[0].url, "/api/auth/login");
  assert.equal(calls[0].init.method, "POST");
  assert.deepEqual(JSON.parse(calls[0].init.body), { email: "a@example.org", password: "pw" });
  assert.equal(calls[0].init.headers.Authorization, undefined);
});

test("authenticated calls send the bearer token", async () => {
  setToken("t2");
  respond(200, { groups: [] });
  assert.deepEqual(await getGroups(), { groups: [] });
  assert.equal(calls[0].init.headers.Authorization, "Bearer t2");
});

test("error bodies surface only error.message", async () => {
  respond(401, { error: { code: "bad_credentials", message: "Email or password is incorrect." } });
  await assert.rejects(login("a@example.org", "x"), (err) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 401);
    assert.equal(err.code, "bad_credentials");
    assert.equal(err.message, "Email or password is incorrect.");
    return true;
  });
});

test("non-JSON error bodies get a friendly fallback, never raw text", async () => {
  respond(502, "<html>Bad gateway</html>");
  await assert.rejects(request("GET", "/api/me"), (err) => {
    assert.equal(err.status, 502);
    assert.doesNotMatch(err.message, /html/i);
    return true;
  });
});

test("401 on an authenticated call triggers the unauthorized handler", async () => {
  let fired = 0;
  setUnauthorizedHandler(() => fired++);
  setToken("expired");
  respond(401, { error: { code: "unauthorized", message: "Session expired." } });
  await assert.rejects(getGroups());
  assert.equal(fired, 1);
});

test("a failed login does not trigger the unauthorized handler", async () => {
  let fired = 0;
  setUnauthorizedHandler(() => fired++);
  respond(401, { error: { code: "bad_credentials", message: "Nope." } });
  await assert.rejects(login("a@example.org", "x"));
  assert.equal(fired, 0);
});

test("network failure becomes a readable ApiError", async () => {
  globalThis.fetch = async () => { throw new TypeError("fetch failed"); };
  await assert.rejects(getGroups(), (err) => err.code === "network" && /reach Haven/.test(err.message));
});

test("conversations are read with the token", async () => {
  setToken("t3");
  respond(200, { conversations: [] });
  assert.deepEqual(await getConversations(), { conversations: [] });
  assert.equal(calls[0].url, "/api/conversations");
  assert.equal(calls[0].init.headers.Authorization, "Bearer t3");
});

test("a 204 reply (a removal, no body) resolves to null", async () => {
  setToken("t5");
  respond(204);
  assert.equal(await request("DELETE", "/api/groups/g/extra-sessions/x"), null);
  assert.equal(calls[0].init.method, "DELETE");
  // Any other success still needs a JSON body.
  respond(200, "");
  await assert.rejects(request("GET", "/api/me"), (err) => err.code === "bad_response");
});

test("the help line is asked without a token (the sign-in page shows it)", async () => {
  setToken("t4");
  let unauthorized = 0;
  setUnauthorizedHandler(() => { unauthorized += 1; });
  respond(200, { help_text: "Call 0800 123 456\nany time" });
  assert.deepEqual(await getHelp(), { help_text: "Call 0800 123 456\nany time" });
  assert.equal(calls[0].url, "/api/help");
  assert.equal(calls[0].init.headers.Authorization, undefined);
  assert.equal(unauthorized, 0);
});
