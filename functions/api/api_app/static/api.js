// REST client: the access token lives in memory only; the refresh token is the HttpOnly cookie,
// refreshed with the CSRF double-submit header (the csrf_token cookie echoed in X-CSRF-Token).
// Every URL is relative to the page, so the screen works at / locally and at /<stage>/ on AWS.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let accessToken = null;
let refreshing = null;
const listeners = new Set();

export function onSession(fn) { listeners.add(fn); }
function announce(session) { for (const fn of listeners) fn(session); }

export function token() { return accessToken; }

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

// the envelope's message, or a readable fallback when the answer is not the envelope
async function failure(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const err = body && body.error;
  if (err && typeof err.message === "string") {
    let message = err.message;
    if (err.code === "validation_error" && Array.isArray(err.details) && err.details.length) {
      const d = err.details[0];
      const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
      message = `${message}: ${where ? where + " " : ""}${d.msg || ""}`.trim();
    }
    return new ApiError(res.status, err.code, message, err.details);
  }
  return new ApiError(res.status, "http_" + res.status, `the server answered ${res.status}`, null);
}

async function raw(method, path, { body, auth = true, headers = {} } = {}) {
  // a live view's snapshots (first view, a sequence gap) must be the instant state: past the
  // browser's cache and the api's 1 s memo of public market data (API.md "Public caching")
  const h = { Accept: "application/json", "Cache-Control": "no-cache", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (auth && accessToken) h.Authorization = `Bearer ${accessToken}`;
  return fetch(path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
}

export async function request(method, path, opts = {}) {
  let res = await raw(method, path, opts);
  if (res.status === 401 && opts.auth !== false && accessToken) {
    const again = await refresh();  // an expired access token: one refresh, then the request once more
    if (again) res = await raw(method, path, opts);
  }
  if (res.status === 204) return null;
  if (!res.ok) throw await failure(res);
  return res.json();
}

function adopt(session) {
  accessToken = session ? session.access_token : null;
  announce(session);
  return session;
}

export async function login(email, password) {
  return adopt(await request("POST", "api/auth/login", { body: { email, password }, auth: false }));
}

export async function register(email, password) {
  const display_name = email.split("@")[0].slice(0, 40);
  return adopt(await request("POST", "api/auth/register", { body: { email, password, display_name }, auth: false }));
}

// a new access token from the refresh cookie; null (signed out) when there is none or it is refused
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const csrf = cookie("csrf_token");
      if (!csrf) return adopt(null);
      try {
        return adopt(await request("POST", "api/auth/refresh", { auth: false, headers: { "X-CSRF-Token": csrf } }));
      } catch {
        return adopt(null);
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function logout() {
  const csrf = cookie("csrf_token");
  try {
    if (csrf) await request("POST", "api/auth/logout", { auth: false, headers: { "X-CSRF-Token": csrf } });
  } finally {
    adopt(null);
  }
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, { body });
export const del = (path) => request("DELETE", path);
