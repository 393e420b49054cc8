// DOM helpers. All text from the API goes in through textContent (h() children, never
// innerHTML), so nothing an event title contains can become markup.

/** h("button", {type: "button", onclick: f}, "Save") — attributes, handlers, text or nodes. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function id(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form control: field("Title", h("input", {...})). */
export function field(label, control, hint) {
  control.id ||= id();
  const hintNode = hint ? h("small", { id: `${control.id}-hint`, class: "hint" }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintNode);
}

const notice = () => document.getElementById("notice");

/** Show a message in the page's alert region (errors) or as a polite status. */
let noticeTimer = null;
export function showNotice(message, kind = "error") {
  const box = notice();
  clearTimeout(noticeTimer);
  // Confirmations fade after a while; errors stay until dismissed or replaced.
  if (kind !== "error") noticeTimer = setTimeout(clearNotice, 6000);
  document.getElementById("notice-text").textContent = message;
  box.className = `notice ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.hidden = false;
}

export function clearNotice() {
  clearTimeout(noticeTimer);
  notice().hidden = true;
}

/** Drop a confirmation when leaving the page it was about; keep errors. */
export function clearInfoNotice() {
  if (!notice().classList.contains("error")) clearNotice();
}

/** Run an async action; an error becomes a readable message (in `where` or the notice). */
export async function attempt(action, where) {
  try {
    return await action();
  } catch (error) {
    const message = error?.name === "ApiError" ? error.message : "Something went wrong. Please try again.";
    if (error?.name !== "ApiError") console.error(error);
    if (where) {
      where.textContent = message;
      where.hidden = false;
    } else {
      showNotice(message);
    }
    return undefined;
  }
}

/** An inline error paragraph for a form (role=alert so it is announced). */
export function errorBox() {
  return h("p", { class: "form-error", role: "alert", hidden: true });
}

/** A modal <dialog>: returns it open; removed from the page when closed. Focus returns to
 * the opener in the task that closed it (Escape, a button): the close event comes a task
 * later (100 ms on a loaded machine), by when a key pressed right after Escape ("/") may have
 * moved the focus on, which a return then would take back. */
export function modal(title, ...content) {
  const opener = document.activeElement;
  // Where the focus goes back if the opener is gone by then (the grid redrawn under the
  // dialog by a live change): the element drawn in its place (the same data-focus-key), else
  // the nearest of its containers still on the page that takes the focus (tabindex).
  const key = opener?.dataset?.focusKey;
  const homes = [];
  for (let node = opener?.parentElement; node; node = node.parentElement) if (node.hasAttribute("tabindex")) homes.push(node);
  const heading = h("h2", { id: id("dlg") }, title);
  const close = h("button", { type: "button", class: "icon close", "aria-label": "Close" }, "×");
  const dialog = h("dialog", { "aria-labelledby": heading.id }, h("div", { class: "dialog-head" }, heading, close), ...content);
  close.addEventListener("click", () => dialog.close());
  // The browser gives the focus back as the dialog closes only to an opener that had it and
  // is still on the page: else (opened by a click on empty time, or the opener redrawn) the
  // focus stays in the closed dialog's field, where the next key would go. The observer runs
  // at the end of the task that closed it, before the next key.
  const closing = new MutationObserver(() => {
    if (dialog.open) return;
    closing.disconnect();
    if (!dialog.contains(document.activeElement)) return; // returned, or moved on since: stays
    const successor = key ? document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`) : null;
    (opener?.isConnected ? opener : successor || homes.find((node) => node.isConnected))?.focus();
    if (dialog.contains(document.activeElement)) document.activeElement.blur(); // nowhere to return to
  });
  closing.observe(dialog, { attributes: true, attributeFilter: ["open"] });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Ask before doing something; resolves true when confirmed. `keepLabel` names the way out
 * when "Cancel" would be ambiguous (next to "Cancel this occurrence"). */
export function confirmAction(question, confirmLabel, keepLabel = "Cancel") {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h("button", { type: "button", class: "primary danger" }, confirmLabel);
    const no = h("button", { type: "button" }, keepLabel);
    const dialog = modal("Please confirm", h("p", {}, question), h("div", { class: "actions" }, no, yes));
    dialog.setAttribute("role", "alertdialog");
    yes.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    no.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => resolve(answer));
    no.focus();
  });
}

