// Moving or resizing an occurrence (drag and drop, or the keyboard): one occurrence, it and
// the following ones, or the series as the person chooses; a schedule conflict is shown
// before anything is saved (with the free times the API suggests); an If-Match clash is
// explained with "reload" or "apply my change to their version", never a silent overwrite;
// a clash of the same fields asks "keep theirs" or "use mine" (`clashChoice`, the event
// dialog's too).

import { api } from "./api.js";
import { fieldName } from "./problems.js";
import { daysMoved, formatDateTime, h, isoDate, localDate, locale, modal, movedLike, showNotice, weekdaysMoved } from "./ui.js";

const range = (start, end) => {
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short" });
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  return `${day.format(start)} ${time.format(start)}–${time.format(end)}`;
};

/** Ask a question with buttons; resolves to the chosen value, or null (closed). */
export function choose(title, body, choices) {
  return new Promise((resolve) => {
    let answer = null;
    const buttons = choices.map(([value, label, cls]) => {
      const b = h("button", { type: "button", class: cls || "" }, label);
      b.addEventListener("click", () => {
        answer = value;
        dialog.close();
      });
      return b;
    });
    const dialog = modal(title, ...body, h("div", { class: "actions" }, ...buttons));
    dialog.classList.add("choice");
    dialog.addEventListener("close", () => resolve(answer));
    (buttons.find((b) => b.classList.contains("primary")) || buttons[0]).focus();
  });
}

const dateOnly = (d) => isoDate(d);

/** The request that moves `o` to [start, end) for `scope` ("this", "following" or "all"). */
async function plan(o, scope, { start, end, allDay }) {
  const base = `/events/${o.id}`;
  const ifMatch = { "If-Match": `"${o.version}"` };
  if (scope === "this" || scope === "following") {
    // "following": the series ends before this occurrence, a new one starts at its new time
    // (the server moves the weekdays its rule names with it).
    const body = allDay ? { start_date: dateOnly(start), end_date: dateOnly(end) } : { start_time: start.toISOString(), end_time: end.toISOString() };
    return { method: "PUT", path: `${base}/instances/${encodeURIComponent(o.recurrence_id)}`, body, headers: ifMatch, query: { scope } };
  }
  if (!o.recurrence_id) {
    const body = allDay ? { all_day: true, start_date: dateOnly(start), end_date: dateOnly(end) } : { start_time: start.toISOString(), end_time: end.toISOString() };
    return { method: "PATCH", path: base, body, headers: ifMatch, query: {} };
  }
  // The whole series moves by as much as this occurrence moved, and takes its new length.
  const series = await api("GET", base);
  if (allDay) {
    const shiftDays = Math.round((start - localDate(o.start_date)) / 86400000);
    const first = localDate(series.start_date, shiftDays);
    const len = Math.round((end - start) / 86400000);
    const last = new Date(first.getFullYear(), first.getMonth(), first.getDate() + len);
    const body = { all_day: true, start_date: dateOnly(first), end_date: dateOnly(last), ...ruleMoved(series, shiftDays) };
    return { method: "PATCH", path: base, body, headers: ifMatch, query: {} };
  }
  const first = movedLike(series.start_time, o.start_time, start, series.timezone);
  return {
    method: "PATCH",
    path: base,
    body: {
      start_time: first.toISOString(),
      end_time: new Date(first.getTime() + (end - start)).toISOString(),
      ...ruleMoved(series, daysMoved(o.start_time, start, series.timezone)),
    },
    headers: ifMatch,
    query: {},
  };
}

/** The rule of a series moved `days` days, when its weekdays move with it (`weekdaysMoved`). */
function ruleMoved(series, days) {
  const rule = weekdaysMoved(series.recurrence_pattern, days);
  return rule === series.recurrence_pattern ? {} : { recurrence_pattern: rule };
}

async function send(p, policy) {
  return api(p.method, p.path, { body: p.body, headers: p.headers, query: { ...p.query, conflicts: policy } });
}

/** Move an occurrence; `revert()` puts it back on the grid, `done()` reloads the grid
 * (`done(saved, {to, scope})` after a move was saved: what it was, where it went, how). */
export async function moveOccurrence(o, to, { revert, done }) {
  let scope = "all";
  if (o.recurrence_id && o.is_recurring) {
    scope = await choose(`Move “${o.title}”`, [h("p", {}, `To ${range(to.start, to.end)}. Which occurrences?`)], [
      [null, "Cancel"],
      ["all", "All occurrences"],
      ["following", "This and following"],
      ["this", "Only this occurrence", "primary"],
    ]);
    if (!scope) return revert();
  }
  let p;
  try {
    p = await plan(o, scope, to);
  } catch (e) {
    revert();
    return showNotice(e.message || "Could not move the event.");
  }
  let policy = "suggest"; // a clash is refused with free times nearby (SPEC §7)
  for (let round = 0; round < 5; round += 1) {
    try {
      const saved = await send(p, policy);
      showNotice(`Moved “${o.title}” to ${range(to.start, to.end)}.`, "info");
      return done(saved, { to, scope });
    } catch (e) {
      if (e.code === "schedule_conflict") {
        const next = await conflictChoice(o, to, e.problem || {});
        if (next === null) return revert();
        if (next === "warn") policy = "warn";
        else {
          to = next;
          p = await plan(o, scope, to);
        }
      } else if (e.status === 412) {
        const next = await staleChoice(o, p);
        if (next === null) {
          revert();
          return done();
        }
        p = next;
      } else if (e.code === "edit_conflict") {
        const current = await clashChoice(o, e.problem, "They changed the time too");
        if (!current) {
          revert();
          return done();
        }
        p = { ...p, headers: { "If-Match": `"${current.version}"` }, body: { ...p.body } };
        delete p.body.base_version;
      } else {
        revert();
        return showNotice(e.message || "Could not move the event.");
      }
    }
  }
  revert();
  return done();
}

