// The event dialog: create, edit (one occurrence, this and following, or the whole series),
// delete; schedule conflicts are shown before anything is saved, with "Save anyway"; a clash
// with someone else's change of the same fields asks "Keep theirs" or "Use mine".

import { api, user } from "./api.js";
import { findTimePanel } from "./findtime.js";
import { attendeeSection, invitePeople } from "./invite.js";
import { clashChoice } from "./move.js";
import { reminderEditor } from "./reminders.js";
import { repeatEditor } from "./repeat.js";
import { openShare } from "./share.js";
import {
  attempt, browserZone, confirmAction, daysMoved, errorBox, field, formatDateTime, fromLocalInput, h, id, isoDate, localDate, locale, modal,
  movedLike, sameZone, showNotice, toLocalInput, userError, weekdaysMoved, zoneList,
} from "./ui.js";

export const TITLE_MAX = 200; // the API's limit (SPEC §4 title); the form enforces it
// The way out of "Delete …?"/"Cancel this occurrence?": never a "Cancel" beside "Cancel this occurrence".
const KEEP = "Keep it";

/** The date `instant` falls on in `zone` ({year, month, day}); this browser's for a zone it
 * does not know. */
function dateIn(instant, zone) {
  const d = new Date(instant);
  try {
    const fmt = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "numeric", day: "numeric", timeZone: zone });
    const p = Object.fromEntries(fmt.formatToParts(d).map((x) => [x.type, x.value]));
    return { year: +p.year, month: +p.month, day: +p.day };
  } catch {
    return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() };
  }
}

/** "Tue 11 May, 09:00–10:00" as the wall clock of `zone` shows it. */
function zoneRange(start, end, zone) {
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", timeZone: zone });
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  return `${day.format(start)}, ${time.format(start)}–${time.format(end)}`;
}

/** Open the dialog for an occurrence from the calendar, or (null) for a new event in `slot`
 * ({start, end, allDay}: where the person clicked or dragged). */
