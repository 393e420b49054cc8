// The public API: fetch with the bearer token, token refresh; a problem+json error becomes an
// ApiError whose message is a sentence (problems.js words it).
//
// Tokens: the access token lives only in this module's memory; the refresh token is kept in
// sessionStorage (this tab, gone when the tab closes) so that a reload stays signed in. A tab
// opened or duplicated from another starts with a copy of it: tabs sharing a refresh token
// rotate it one at a time (a Web Lock) and the tab that rotates leaves the new pair for a
// while in localStorage, under a hash of the token it spent, where the others find it and
// adopt it rather than send a spent token, which the API treats as theft (it revokes the
// session). The page's CSP forbids inline and foreign script.

import { describeProblem } from "./problems.js";

const BASE = "/api/v1";
const REFRESH_KEY = "neo-events.refresh";
const REFRESH_MARGIN_S = 60; // refresh this long before the access token expires
const HANDOFF = "neo-events.rotated."; // + a hash of a spent refresh token: its successor pair
const HANDOFF_MIN_MS = 60000; // a hand-off stays this long, or the new access token's life if longer
const HANDOFF_HOLD_MS = 100; // the lock is kept this long after a hand-off, for it to reach the other tabs

let accessToken = null;
let currentUser = null;
let refreshTimer = null;
let refreshing = null;
let sessionId = null; // the sign-in (`sid`) of this tab's tokens, kept after it ends
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

function retrySeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
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
  const response = await call(method, path, options);
  return response.status === 204 ? null : response.json();
}

/** `api`, resolving to `{body, etag}`: for a later write with `If-Match`. */
export async function apiTagged(method, path, options = {}) {
  const response = await call(method, path, options);
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

async function call(method, path, options) {
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
  return response;
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

/** The sign-in a token belongs to (its `sid` claim); null if it cannot be read. */
function sidOf(jwt) {
  try {
    return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sid ?? null;
  } catch {
    return null;
  }
}

// Signing out on purpose signs out the other tabs of that sign-in at once (tabs opened from one
// another share it): they go to the sign-in page, rather than ask to sign in over the page.
const tabs = typeof BroadcastChannel === "function" ? new BroadcastChannel("neo-events.session") : null;
tabs?.addEventListener("message", (e) => {
  if (e.data?.type !== "signed-out" || e.data.sid == null || e.data.sid !== sessionId) return;
  sessionId = null;
  endSession("", { tell: true });
});

function adopt(pair) {
  accessToken = pair.access_token;
  sessionId = sidOf(pair.access_token);
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  if (pair.user) currentUser = pair.user;
  clearTimeout(refreshTimer);
  // A minute before expiry, or at three quarters of a short lifetime.
  const life = pair.expires_in || 900;
  const inSeconds = Math.max(5, life - REFRESH_MARGIN_S, life * 0.75);
  refreshTimer = setTimeout(() => refresh(), inSeconds * 1000);
  for (const fn of tokenListeners) fn(accessToken);
}

/** Where the pair that replaced `refreshToken` is handed to the other tabs. */
async function handoffKey(refreshToken) {
  // Without SubtleCrypto (a page not served over HTTPS): the token's signature, not the token.
  if (!crypto.subtle) return HANDOFF + refreshToken.split(".").pop();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(refreshToken));
  return HANDOFF + btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** The pair handed off under `key`, if it is still fresh; a stale one is removed. */
function handedOff(key) {
  let entry = null;
  try {
    entry = JSON.parse(localStorage.getItem(key));
  } catch {
    entry = null;
  }
  if (entry && entry.until > Date.now()) return entry;
  if (entry) localStorage.removeItem(key);
  return null;
}

/** Leave the pair that replaced `spent` for the other tabs holding `spent`, for a while. */
async function handOff(spent, pair) {
  const key = await handoffKey(spent);
  const now = Date.now();
  const life = (pair.expires_in || 900) * 1000;
  const entry = { access_token: pair.access_token, refresh_token: pair.refresh_token, expires_at: now + life };
  try {
    localStorage.setItem(key, JSON.stringify({ ...entry, until: now + Math.max(HANDOFF_MIN_MS, life) }));
  } catch {
    return; // storage full or refused: no hand-off (a tab sharing the token then ends the session)
  }
  setTimeout(() => localStorage.removeItem(key), Math.max(HANDOFF_MIN_MS, life));
  await new Promise((resolve) => setTimeout(resolve, HANDOFF_HOLD_MS));
}

/** Hand-offs whose time is up that a closed tab left behind (a tab removes its own in time). */
function sweepHandoffs() {
  for (let i = localStorage.length - 1; i >= 0; i -= 1) {
    const key = localStorage.key(i);
    if (key && key.startsWith(HANDOFF)) handedOff(key);
  }
}

/** Run `fn` while no other tab of this site refreshes (the Web Locks API, where there is one). */
function oneTabAtATime(fn) {
  return navigator.locks ? navigator.locks.request("neo-events.refresh", fn) : fn();
}

/** Trade the refresh token for a new pair; false (and signed out) if the session is gone.
 * Another tab sharing the token may have traded it already: its pair is adopted instead
 * (following the hand-offs, however many rotations this tab missed). */
export function refresh() {
  refreshing ??= oneTabAtATime(async () => {
    sweepHandoffs();
    let refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    let found = null;
    for (let entry; (entry = handedOff(await handoffKey(refreshToken))); refreshToken = entry.refresh_token) found = entry;
    if (found) {
      adopt({ ...found, expires_in: Math.max(1, (found.expires_at - Date.now()) / 1000) });
      return true;
    }
    let response;
    try {
      response = await send("POST", "/auth/refresh", { body: { refresh_token: refreshToken }, auth: false });
    } catch {
      return false; // offline: keep the session, the next request tries again
    }
    if (response.ok) {
      const pair = await response.json();
      adopt(pair);
      await handOff(refreshToken, pair);
      return true;
    }
    if (response.status === 401 || response.status === 400 || response.status === 422) {
      endSession("Your session has ended. Please sign in again.");
    }
    return false;
  }).finally(() => {
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
  if (sessionId != null) tabs?.postMessage({ type: "signed-out", sid: sessionId });
  sessionId = null;
  try {
    if (accessToken) await send("POST", "/auth/logout", { body: { refresh_token: refreshToken } });
  } finally {
    endSession("");
  }
}

/** Forget the session locally and tell the app (which shows the sign-in page, or with a
 * `reason`, asks to sign in again over the page); `tell`: even if it had already ended. */
export function endSession(reason, { tell = false } = {}) {
  const wasSignedIn = tell || accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
  accessToken = null;
  currentUser = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  if (wasSignedIn) for (const fn of signedOutListeners) fn(reason);
}