// Times: shown in the browser's zone.
// Zones the tz database renamed: the old name is a link to the new one. Engines name a zone
// either way (Chromium's ICU says Asia/Calcutta, the API and most data Asia/Kolkata), and
// some canonicalise names as they resolve them, some keep the name given.
const RENAMED = {
  "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon", "Asia/Dacca": "Asia/Dhaka", "Asia/Thimbu": "Asia/Thimphu",
  "Asia/Ulan_Bator": "Asia/Ulaanbaatar", "Asia/Macao": "Asia/Macau", "Asia/Ujung_Pandang": "Asia/Makassar",
  "Europe/Kiev": "Europe/Kyiv", "Europe/Uzhgorod": "Europe/Kyiv", "Europe/Zaporozhye": "Europe/Kyiv",
  "Atlantic/Faeroe": "Atlantic/Faroe", "America/Godthab": "America/Nuuk", "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei", "Pacific/Enderbury": "Pacific/Kanton",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires", "America/Catamarca": "America/Argentina/Catamarca",
  "America/Cordoba": "America/Argentina/Cordoba", "America/Jujuy": "America/Argentina/Jujuy",
  "America/Mendoza": "America/Argentina/Mendoza", "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville",
  "Etc/UTC": "UTC", "Etc/UCT": "UTC", "Etc/Universal": "UTC", "Etc/Zulu": "UTC", UCT: "UTC", Universal: "UTC", Zulu: "UTC",
};

/** A zone by its current tz database name, whichever name it was given by: "Asia/Calcutta"
 * and "Asia/Kolkata" are "Asia/Kolkata" (an unknown name stays as it is). */
export function zoneName(zone) {
  if (!zoneNames.has(zone)) {
    let resolved = zone;
    try {
      resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    } catch {
      // a zone this browser does not know: its name as given
    }
    zoneNames.set(zone, RENAMED[resolved] || RENAMED[zone] || resolved);
  }
  return zoneNames.get(zone);
}
const zoneNames = new Map();

/** Whether two zone names name one zone ("Asia/Calcutta" is "Asia/Kolkata"). */
export const sameZone = (a, b) => a === b || (Boolean(a && b) && zoneName(a) === zoneName(b));

/** The browser's zone, by its current name (Chromium reports some by their old ones). */
export const browserZone = zoneName(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");

/** A <datalist> of the zones this browser knows, for an input to suggest from. */
export function zoneList(listId) {
  const list = h("datalist", { id: listId });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [browserZone];
  for (const z of zones) list.append(h("option", { value: z }));
  return list;
}
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const longFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

export const formatTime = (d) => timeFmt.format(new Date(d));
export const formatDay = (d) => dayFmt.format(new Date(d));
export const formatDateTime = (d) => longFmt.format(new Date(d));
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric" });

/** "2026-10-22" (and `days` later) → that date's midnight in this browser; null for no date or
 * a malformed one. An all-day event's dates are the same days in every zone (SPEC §4). */
export function localDate(text, days = 0) {
  const [y, m, d] = (text || "").split("-").map(Number);
  const date = new Date(y, m - 1, d + days);
  return text && !Number.isNaN(date.getTime()) ? date : null;
}

/** Where an event (an occurrence) starts as the calendar draws it: an all-day one on its
 * first date, the same day in every zone (this browser's midnight), a timed one at its instant. */
export const eventStart = (e) => (e.all_day && e.start_date ? localDate(e.start_date) : new Date(e.start_time));
/** "Fri, 15 Jan 2027, all day", or the date and time a timed event starts. */
export const formatWhen = (e) => (e.all_day && e.start_date ? `${dateFmt.format(eventStart(e))}, all day` : formatDateTime(e.start_time));

/** "2026-10-22T09:00" for a datetime-local input, in the browser's zone. */
export function toLocalInput(d) {
  const t = new Date(d);
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** A datetime-local value (browser zone) as an RFC 3339 instant. */
export function fromLocalInput(value) {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return null;
  return t.toISOString();
}

/** "2026-10-19" of a local date. */
export function isoDate(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The local date `n` days after `date`'s: by calendar date, not by 24 h (a DST day has 23
 * or 25 hours). */
export function addDays(date, n) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + n);
}

export const DAY_MS = 86400000;

/** The browser's locale (dates and times are formatted in it with Intl). */
export const locale = (navigator.languages && navigator.languages[0]) || navigator.language || "en";

/** The first day of the week in the browser's locale: 0 Sunday … 6 Saturday. */
export function weekStart() {
  try {
    const loc = new Intl.Locale(locale);
    const info = typeof loc.getWeekInfo === "function" ? loc.getWeekInfo() : loc.weekInfo;
    if (info && info.firstDay) return info.firstDay % 7;
  } catch {
    // an old browser: Monday, as ISO 8601
  }
  return 1;
}