/** A 409 schedule_conflict: what it clashes with; save anyway, take a suggestion, or cancel. */
function conflictChoice(o, to, problem) {
  const clashes = problem.conflicts || [];
  const suggestions = problem.suggestions || [];
  return new Promise((resolve) => {
    let answer = null;
    const pick = (value) => {
      answer = value;
      dialog.close();
    };
    const list = h("ul", {}, clashes.map((c) =>
      h("li", {}, c.title ? `${c.title} — ${c.start_time ? formatDateTime(c.start_time) : ""}` : "Someone's busy time (not a contact of yours)")));
    const offered = suggestions.length
      ? h("div", { class: "suggestions" }, h("p", {}, "Free at:"), ...suggestions.map((s) => {
          // an all-day event's are whole days: their dates, whatever this browser's zone
          const start = s.start_date ? localDate(s.start_date) : new Date(s.start_time);
          const end = s.end_date ? localDate(s.end_date) : new Date(s.end_time);
          return h("button", { type: "button", onclick: () => pick({ start, end, allDay: to.allDay }) }, range(start, end));
        }))
      : null;
    const cancel = h("button", { type: "button", onclick: () => pick(null) }, "Cancel");
    const anyway = h("button", { type: "button", class: "primary", onclick: () => pick("warn") }, "Save anyway");
    const dialog = modal(`“${o.title}” would overlap`, h("div", { class: "conflicts" }, h("p", {}, h("strong", {}, `At ${range(to.start, to.end)} this overlaps:`)), list), offered, h("div", { class: "actions" }, cancel, anyway));
    dialog.classList.add("conflict-dialog");
    dialog.addEventListener("close", () => resolve(answer));
    anyway.focus();
  });
}

/** The event `o` as it is now, or null (and a notice) if it is gone for me. */
async function asItIsNow(o) {
  try {
    return await api("GET", `/events/${o.id}`);
  } catch {
    showNotice(`“${o.title}” is no longer there (deleted or unshared).`);
    return null;
  }
}

/** A 412: someone else saved a newer version meanwhile. Reload, or put my move on theirs
 * (a three-way merge with base_version: their other changes stay; a clash of the times is
 * asked about). Resolves to the request to retry, or null to reload. */
async function staleChoice(o, p) {
  const current = await asItIsNow(o);
  if (!current) return null;
  const who = current.updated_by?.username || "someone";
  const when = current.updated_at ? formatDateTime(current.updated_at) : "";
  const answer = await choose("Changed by someone else", [
    h("p", {}, `${who} changed “${current.title}” ${when ? `at ${when} ` : ""}while you were looking at it (it is now version ${current.version}; you moved version ${o.version}).`),
    h("p", {}, "Reload to see their version, or apply your move to it: their other changes stay."),
  ], [[null, "Reload"], ["merge", "Apply my move to their version", "primary"]]);
  if (!answer) return null;
  if (p.method === "PATCH") {
    // base_version: the server merges my change with theirs (SPEC §7); without If-Match.
    return { ...p, headers: {}, body: { ...p.body, base_version: o.version } };
  }
  return { ...p, headers: { "If-Match": `"${current.version}"` } };
}

/** A 409 edit_conflict (or a 412): someone else changed the same fields of `o` as I did
 * since I loaded it. Says who (the event as it is now) and which fields, and asks *Keep
 * theirs* or *Use mine*. Resolves to the event as it now is (put mine over that version), or null (keep
 * theirs, or it is gone). The drop and the event dialog both ask with this. */
export async function clashChoice(o, problem, title = "Changed by someone else") {
  const current = await asItIsNow(o);
  if (!current) return null;
  const fields = (problem?.conflicts || problem?.fields || []).map((c) => fieldName([c.field || String(c)]).toLowerCase()).join(", ");
  const who = current.updated_by?.username || "Someone else";
  const when = current.updated_at ? ` (at ${formatDateTime(current.updated_at)})` : "";
  const what = fields ? `also changed ${fields} of` : "changed"; // a 412 names no fields
  const mine = await choose(title, [
    h("p", {}, `${who} ${what} “${o.title}” since you loaded it${when}. Keep their change, or put yours over it?`),
  ], [[null, "Keep theirs", "primary"], ["mine", "Use mine"]]);
  return mine ? current : null;
}