export function openEvent(occurrence, { slot, onChange }) {
  const isNew = occurrence === null;
  const role = isNew ? "owner" : occurrence.my_role;
  const canEdit = role === "owner" || role === "editor";
  const series = !isNew && occurrence.is_recurring && occurrence.recurrence_id;

  let start;
  let end;
  const wasAllDay = isNew ? Boolean(slot?.allDay) : Boolean(occurrence.all_day && occurrence.start_date);
  if (isNew) {
    start = new Date(slot.start);
    end = new Date(slot.end);
  } else if (wasAllDay) {
    start = localDate(occurrence.start_date);
    end = localDate(occurrence.end_date) || new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1);
  } else {
    start = new Date(occurrence.start_time);
    end = new Date(occurrence.end_time);
  }
  // Dates shown for an all-day event: the last day, inclusive, as people say it.
  const lastDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate() - 1);


  const title = h("input", { name: "title", required: true, maxlength: TITLE_MAX, dir: "auto", value: isNew ? "" : occurrence.title });
  const titleCount = h("small", { class: "hint count", "aria-live": "polite" });
  const syncCount = () => {
    const left = TITLE_MAX - title.value.length;
    titleCount.textContent = left <= 20 ? `${left} characters left` : "";
  };
  title.addEventListener("input", syncCount);
  const allDay = h("input", { name: "all_day", type: "checkbox", checked: wasAllDay, id: id("allday") });
  const startInput = h("input", { name: "start", type: "datetime-local", required: true, value: toLocalInput(start) });
  const endInput = h("input", { name: "end", type: "datetime-local", required: true, value: toLocalInput(end) });
  const startDay = h("input", { name: "start_date", type: "date", value: isoDate(start) });
  const endDay = h("input", { name: "end_date", type: "date", value: isoDate(wasAllDay ? lastDay(end) : start) });
  const timed = h("div", { class: "when-fields" }, field("Starts", startInput), field("Ends", endInput));
  const dated = h("div", { class: "when-fields" }, field("First day", startDay), field("Last day", endDay));
  const syncAllDay = () => {
    timed.hidden = allDay.checked;
    dated.hidden = !allDay.checked;
    startInput.required = !allDay.checked;
    endInput.required = !allDay.checked;
  };
  allDay.addEventListener("change", syncAllDay);
  syncAllDay();
  // The event's own zone, when it is not this browser's: its wall time there.
  const zoneNote = !isNew && !wasAllDay && occurrence.timezone && !sameZone(occurrence.timezone, browserZone)
    ? h("p", { class: "zone-note" }, `In its own time zone, ${occurrence.timezone}: ${zoneRange(start, end, occurrence.timezone)}. Times below are in ${browserZone}.`)
    : null;
  const locationInput = h("input", { name: "location", dir: "auto", value: isNew ? "" : occurrence.location || "" });
  const description = h("textarea", { name: "description", rows: 3, dir: "auto" });
  description.value = isNew ? "" : occurrence.description || "";
  const zones = zoneList(id("zones"));
  const zone = h("input", { name: "timezone", list: zones.id, value: isNew ? browserZone : occurrence.timezone, autocomplete: "off" });
  // The date the form starts on, in the event's zone (a rule's weekdays are its wall clock's).
  const startsOn = () => {
    if (allDay.checked) {
      const first = localDate(startDay.value);
      return first && { year: first.getFullYear(), month: first.getMonth() + 1, day: first.getDate() };
    }
    const s = fromLocalInput(startInput.value);
    return s && dateIn(s, zone.value.trim() || browserZone);
  };
  const repeat = repeatEditor(isNew ? null : occurrence.recurrence_pattern, startsOn());
  for (const input of [allDay, startInput, startDay, zone]) input.addEventListener("change", () => repeat.setDate(startsOn()));
  const recurrence = h("fieldset", { class: "recurrence" }, h("legend", {}, "Repeat"), field("Repeats", repeat.select), repeat.countField, repeat.customField,
    field("Time zone", zone, "Repeats follow this zone's wall clock."), zones);

  const scopeName = id("scope");
  const scopes = series
    ? h("fieldset", { class: "scope" }, h("legend", {}, "Apply to"),
        ...[["this", "This occurrence"], ["following", "This and following"], ["all", "All occurrences"]].map(([value, label]) => {
          const radio = h("input", { type: "radio", name: scopeName, value, id: id("scope"), checked: value === "this" });
          return h("div", { class: "radio" }, radio, h("label", { for: radio.id }, label));
        }))
    : null;
  const scope = () => (scopes ? scopes.querySelector("input:checked").value : "all");

  const error = errorBox();
  // People chosen with "Find a time": invited once the event is created.
  let invitees = [];
  const invitedNote = h("p", { class: "muted", role: "status", hidden: true });
  function pickSlot({ start: s, end: e, people }) {
    invitees = people;
    allDay.checked = false;
    syncAllDay();
    startInput.value = toLocalInput(s);
    endInput.value = toLocalInput(e);
    invitedNote.textContent = `${people.map((p) => p.username).join(", ")} will be invited.`;
    invitedNote.hidden = false;
    if (!title.value.trim()) {
      title.focus();
      error.textContent = "Please give the event a title, then press Create.";
      error.hidden = false;
      return;
    }
    form.requestSubmit();
  }
  const conflictBox = h("div", { class: "conflicts", role: "alert", hidden: true });
  const save = h("button", { type: "submit", class: "primary" }, isNew ? "Create" : "Save");
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  const actions = h("div", { class: "actions" });
  if (!isNew) {
    actions.append(
      h("a", { class: "button", href: `#/events/${occurrence.id}/history` }, "History"),
      h("button", { type: "button", onclick: () => openShare(occurrence) }, role === "owner" ? "Share…" : "People"),
    );
  }
  if (canEdit && !isNew) actions.append(remove);
  // Anyone an event was shared with may take it out of their calendar (they leave it).
  const leave = h("button", { type: "button", class: "danger" }, "Remove from my calendar");
  if (!isNew && role !== "owner") actions.append(leave);
  if (canEdit) actions.append(save);

  const titleField = field("Title", title);
  titleField.append(titleCount);
  const fields = h("fieldset", { class: "plain", disabled: !canEdit },
    titleField, h("div", { class: "radio" }, allDay, h("label", { for: allDay.id }, "All day")), zoneNote, timed, dated,
    field("Location", locationInput), field("Description", description), recurrence);
  const form = h("form", { class: "event-form" },
    !isNew && !canEdit ? h("p", { class: "muted" }, "You can view this event; its owner has not given you editing rights.") : null,
    !isNew ? h("p", { class: "muted" }, `Owner: ${occurrence.owner.username} · your role: ${role}`) : null,
    scopes, fields, isNew ? null : attendeeSection(occurrence, { canEdit, error }), isNew ? null : reminderEditor(occurrence),
    isNew ? findTimePanel({ slot, onPick: pickSlot, error }) : null, invitedNote, error, conflictBox, actions);
  const dialog = modal(isNew ? "New event" : canEdit ? "Edit event" : "Event", form);
  const syncScope = () => {
    const whole = scope() === "all";
    recurrence.disabled = !whole;
    recurrence.hidden = !whole;
    remove.hidden = isNew || !(role === "owner" || (series && !whole));
    remove.textContent = series ? { this: "Cancel this occurrence", following: "Delete this and following", all: "Delete series" }[scope()] : "Delete";
  };
  scopes?.addEventListener("change", syncScope);
  syncScope();
  (canEdit ? title : dialog.querySelector("button")).focus();

  /** The times the form says: instants, or for an all-day event dates (end exclusive). */
  function when() {
    if (allDay.checked) {
      const first = localDate(startDay.value);
      const last = localDate(endDay.value);
      if (!first || !last) throw userError("Please enter the first and the last day.");
      if (last < first) throw userError("The last day cannot be before the first day.");
      const after = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1);
      // The dates alone: the times are their midnights in the event's zone (SPEC §4).
      return { all_day: true, start_date: isoDate(first), end_date: isoDate(after) };
    }
    const s = fromLocalInput(startInput.value);
    const e = fromLocalInput(endInput.value);
    if (!s || !e) throw userError("Please enter a start and an end.");
    if (new Date(e) <= new Date(s)) throw userError("The end must be after the start.");
    return wasAllDay ? { all_day: false, start_time: s, end_time: e } : { start_time: s, end_time: e };
  }

  /** The title, description and location that differ from the occurrence as it opened. */
  const changedText = (text) => Object.fromEntries(Object.entries(text).filter(([k, v]) => v !== (occurrence[k] ?? null)));

  // The event as someone else left it, once I chose "Use mine" over their change.
  let mineOver = null;

  async function request(policy) {
    const times = when();
    const newStart = times.start_time;
    const newEnd = times.end_time;
    const text = { title: title.value.trim(), description: description.value.trim() || null, location: locationInput.value.trim() || null };
    if (!text.title) throw userError("Please give the event a title.");
    if (text.title.length > TITLE_MAX) throw userError(`The title can be at most ${TITLE_MAX} characters long.`);
    const query = { conflicts: policy };
    if (isNew) {
      const pattern = repeat.value();
      return api("POST", "/events", {
        query,
        body: { ...text, ...times, timezone: zone.value.trim() || "UTC", is_recurring: pattern !== null, recurrence_pattern: pattern },
      });
    }
    const base = `/events/${occurrence.id}`;
    if (scope() !== "all") {
      // Only what changed becomes an override, so later series edits still reach the rest.
      const changes = changedText(text);
      if (allDay.checked) {
        if (times.start_date !== isoDate(start)) changes.start_date = times.start_date;
        if (times.end_date !== isoDate(end)) changes.end_date = times.end_date;
      } else {
        if (newStart !== start.toISOString()) changes.start_time = newStart;
        if (newEnd !== end.toISOString()) changes.end_time = newEnd;
      }
      if (scope() === "this" && !Object.keys(changes).length) return null;
      const rid = encodeURIComponent(occurrence.recurrence_id);
      // If-Match: a change someone saved since the dialog opened is asked about (a 412),
      // not overwritten; "Use mine" puts my changes on their version.
      const headers = { "If-Match": `"${(mineOver || occurrence).version}"` };
      return api("PUT", `${base}/instances/${rid}`, { query: { ...query, scope: scope() }, body: changes, headers });
    }
    const pattern = repeat.value();
    // The form shows this occurrence's own texts (an edited occurrence's may differ from the
    // series'): only those changed here reach the series.
    const body = { ...changedText(text), timezone: zone.value.trim() || "UTC", is_recurring: pattern !== null, recurrence_pattern: pattern, base_version: occurrence.version };
    if (mineOver) {
      // "Use mine" after an edit_conflict: what I changed, over their version; what I left
      // as it was stays theirs.
      for (const k of Object.keys(body)) if (body[k] === (occurrence[k] ?? null)) delete body[k];
      body.base_version = mineOver.version;
    }
    if (allDay.checked !== wasAllDay) {
      Object.assign(body, times); // converted between timed and all-day (SPEC §4)
    } else if (allDay.checked) {
      if (times.start_date !== isoDate(start) || times.end_date !== isoDate(end)) {
        if (series) throw userError("To move every day of an all-day series, drag it in the calendar.");
        Object.assign(body, times);
      }
    } else if (newStart === start.toISOString() && newEnd === end.toISOString()) {
      // Times untouched: leave the series' own start and end as they are.
    } else if (series) {
      // The form shows this occurrence; move the whole series by as much as it moved.
      const current = await api("GET", base);
      const seriesStart = movedLike(current.start_time, start, newStart, current.timezone);
      if (body.recurrence_pattern === current.recurrence_pattern) {
        // its rule as it was: the weekdays it names move with it
        body.recurrence_pattern = weekdaysMoved(current.recurrence_pattern, daysMoved(start, newStart, current.timezone));
      }
      body.start_time = seriesStart.toISOString();
      body.end_time = new Date(seriesStart.getTime() + (new Date(newEnd) - new Date(newStart))).toISOString();
    } else {
      body.start_time = newStart;
      body.end_time = newEnd;
    }
    return api("PATCH", base, { query, body });
  }

  async function submit(policy) {
    error.hidden = true;
    save.disabled = true;
    try {
      const saved = await request(policy);
      let invited = "";
      if (isNew && invitees.length && saved) {
        const result = await attempt(() => invitePeople(saved.id, invitees), null);
        if (result) invited = ` ${result.message}`;
      }
      dialog.close();
      showNotice(isNew ? `Event created.${invited}` : "Changes saved.", "info");
      onChange();
    } catch (e) {
      if (e.code === "schedule_conflict") showConflicts(e.problem.conflicts || [], e.problem.suggestions || []);
      else if ((e.code === "edit_conflict" || e.status === 412) && !isNew) await clashed(e.problem, policy);
      else await attempt(() => Promise.reject(e), error);
    } finally {
      save.disabled = false;
    }
  }

  /** Someone else changed the same fields since the dialog opened: keep theirs (the dialog
   * closes, the calendar shows their version) or save mine over it (move.js asks). */
  async function clashed(problem, policy) {
    const current = await clashChoice(occurrence, problem);
    if (!current) {
      dialog.close();
      onChange();
      return;
    }
    mineOver = current;
    await submit(policy);
  }

  function showConflicts(conflicts, suggestions) {
    const anyway = h("button", { type: "button", class: "primary" }, "Save anyway");
    anyway.addEventListener("click", () => {
      conflictBox.hidden = true;
      submit("warn");
    });
    const fmt = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
    const offered = suggestions.map((sug) => {
      // An all-day event's are whole days: its dates (end exclusive), shown as its days.
      const days = sug.start_date ? [localDate(sug.start_date), lastDay(localDate(sug.end_date))] : null;
      const label = days
        ? [...new Set(days.map((d) => d.toLocaleDateString(locale)))].join("–")
        : `${formatDateTime(sug.start_time)}–${fmt.format(new Date(sug.end_time))}`;
      const b = h("button", { type: "button" }, label);
      b.addEventListener("click", () => {
        allDay.checked = Boolean(days);
        syncAllDay();
        if (days) {
          startDay.value = isoDate(days[0]);
          endDay.value = isoDate(days[1]);
        } else {
          startInput.value = toLocalInput(sug.start_time);
          endInput.value = toLocalInput(sug.end_time);
        }
        conflictBox.hidden = true;
        submit("suggest");
      });
      return b;
    });
    conflictBox.replaceChildren(
      h("p", {}, h("strong", {}, "This overlaps other events:")),
      h("ul", {}, conflicts.map((c) => h("li", {}, c.title ? `${c.title} — ${formatDateTime(c.start_time)}` : "Someone's busy time"))),
      offered.length ? h("div", { class: "suggestions" }, h("p", {}, "Everyone is free at:"), ...offered) : null,
      h("div", { class: "actions" }, anyway),
    );
    conflictBox.hidden = false;
    anyway.focus();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    conflictBox.hidden = true;
    submit("suggest");
  });

  leave.addEventListener("click", async () => {
    const what = "Remove from my calendar";
    if (!(await confirmAction(`${what}: “${occurrence.title}”? ${occurrence.owner.username} would have to share it with you again.`, what, KEEP))) return;
    const me = user();
    const done = await attempt(async () => {
      await api("DELETE", `/events/${occurrence.id}/permissions/${me.id}`);
      return true;
    }, error);
    if (done) {
      dialog.close();
      showNotice(`Removed “${occurrence.title}” from your calendar.`, "info");
      onChange();
    }
  });

  remove.addEventListener("click", async () => {
    const what = remove.textContent;
    if (!(await confirmAction(`${what}: “${occurrence.title}”?`, what, KEEP))) return;
    const base = `/events/${occurrence.id}`;
    const done = await attempt(async () => {
      if (series && scope() !== "all") {
        await api("DELETE", `${base}/instances/${encodeURIComponent(occurrence.recurrence_id)}`, { query: { scope: scope() } });
      } else {
        await api("DELETE", base);
      }
      return true;
    }, error);
    if (done) {
      dialog.close();
      showNotice("Deleted.", "info");
      onChange();
    }
  });
}
