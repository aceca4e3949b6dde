// The bearer token lives in sessionStorage, not localStorage: devices may be
// shared, and closing the tab should end the session on that device.
const TOKEN_KEY = "haven.token";

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled (e.g. strict privacy settings)
  }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored, nothing to clear
  }
}
