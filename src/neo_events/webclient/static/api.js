// The public API: fetch with the bearer token, token refresh, problem+json → readable errors.
//
// Tokens: the access token lives only in this module's memory; the refresh token is kept in
// sessionStorage (this tab only, gone when the tab closes) so that a reload stays signed in.
// Each tab holds its own session, so two tabs never race to rotate one refresh token (which
// the API would treat as theft and revoke). The page's CSP forbids inline and foreign script.

const BASE = "/api/v1";
const REFRESH_KEY = "neo-events.refresh";
const REFRESH_MARGIN_S = 60; // refresh this long before the access token expires

let accessToken = null;
let currentUser = null;
let refreshTimer = null;
let refreshing = null;
const signedOutListeners = new Set();
const tokenListeners = new Set();

/** An API error with a message a person can read; `problem` is the problem+json body. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "", problem = null, retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export function user() {
  return currentUser;
}

export function token() {
  return accessToken;
}

/** `fn(reason)` runs when the session ends (sign-out, revoked or expired session). */
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
}

/** `fn(token)` runs when a new access token arrives (the WebSocket reconnects with it). */
export function onToken(fn) {
  tokenListeners.add(fn);
}

// Field names as the forms call them: an error never shows an internal name.
const FIELD_LABELS = {
  title: "Title", description: "Description", location: "Location", start_time: "Start", end_time: "End",
  start_date: "Start date", end_date: "End date", all_day: "All day", timezone: "Time zone",
  recurrence_pattern: "Repeat rule", is_recurring: "Repeats", exdates: "Cancelled occurrences",
  rdates: "Extra occurrences", username: "Username", email: "Email", password: "Password",
  minutes_before: "Reminder", reminders: "Reminders", url: "URL", events: "Event types", name: "Name",
  role: "Role", user_id: "Person", recurrence_id: "Occurrence", startTime: "Start", endTime: "End",
  users: "People", user_ids: "People", duration_minutes: "Length", working_hours: "Working hours",
  granularity_minutes: "Step", response: "Answer", comment: "Comment",
};

/** `["body", "end_time"]` → "End"; list positions and transport parts are left out. */
export function fieldName(loc) {
  const parts = (loc || []).filter((p) => typeof p === "string" && !["body", "query", "path", "header"].includes(p));
  const last = parts[parts.length - 1];
  if (!last) return "";
  return FIELD_LABELS[last] || last.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

/** A validator's message as a sentence: no "Value error, ", no snake_case names. */
export function readableMessage(msg) {
  let text = String(msg || "").replace(/^(Value|Assertion) error,\s*/i, "");
  text = text.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) => (FIELD_LABELS[name] || name.replaceAll("_", " ")).toLowerCase());
  text = text.replace(/^(?:String|List) should have at least 1 (?:character|item)\b.*$/, "must not be empty");
  text = text.replace(/^String should have at most (\d+) characters?$/, "must be at most $1 characters long");
  text = text.replace(/^String should have at least (\d+) characters?$/, "must be at least $1 characters long");
  text = text.replace(/^(?:Input|Value|String|List) should /, "must ");
  text = text.replace(/^Field required$/, "is required");
  return text;
}

// How a message that says something of its field begins ("must be…", "is required"): it
// follows the field's name. Any other message ("the URL points at…", "at most 5 reminders
// per event", "no such user") is a sentence of its own, and names what it is about itself.
const PREDICATE = /^(?:must|is|are|was|should|cannot|can|may|has|have|needs?|appears|contains|does)\b/;

/** One field error as a sentence: "Name must not be empty", "The URL points at…". */
export function fieldError(loc, msg) {
  const name = fieldName(loc);
  const text = readableMessage(msg).replace(/\.$/, "");
  return name && PREDICATE.test(text) ? `${name} ${text}` : text.replace(/^./, (c) => c.toUpperCase());
}

function retrySeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** A sentence from a problem+json body (RFC 9457), never the raw JSON. */
export function describeProblem(problem, status, retryAfter) {
  if (status === 429) {
    const when = retryAfter == null ? "in a moment" : `in ${retryAfter} second${retryAfter === 1 ? "" : "s"}`;
    return `Too many requests. Please try again ${when}.`;
  }
  if (!problem || typeof problem !== "object") {
    return status >= 500 ? "The server had a problem. Please try again." : `The request failed (HTTP ${status}).`;
  }
  if (Array.isArray(problem.errors) && problem.errors.length) {
    const lines = problem.errors.slice(0, 5).map((e) => fieldError(e.loc, e.msg));
    return `${problem.title || "The request is not valid"}. ${lines.join("; ")}.`;
  }
  const title = problem.title || `HTTP ${status}`;
  const detail = problem.detail && problem.detail !== title ? ` ${readableMessage(problem.detail)}` : "";
  return `${title}.${detail}`.replace(/\.\./g, ".");
}

async function errorFrom(response) {
  let problem = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
  }
  const retryAfter = retrySeconds(response);
  return new ApiError(describeProblem(problem, response.status, retryAfter), {
    status: response.status,
    code: problem?.code || "",
    problem,
    retryAfter,
  });
}

async function send(method, path, { body, query, auth = true, headers: extra = {} } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError("Cannot reach the server. Check your connection and try again.");
  }
}

/** Call the API; a 401 refreshes the session once and retries. Resolves to the JSON body. */
export async function api(method, path, options = {}) {
  let response = await send(method, path, options);
  if (response.status === 401 && options.auth !== false && sessionStorage.getItem(REFRESH_KEY)) {
    if (await refresh()) response = await send(method, path, options);
  }
  if (response.status === 401 && options.auth !== false) {
    const error = await errorFrom(response);
    endSession("Your session has ended. Please sign in again.");
    throw error;
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Every page of a paginated list (`{items, next_cursor}`). */
export async function allPages(path, query = {}) {
  return (await pages(path, { ...query, limit: 500 })).items;
}

/** Pages of a paginated list, following `next_cursor` until `enough` items or `most` pages;
 * `more`: whether the list goes on. A page may hold fewer items than `limit`, or none, while
 * more follow (a search reads a bounded amount of text a page: docs/api.md). */
export async function pages(path, query = {}, { enough = Infinity, most = Infinity } = {}) {
  const items = [];
  let cursor = null;
  let read = 0;
  do {
    const page = await api("GET", path, { query: { ...query, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
    read += 1;
  } while (cursor && items.length < enough && read < most);
  return { items, more: Boolean(cursor) };
}

function adopt(pair) {
  accessToken = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  if (pair.user) currentUser = pair.user;
  clearTimeout(refreshTimer);
  // A minute before expiry, or at three quarters of a short lifetime.
  const life = pair.expires_in || 900;
  const inSeconds = Math.max(5, life - REFRESH_MARGIN_S, life * 0.75);
  refreshTimer = setTimeout(() => refresh(), inSeconds * 1000);
  for (const fn of tokenListeners) fn(accessToken);
}

/** Trade the refresh token for a new pair; false (and signed out) if the session is gone. */
export function refresh() {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    let response;
    try {
      response = await send("POST", "/auth/refresh", { body: { refresh_token: refreshToken }, auth: false });
    } catch {
      return false; // offline: keep the session, the next request tries again
    }
    if (response.ok) {
      adopt(await response.json());
      return true;
    }
    if (response.status === 401 || response.status === 400 || response.status === 422) {
      endSession("Your session has ended. Please sign in again.");
    }
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Resume this tab's session after a reload; false when there is none. */
export async function resume() {
  if (!sessionStorage.getItem(REFRESH_KEY)) return false;
  if (!(await refresh())) return false;
  currentUser = await api("GET", "/auth/me");
  return true;
}

export async function signIn(username, password) {
  adopt(await api("POST", "/auth/login", { body: { username, password }, auth: false }));
}

export async function signUp(username, email, password) {
  adopt(await api("POST", "/auth/register", { body: { username, email, password }, auth: false }));
}

export async function signOut() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (accessToken) await send("POST", "/auth/logout", { body: { refresh_token: refreshToken } });
  } finally {
    endSession("");
  }
}

/** Forget the session locally and tell the app (which shows the sign-in page). */
export function endSession(reason) {
  const wasSignedIn = accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
  accessToken = null;
  currentUser = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  if (wasSignedIn) for (const fn of signedOutListeners) fn(reason);
}
