// The program console's REST calls (docs/protocol.md 4.2-4.5), through api.js's request(): every failure is an
// ApiError whose message is the server's own sentence, safe to show.
import { request } from "../api.js";

const enc = encodeURIComponent;

export const USER_PAGE_MAX = 500; // the server's largest page of people

export const getUsers = (limit, offset, signal) =>
  request("GET", `/api/users?limit=${enc(limit)}&offset=${enc(offset)}`, { signal });

/** Every account, read page by page (for the pickers and for naming people by id); at most `pages` pages. */
export async function getAllUsers(signal, pages = 40) {
  const all = [];
  for (let page = 0; page < pages; page += 1) {
    const data = await getUsers(USER_PAGE_MAX, page * USER_PAGE_MAX, signal);
    const users = Array.isArray(data?.users) ? data.users : [];
    all.push(...users);
    if (users.length < USER_PAGE_MAX) break;
  }
  return all;
}

export const createUser = (body) => request("POST", "/api/users", { body });
export const updateUser = (id, body) => request("PATCH", `/api/users/${enc(id)}`, { body });

export const getEveryGroup = (signal) => request("GET", "/api/groups?all=true", { signal });
export const createGroup = (body) => request("POST", "/api/groups", { body });
export const updateGroup = (id, body) => request("PATCH", `/api/groups/${enc(id)}`, { body });
export const getMembers = (id, signal) => request("GET", `/api/groups/${enc(id)}/members`, { signal });
export const addMember = (id, userId, role) =>
  request("POST", `/api/groups/${enc(id)}/members`, { body: { user_id: userId, role } });
// Answers 204 with no body: resolves to null.
export const removeMember = (id, userId) => request("DELETE", `/api/groups/${enc(id)}/members/${enc(userId)}`);

export const getPairings = (active, signal) => request("GET", `/api/pairings?active=${active ? "true" : "false"}`,
  { signal });
export const createPairing = (body) => request("POST", "/api/pairings", { body });
export const endPairing = (id) => request("DELETE", `/api/pairings/${enc(id)}`);

export const getAudit = (query, signal) => request("GET", `/api/audit?${query}`, { signal });
