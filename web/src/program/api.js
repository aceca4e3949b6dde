// The program's REST calls (schedules, sessions, attendance, agreements, check-ins, support requests), through
// api.js's request(): every failure is an ApiError whose message is safe to show.
import { ApiError, request } from "../api.js";
import { getToken } from "../session.js";
import { csvFileName } from "./attendance.js";

const g = (id) => `/api/groups/${encodeURIComponent(id)}`;
const range = (from, to) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

export const getMySessions = (signal) => request("GET", "/api/me/sessions", { signal });
export const getSessions = (groupId, from, to, signal) =>
  request("GET", `${g(groupId)}/sessions?${range(from, to)}`, { signal });

// Administrators only (the server says so otherwise).
export const setGroupTimeZone = (groupId, timezone) => request("PATCH", g(groupId), { body: { timezone } });

export const getSchedules = (groupId, signal) => request("GET", `${g(groupId)}/schedules`, { signal });
export const addSchedule = (groupId, body) => request("POST", `${g(groupId)}/schedules`, { body });
export const updateSchedule = (groupId, scheduleId, body) =>
  request("PATCH", `${g(groupId)}/schedules/${encodeURIComponent(scheduleId)}`, { body });
export const deleteSchedule = (groupId, scheduleId) =>
  request("DELETE", `${g(groupId)}/schedules/${encodeURIComponent(scheduleId)}`);
export const cancelDate = (groupId, scheduleId, body) =>
  request("POST", `${g(groupId)}/schedules/${encodeURIComponent(scheduleId)}/cancellations`, { body });
export const restoreDate = (groupId, scheduleId, date) =>
  request("DELETE", `${g(groupId)}/schedules/${encodeURIComponent(scheduleId)}/cancellations/${encodeURIComponent(date)}`);
export const addExtraSession = (groupId, body) => request("POST", `${g(groupId)}/extra-sessions`, { body });
export const deleteExtraSession = (groupId, id) =>
  request("DELETE", `${g(groupId)}/extra-sessions/${encodeURIComponent(id)}`);

export const getAttendance = (sessionId, signal) =>
  request("GET", `/api/sessions/${encodeURIComponent(sessionId)}/attendance`, { signal });
export const signOff = (sessionId, note) =>
  request("POST", `/api/sessions/${encodeURIComponent(sessionId)}/sign-off`, { body: note ? { note } : {} });
export const addCorrection = (sessionId, body) =>
  request("POST", `/api/sessions/${encodeURIComponent(sessionId)}/corrections`, { body });

export const getAgreement = (groupId, signal) => request("GET", `${g(groupId)}/agreement`, { signal });
export const acceptAgreement = (groupId, version) =>
  request("POST", `${g(groupId)}/agreement/accept`, { body: { version } });
export const setAgreement = (groupId, text) => request("PUT", `${g(groupId)}/agreement`, { body: { text } });

export const getCheckins = (groupId, from, to, signal) =>
  request("GET", `${g(groupId)}/checkins?${range(from, to)}`, { signal });
// A mentee's sharing of their check-ins with each mentor, and a member's check-in history as the reader may see it.
export const getCheckinSharing = (signal) => request("GET", "/api/me/checkin-sharing", { signal });
export const setCheckinSharing = (mentorId, shared) =>
  request("PUT", "/api/me/checkin-sharing", { body: { mentor_id: mentorId, shared } });
export const getUserCheckins = (userId, signal) =>
  request("GET", `/api/users/${encodeURIComponent(userId)}/checkins`, { signal });
export const getOpenSupport = (groupId, signal) =>
  request("GET", `${g(groupId)}/support-requests?open=true`, { signal });

/** A CSV report read with the person's token: {text, fileName}. Throws ApiError like request(). */
export async function fetchCsv(path, fallbackDate = "") {
  let response;
  try {
    response = await fetch(path, {
      headers: { Accept: "text/csv", Authorization: `Bearer ${getToken() || ""}` },
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "Could not reach Haven. Check your connection and try again.");
  }
  if (!response.ok) {
    let message = `The report could not be read (error ${response.status}).`;
    try {
      const data = await response.json();
      if (typeof data?.error?.message === "string" && data.error.message.trim()) message = data.error.message;
    } catch {
      // not JSON: the plain sentence stands
    }
    throw new ApiError(response.status, `http_${response.status}`, message);
  }
  return { text: await response.text(), fileName: csvFileName(response.headers.get("Content-Disposition"), fallbackDate) };
}

/** Hands a text to the browser as a downloaded file. */
export function saveFile(text, fileName, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
