// Small helpers every page shares: the JSON API, building DOM nodes, times.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector('input[name="csrfmiddlewaretoken"]');
  return field ? field.value : "";
}

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// fetch() a JSON endpoint; a FormData body is sent as multipart, anything else as JSON.
// Errors carry the API's own sentence ({"detail": ...}), which already names the field.
export async function api(url, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin", signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("Cannot reach the server. Check your connection and try again.", 0, {});
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(data.detail || `The server answered ${response.status}.`, response.status, data);
  }
  return data;
}

// el("p", {class: "x", onclick: fn}, "text", child) -> a DOM node.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

// 75.3 -> "1:15"; an hour or more -> "1:02:03".
export function formatTime(seconds) {
  const total = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

// Keyboard shortcuts must not fire while someone types or works a native control.
export function isTyping(target) {
  if (!target || !target.closest) return false;
  if (target.isContentEditable) return true;
  return Boolean(target.closest("textarea, select, input:not([type=range]):not([type=checkbox]):not([type=radio])"));
}

export const JOB_ACTIVE = new Set(["queued", "running"]);
