// The bearer token lives in sessionStorage, not localStorage: devices may be
// shared, and closing the tab should end the session on that device.
const TOKEN_KEY = "haven.token";
// When the token expires (milliseconds since the epoch), so that connections renewing it together renew it once.
const EXPIRES_KEY = "haven.token.expires_at";

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled (e.g. strict privacy settings)
  }
}

// expiresAt: the server's "expires_at" (an ISO 8601 time), or milliseconds since the epoch; null if unknown.
export function setToken(token, expiresAt = null) {
  sessionStorage.setItem(TOKEN_KEY, token);
  const ms = typeof expiresAt === "number" ? expiresAt : Date.parse(expiresAt ?? "");
  if (Number.isFinite(ms)) sessionStorage.setItem(EXPIRES_KEY, String(ms));
  else sessionStorage.removeItem(EXPIRES_KEY);
}

// When the stored token expires, in milliseconds since the epoch, or null if that is not known.
export function getTokenExpiry() {
  try {
    const ms = Number(sessionStorage.getItem(EXPIRES_KEY) ?? NaN);
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EXPIRES_KEY);
  } catch {
    // nothing stored, nothing to clear
  }
}
