// Thin wrapper around fetch for the Haven REST API.
// Every failure becomes an ApiError whose .message is safe to show a person;
// raw response bodies are never surfaced.
import { getToken } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

// Called when an authenticated request comes back 401 (token expired or revoked).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

function fallbackMessage(status) {
  if (status >= 500) return "The server ran into a problem. Please try again in a moment.";
  if (status === 401) return "Please sign in again.";
  if (status === 403) return "You don't have access to that.";
  if (status === 404) return "That could not be found.";
  return `Something went wrong (error ${status}).`;
}

// signOutOn401: false for a request whose 401 the caller handles itself (renewing the token: the session's end is
// announced on the live connection, with the reason).
export async function request(method, path, { body, auth = true, signal, signOutOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = auth ? getToken() : null;
  if (token) headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
    });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Could not reach Haven. Check your connection and try again.");
  }

  // 204 No Content (a removal): success with nothing to read.
  if (response.status === 204) return null;

  let data = null;
  try {
    data = await response.json();
  } catch {
    // empty or non-JSON body; handled below
  }

  if (!response.ok) {
    const error = data && typeof data === "object" ? data.error : null;
    const message =
      error && typeof error.message === "string" && error.message.trim()
        ? error.message
        : fallbackMessage(response.status);
    const code = error && typeof error.code === "string" ? error.code : `http_${response.status}`;
    if (response.status === 401 && token && signOutOn401) onUnauthorized();
    throw new ApiError(response.status, code, message);
  }
  if (data === null) {
    throw new ApiError(response.status, "bad_response", "The server sent an unexpected reply.");
  }
  return data;
}

export const login = (email, password) =>
  request("POST", "/api/auth/login", { body: { email, password }, auth: false });

// A fresh token for the signed-in person: {token, expires_at, user}.
export const refreshToken = () => request("POST", "/api/auth/refresh", { signOutOn401: false });

export const getMe = (signal) => request("GET", "/api/me", { signal });

export const getGroups = (signal) => request("GET", "/api/groups", { signal });

// Every group, archived ones too (administrators only).
export const getAllGroups = (signal) => request("GET", "/api/groups?all=true", { signal });

export const getGroup = (id, signal) => request("GET", `/api/groups/${encodeURIComponent(id)}`, { signal });

export const getContacts = (signal) => request("GET", "/api/contacts", { signal });

export const getCalls = (limit, signal) => request("GET", `/api/calls?limit=${encodeURIComponent(limit)}`, { signal });

// Every conversation of the signed-in person, with unread counts: {conversations: [{conversation, kind, title,
// last_seq, unread, relationship (direct ones)}]} (docs/protocol.md 7.5): their groups' rooms and everyone they may
// message now.
export const getConversations = (signal) => request("GET", "/api/conversations", { signal });

// The program's help and crisis line, for anyone: {help_text: string|null}. No token is sent: the sign-in page asks.
export const getHelp = (signal) => request("GET", "/api/help", { auth: false, signal });