/** The wall time of an instant in another zone, with the zone's city: "15:00 New York". */
export function timeIn(d, zone) {
  const fmt = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  return `${fmt.format(new Date(d))} ${zoneCity(zone)}`;
}

const wallFormats = new Map();

/** The wall clock of instant `t` (ms) in `zone`, as the ms of that wall time read as UTC. */
function wallOf(t, zone) {
  let fmt = wallFormats.get(zone);
  if (!fmt) {
    const parts = { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
    fmt = new Intl.DateTimeFormat("en-US", { ...parts, hourCycle: "h23", timeZone: zone });
    wallFormats.set(zone, fmt);
  }
  const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
}

/** The instant whose wall clock in `zone` reads `wall`; a time a change skips is read with
 * the offset before the change, as RFC 5545 reads it (02:30 becomes 03:30). */
function instantOf(wall, zone) {
  const first = wall - (wallOf(wall, zone) - wall);
  const o2 = wallOf(first, zone) - first;
  const second = wall - o2;
  const o3 = wallOf(second, zone) - second;
  return o2 === o3 ? second : wall - Math.max(o2, o3);
}

/** Where a series starting at `seriesStart` starts once it moves as one occurrence moved
 * from `from` to `to`: by as many days and minutes of the series' own zone's wall clock, so
 * a move of a day across a DST change keeps the series at its hour. */
export function movedLike(seriesStart, from, to, zone) {
  const [s, f, t] = [seriesStart, from, to].map((d) => new Date(d).getTime());
  try {
    return new Date(instantOf(wallOf(s, zone) + wallOf(t, zone) - wallOf(f, zone), zone));
  } catch {
    return new Date(s + t - f); // a zone this browser does not know: the same instant shift
  }
}

/** Days between the dates instants `from` and `to` fall on in `zone` (Monday 23:30 moved to
 * Tuesday 00:30 is a day). */
export function daysMoved(from, to, zone) {
  const [f, t] = [from, to].map((d) => new Date(d).getTime());
  try {
    return Math.floor(wallOf(t, zone) / DAY_MS) - Math.floor(wallOf(f, zone) / DAY_MS);
  } catch {
    return Math.round((t - f) / DAY_MS);
  }
}

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/** A series' rule once the series moves `days` days: its BYDAY weekdays as many days later
 * (Monday's weekly meeting moved to Tuesday recurs on Tuesdays), and every other week its
 * WKST too. Kept as it is: numbered weekdays (`1MO`), every weekday (MO-FR), and rules that
 * pick days by another part too. The server's `rrule.weekdays_moved` is the same rule, for
 * "this and following". */
export function weekdaysMoved(rule, days) {
  const shift = ((days % 7) + 7) % 7;
  if (!rule || !shift) return rule;
  const parts = rule.split(";");
  const names = parts.map((p) => p.split("=")[0].trim().toUpperCase());
  const at = names.indexOf("BYDAY");
  if (at < 0 || names.some((n) => ["BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"].includes(n))) return rule;
  const days7 = parts[at].split("=")[1].split(",").map((d) => d.trim().toUpperCase());
  if (!days7.every((d) => WEEKDAYS.includes(d))) return rule;
  if (days7.length === 5 && WEEKDAYS.slice(0, 5).every((d) => days7.includes(d))) return rule; // every weekday stays so
  const moved = (d) => WEEKDAYS[(WEEKDAYS.indexOf(d) + shift) % 7];
  parts[at] = "BYDAY=" + days7.map(moved).join(",");
  // every other week: the week's first day moves too, so the days stay in one week
  const value = (name) => (parts.find((p) => p.split("=")[0].trim().toUpperCase() === name) || "").split("=")[1];
  if (Number(value("INTERVAL") || 1) > 1) {
    const wkst = `WKST=${moved((value("WKST") || "MO").trim().toUpperCase())}`;
    const w = names.indexOf("WKST");
    if (w >= 0) parts[w] = wkst;
    else parts.push(wkst);
  }
  return parts.join(";");
}

/** "America/New_York" → "New York"; "UTC" stays. */
export function zoneCity(zone) {
  return zone.split("/").pop().replaceAll("_", " ");
}

/** A plain Error whose message is for people (shown as an API error is). */
export function userError(message) {
  return Object.assign(new Error(message), { name: "ApiError" });
}
