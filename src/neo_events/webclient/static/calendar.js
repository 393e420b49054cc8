// Day, week and month views on FullCalendar's time grid and day grid (vendor/fullcalendar.js,
// a classic script that defines window.FullCalendar). The API gives the occurrences of the
// visible window; FullCalendar draws them, lets people drag, resize and select; writes go
// through move.js (a move) and event.js (the dialog).

import { allPages, user } from "./api.js";
import { openEvent } from "./event.js";
import { moveOccurrence } from "./move.js";
import { attempt, browserZone, h, isoDate, locale, sameZone, timeIn, weekStart, zoneCity } from "./ui.js";

const VIEWS = {
  day: { fc: "timeGridDay", label: "Day", step: { days: 1 } },
  week: { fc: "timeGridWeek", label: "Week", step: { weeks: 1 } },
  month: { fc: "dayGridMonth", label: "Month", step: { months: 1 } },
};
const KEY_STEP_MIN = 15;
const DEFAULT_MINUTES = 60; // a click on empty time makes an hour, as Google Calendar does

export function parseDate(text) {
  const [y, m, d] = (text || "").split("-").map(Number);
  const date = text ? new Date(y, m - 1, d) : new Date();
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

function addDays(date, n) {
  // By calendar date, not by 24 h: a DST day has 23 or 25 hours.
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + n);
}

function firstOfWeek(date) {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  return addDays(d, -((d.getDay() - weekStart() + 7) % 7));
}

function heading(kind, date) {
  if (kind === "day") {
    return new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(date);
  }
  if (kind === "month") return new Intl.DateTimeFormat(locale, { month: "long", year: "numeric" }).format(date);
  return `Week of ${new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", year: "numeric" }).format(firstOfWeek(date))}`;
}

const canEdit = (o) => o.my_role === "owner" || o.my_role === "editor";
const isAllDay = (o) => Boolean(o.all_day && o.start_date);
// The event's own zone is shown when it is not the viewer's. A single event left at the API's
// default zone (UTC: "no zone given") is not labelled; a series is, UTC included (it repeats by UTC's clock).
const otherZone = (o) => !isAllDay(o) && Boolean(o.timezone) && !sameZone(o.timezone, browserZone) && (!sameZone(o.timezone, "UTC") || o.is_recurring);

const DAY_MS = 86400000;
const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());

/** An API occurrence as a FullCalendar event. All-day events are dates (end exclusive). A
 * timed event of a day or more goes in the all-day lane as a bar across its days (as Google
 * Calendar draws it); it keeps its times, and moves by whole days there. */
// My answer to an invitation, on the grid (not for an event I organise or was not invited to).
const ANSWER_CLASSES = { needs_action: "ne-unanswered", tentative: "ne-tentative", declined: "ne-declined" };
const ANSWER_WORDS = { needs_action: "invitation not answered yet", tentative: "you answered maybe", declined: "you declined" };
/** My answer for the series when I am invited (not the organizer), else null. */
function invitedAnswer(o) {
  const me = (o.attendees || []).find((a) => a.user_id === user()?.id);
  return me && !me.organizer ? o.my_response || me.response : null;
}
const answerClasses = (o) => (ANSWER_CLASSES[invitedAnswer(o)] ? [ANSWER_CLASSES[invitedAnswer(o)]] : []);

function toEvent(o) {
  const allDay = isAllDay(o);
  const start = new Date(o.start_time);
  const end = new Date(o.end_time);
  if (!allDay && end - start >= DAY_MS) {
    const last = midnight(new Date(end.getTime() - 1));
    return {
      id: `${o.id}@${o.recurrence_id || ""}`,
      title: o.title,
      start: midnight(start),
      end: new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1),
      allDay: true,
      editable: canEdit(o),
      classNames: ["ne-event", "ne-spanning", ...(o.recurrence_id ? ["ne-recurring"] : []), ...(canEdit(o) ? [] : ["ne-readonly"]), ...answerClasses(o)],
      extendedProps: { occurrence: o, spanning: true },
    };
  }
  const classNames = ["ne-event"];
  if (o.recurrence_id) classNames.push("ne-recurring");
  if (!canEdit(o)) classNames.push("ne-readonly");
  classNames.push(...answerClasses(o));
  return {
    id: `${o.id}@${o.recurrence_id || ""}`,
    title: o.title,
    start: allDay ? o.start_date : o.start_time,
    end: allDay ? o.end_date || undefined : o.end_time,
    allDay,
    editable: canEdit(o),
    classNames,
    extendedProps: { occurrence: o },
  };
}

const longFmt = () => new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
const dateFmt = () => new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long" });

/** What a screen reader says for an event: title, when, and what else matters. */
function describe(o, start, end, allDay) {
  const parts = [o.title];
  if (allDay) {
    const last = end ? addDays(end, -1) : start;
    parts.push(last > start ? `all day, ${dateFmt().format(start)} to ${dateFmt().format(last)}` : `all day, ${dateFmt().format(start)}`);
  } else {
    parts.push(`${longFmt().format(start)} to ${new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(end)}`);
  }
  if (otherZone(o)) parts.push(`${timeIn(start, o.timezone)} time`);
  if (o.recurrence_id) parts.push("repeats");
  if (o.location) parts.push(`at ${o.location}`);
  if (ANSWER_WORDS[invitedAnswer(o)]) parts.push(ANSWER_WORDS[invitedAnswer(o)]);
  if (canEdit(o)) parts.push("arrow keys move it, shift and arrow keys change its length, Enter opens it");
  return parts.join(", ");
}

export function calendarView(main, context, kind, dateText) {
  const spec = VIEWS[kind];
  const date = parseDate(dateText);
  const go = (k, d) => context.navigate(`#/${k}/${isoDate(d)}`);
  const move = (n) => {
    const d = new Date(date);
    if (kind === "day") d.setDate(d.getDate() + n);
    else if (kind === "week") d.setDate(d.getDate() + 7 * n);
    else d.setMonth(d.getMonth() + n, 1);
    go(kind, d);
  };
  const unit = spec.label.toLowerCase();
  const title = h("h1", { id: "view-title" }, heading(kind, date));
  const status = h("p", { class: "sr-only", role: "status", "aria-live": "polite" });
  const search = h("input", { type: "search", name: "q", placeholder: "Search", "aria-label": "Search title, location, description", maxlength: 200 });
  const searchForm = h("form", { class: "search", role: "search" }, search);
  searchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = search.value.trim();
    if (q) context.navigate(`#/search/${encodeURIComponent(q)}`);
  });
  const toolbar = h(
    "div",
    { class: "toolbar" },
    h("div", { class: "nav-buttons", role: "group", "aria-label": spec.label },
      h("button", { type: "button", onclick: () => go(kind, new Date()) }, "Today"),
      h("button", { type: "button", onclick: () => move(-1), "aria-label": `Previous ${unit}` }, "‹"),
      h("button", { type: "button", onclick: () => move(1), "aria-label": `Next ${unit}` }, "›")),
    h("div", { class: "view-switch", role: "group", "aria-label": "View" },
      ...Object.entries(VIEWS).map(([k, v]) =>
        h("button", { type: "button", "aria-pressed": String(k === kind), onclick: () => go(k, date) }, v.label))),
    searchForm,
    h("button", { type: "button", class: "primary", onclick: () => create(defaultStart()) }, "New event"),
  );
  const zoneNote = h("p", { class: "muted zone" }, `Times in ${browserZone}`);
  const host = h("div", { class: `calendar view-${kind}`, "aria-labelledby": "view-title", role: "region" });
  main.append(title, toolbar, zoneNote, status, host);

  /** Where "New event" puts a new event: the next full hour today when today is shown,
   * otherwise 09:00 on the first day shown (the date itself in the day view). */
  function defaultStart() {
    const now = new Date();
    let first = new Date(date.getFullYear(), date.getMonth(), date.getDate());
    let last = addDays(first, 1);
    if (kind === "week") {
      first = firstOfWeek(date);
      last = addDays(first, 7);
    } else if (kind === "month") {
      first = new Date(date.getFullYear(), date.getMonth(), 1);
      last = new Date(date.getFullYear(), date.getMonth() + 1, 1);
    }
    const start = now >= first && now < last ? new Date(now) : first;
    if (start === first) start.setHours(9, 0, 0, 0);
    else start.setHours(now.getHours() + 1, 0, 0, 0);
    return { start, end: new Date(start.getTime() + DEFAULT_MINUTES * 60000), allDay: false };
  }

  function create(slot) {
    // A click can be both a one-slot selection and a date click: open one dialog.
    if (document.querySelector("dialog[open]")) return;
    openEvent(null, { slot, onChange: refresh });
  }

  // (Before the calendar: it loads its first events as it is made.)
  // The grid is busy (aria-busy) while a listing loads or a reload is pending; it has settled
  // when, besides, none of my moves is being saved.
  let loads = 0;
  let reloads = 0;
  let writes = 0;
  let refocus = null; // the focused event's [id, recurrence id] as its element is redrawn
  const waiting = []; // who waits for the grid to settle
  const eventOf = new WeakMap(); // an event's element → its FullCalendar event (the occurrence it was drawn from)
  const FullCalendar = window.FullCalendar;
  const calendar = new FullCalendar.Calendar(host, {
    initialView: spec.fc,
    initialDate: date,
    headerToolbar: false,
    locale,
    firstDay: weekStart(),
    timeZone: "local",
    // The hours scroll inside the grid (from 07:00), as in Google Calendar; a month is as tall as it needs.
    height: kind === "month" ? "auto" : undefined,
    contentHeight: kind === "month" ? undefined : "clamp(22rem, calc(100vh - 15rem), 46rem)",
    nowIndicator: true,
    slotEventOverlap: false, // overlapping events side by side, never on top of each other
    scrollTime: "07:00:00",
    slotDuration: "00:30:00",
    snapDuration: "00:15:00",
    slotLabelFormat: { hour: "2-digit", minute: "2-digit" },
    eventTimeFormat: { hour: "2-digit", minute: "2-digit" },
    defaultRangeSeparator: "–",
    dayHeaderFormat: kind === "month" ? { weekday: "short" } : { weekday: "short", day: "numeric" },
    allDayText: "All day",
    dayMaxEvents: kind === "month" ? 4 : false,
    moreLinkText: (n) => `+${n} more`,
    navLinks: true,
    navLinkDayClick: (d) => go("day", d),
    editable: true,
    eventStartEditable: true,
    eventDurationEditable: true,
    eventResizableFromStart: false,
    selectable: true,
    selectMirror: true,
    unselectAuto: true,
    eventInteractive: true,
    // Dragging between the all-day lane and the hours would convert the event: the dialog does that.
    eventAllow: (drop, dragged) => drop.allDay === dragged.allDay,
    events: (info, success, failure) => {
      load(info.start, info.end).then((items) => {
        if (!items) return failure(new Error("not loaded"));
        // Drawing them replaces the events' elements: the focused one's successor gets the focus.
        refocus = focusedKey();
        success(items.map(toEvent));
      });
    },
    eventsSet: () => {
      const key = refocus;
      refocus = null;
      if (key && !host.contains(document.activeElement)) {
        host.querySelector(`.fc-event[data-event-id="${key[0]}"][data-recurrence-id="${CSS.escape(key[1])}"]`)?.focus();
      }
    },
    eventContent: (arg) => {
      const o = arg.event.extendedProps.occurrence;
      if (!o) return true; // the outline drawn while selecting or dragging: FullCalendar's own
      const nodes = [];
      if (arg.timeText && !arg.event.allDay) nodes.push(h("span", { class: "ne-time" }, arg.timeText));
      if (arg.event.extendedProps.spanning && arg.isStart) {
        nodes.push(h("span", { class: "ne-time" }, new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(o.start_time))));
      }
      nodes.push(h("span", { class: "ne-title", dir: "auto" }, arg.event.title)); // a right-to-left title reads (and is cut) as such
      if (o.recurrence_id) nodes.push(h("span", { class: "ne-repeat", title: "Repeats" }, "↻"));
      if (otherZone(o) && arg.event.start) nodes.push(h("span", { class: "ne-zone" }, timeIn(arg.event.start, o.timezone)));
      if (o.location && kind !== "month") nodes.push(h("span", { class: "ne-where", dir: "auto" }, o.location));
      return { domNodes: [h("div", { class: "ne-body" }, ...nodes)] };
    },
    eventDidMount: (arg) => {
      const o = arg.event.extendedProps.occurrence;
      if (!o || arg.isMirror) return;
      const el = arg.el;
      el.dataset.eventId = o.id;
      el.dataset.recurrenceId = o.recurrence_id || "";
      el.dataset.start = arg.event.start ? arg.event.start.toISOString() : "";
      el.tabIndex = 0;
      el.setAttribute("role", "button");
      el.setAttribute("aria-label", describe(o, arg.event.start, arg.event.end, arg.event.allDay));
      eventOf.set(el, arg.event);
      el.addEventListener("keydown", keyMove);
    },
    eventClick: (info) => {
      info.jsEvent.preventDefault();
      openEvent(info.event.extendedProps.occurrence, { onChange: refresh });
    },
    select: (info) => {
      calendar.unselect();
      let { start, end } = info;
      if (!info.allDay && end - start <= 30 * 60000) end = new Date(start.getTime() + DEFAULT_MINUTES * 60000);
      create({ start, end, allDay: info.allDay });
    },
    dateClick: (info) => {
      if (kind === "month" || info.allDay) {
        const start = new Date(info.date);
        if (kind === "month") start.setHours(9, 0, 0, 0);
        create({ start, end: new Date(start.getTime() + (info.allDay && kind !== "month" ? 86400000 : DEFAULT_MINUTES * 60000)), allDay: info.allDay && kind !== "month" });
      } else {
        create({ start: info.date, end: new Date(info.date.getTime() + DEFAULT_MINUTES * 60000), allDay: false });
      }
    },
    eventDrop: (info) => dropped(info),
    eventResize: (info) => dropped(info),
  });

  /** Shift an instant by whole calendar days (a DST day has 23 or 25 hours). */
  function plusDays(d, n) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n, d.getHours(), d.getMinutes(), d.getSeconds());
  }

  /** The occurrence `o` as a saved move of it left it: the version the save returned (of
   * the new series, after "this and following"), its new times, and when more than this
   * occurrence moved, its new recurrence id (its new start). */
  function afterMove(o, saved, { to, scope }) {
    const next = { ...o, id: saved.id ?? o.id, version: saved.version };
    if (to.allDay) Object.assign(next, { start_date: isoDate(to.start), end_date: isoDate(to.end) });
    else Object.assign(next, { start_time: to.start.toISOString(), end_time: to.end.toISOString() });
    if (o.recurrence_id && scope !== "this") next.recurrence_id = to.allDay ? next.start_date : next.start_time;
    return next;
  }

  // event id → its last drop: resolves to {ev, left} (the occurrence as the move left it),
  // or null when nothing was saved
  const drops = new Map();

  /** A drop is saved after the previous drop of that event (a drag on a slow network can
   * come before the previous one's answer), and starts from where that one put it, with the
   * version it returned: sent with the version drawn, it was refused as someone else's
   * change (a 412 naming myself), and its "apply my move" lost it. */
  function dropped(info) {
    const ev = info.event;
    const key = ev.extendedProps.occurrence.id;
    const before = drops.get(key);
    const drop = writing(async () => {
      const last = before ? await before : null;
      // The same occurrence dragged again starts where it was left; another of its series
      // has its version (its own times are those drawn).
      const previous = last && (last.ev === ev ? last.left : { ...ev.extendedProps.occurrence, version: last.left.version });
      const o = previous || ev.extendedProps.occurrence;
      let to = { start: ev.start, end: ev.end, allDay: ev.allDay };
      if (ev.extendedProps.spanning) {
        // A bar of a timed event: it moved (or its end moved) by whole days; the times stay.
        const moved = info.delta ? info.delta.days : 0;
        const stretched = info.endDelta ? info.endDelta.days : 0;
        to = { start: plusDays(new Date(o.start_time), moved), end: plusDays(new Date(o.end_time), moved + stretched), allDay: false };
      }
      let left = null;
      await moveOccurrence(o, to, {
        revert: () => {
          info.revert();
          if (previous) refresh(); // not reloaded after the previous drop (below): now
        },
        done: (saved, how) => {
          if (saved && how) left = afterMove(o, saved, how);
          // A later drop of it waits for this one: the grid reloads after that one (a
          // reload now would draw the event back here meanwhile).
          return drops.get(key) === drop ? written(saved) : remember(saved);
        },
      });
      if (left) return { ev, left };
      return last; // not moved: the next drop starts where the previous one left it
    }).catch((error) => {
      console.error(error);
      return null;
    });
    drops.set(key, drop);
    drop.then(() => {
      if (drops.get(key) === drop) drops.delete(key);
    });
  }

  const ARROWS = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -1, ArrowRight: 1 };
  let presses = Promise.resolve(); // arrow keys are carried out one after another

  /** Keyboard equivalents of dragging: ↑/↓ 15 minutes (month: a week), ←/→ a day; with
   * Shift, ↑/↓ change the length. A press while a move is being saved or the grid reloads
   * waits for that: until then the element pressed on holds the version it was drawn from,
   * and a move of it would be refused as someone else's change (412) or put the event back. */
  function keyMove(e) {
    const el = e.currentTarget;
    const o = eventOf.get(el)?.extendedProps.occurrence;
    // Enter and Space open it: FullCalendar's own (eventInteractive) calls eventClick.
    if (!o || !(e.key in ARROWS) || !canEdit(o) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    const press = { key: e.key, shiftKey: e.shiftKey };
    presses = presses
      .then(settled)
      .then(() => {
        // Redrawn meanwhile: the press is for the event that has the focus now (the redraw
        // gave it to the pressed one's successor); none, when the focus left the grid.
        const target = el.isConnected ? el : document.activeElement;
        const ev = target && host.contains(target) ? eventOf.get(target) : null;
        return ev ? writing(() => keyMoveBy(ev, press)) : undefined;
      })
      .catch((error) => console.error(error));
  }

  function keyMoveBy(ev, press) {
    const o = ev.extendedProps.occurrence;
    if (!o || !canEdit(o)) return undefined;
    const sign = ARROWS[press.key];
    const vertical = press.key === "ArrowUp" || press.key === "ArrowDown";
    const spanning = Boolean(ev.extendedProps.spanning);
    const allDay = ev.allDay && !spanning;
    let start = spanning ? new Date(o.start_time) : new Date(ev.start);
    let end = spanning ? new Date(o.end_time) : ev.end ? new Date(ev.end) : new Date(start.getTime() + (allDay ? DAY_MS : 3600000));
    if (press.shiftKey && vertical) {
      const step = allDay ? null : KEY_STEP_MIN * 60000;
      if (step) end = new Date(end.getTime() + sign * step);
      else end = addDays(end, sign);
      if (end <= start) return undefined;
    } else if (vertical && !allDay && kind !== "month") {
      start = new Date(start.getTime() + sign * KEY_STEP_MIN * 60000);
      end = new Date(end.getTime() + sign * KEY_STEP_MIN * 60000);
    } else {
      const days = vertical ? 7 * sign : sign;
      const span = end - start;
      start = new Date(start.getFullYear(), start.getMonth(), start.getDate() + days, start.getHours(), start.getMinutes());
      end = allDay ? addDays(end, days) : new Date(start.getTime() + span);
    }
    return moveOccurrence(o, { start, end, allDay }, {
      revert: () => {},
      done: async (saved) => {
        await written(saved);
        // Keep the focus on the moved event, so that several presses move it further ("this
        // and following" made it an occurrence of a new series: the one saved).
        const focusKey = saved?.id ?? o.id;
        const again = host.querySelector(`.fc-event[data-event-id="${focusKey}"][data-start="${start.toISOString()}"]`)
          || host.querySelector(`.fc-event[data-event-id="${focusKey}"]`);
        again?.focus();
        status.textContent = `Moved “${o.title}” to ${longFmt().format(start)}.`;
      },
    });
  }

  let inflight = null;
  const shown = new Map(); // event id → the version drawn: a live message about it is news only if newer
  const focusedKey = () => {
    const focused = document.activeElement?.closest?.(".fc-event");
    return focused && host.contains(focused) ? [focused.dataset.eventId, focused.dataset.recurrenceId] : null;
  };
  function busy() {
    if (loads || reloads) host.setAttribute("aria-busy", "true");
    else host.removeAttribute("aria-busy");
    // After the task that settled it: a listing's events are drawn after load() returns.
    if (!loads && !reloads && !writes && waiting.length) {
      setTimeout(() => {
        if (!loads && !reloads && !writes) for (const resolve of waiting.splice(0)) resolve();
      });
    }
  }
  function settled() {
    return new Promise((resolve) => {
      waiting.push(resolve);
      busy();
    });
  }

  /** A move of mine, from its request to the grid redrawn after it. The live messages that
   * come meanwhile wait for its end: the one about this very move can come before its
   * answer (the server wakes the live connections on a task of its own), and then it is no
   * news — it is taken as news only if its version is newer than the one the answer gave. */
  async function writing(run) {
    writes += 1;
    try {
      return await run();
    } finally {
      writes -= 1;
      if (!writes) for (const message of held.splice(0)) heard(message);
      busy();
    }
  }

  async function load(start, end) {
    status.textContent = "Loading…";
    loads += 1;
    busy();
    let items;
    try {
      items = await attempt(() =>
        allPages("/events", { start_time: start.toISOString(), end_time: end.toISOString(), timezone: browserZone }),
      );
    } finally {
      loads -= 1;
      busy();
    }
    status.textContent = items ? `${items.length} event${items.length === 1 ? "" : "s"} shown.` : "";
    if (items) {
      for (const o of items) shown.set(o.id, Math.max(shown.get(o.id) || 0, o.version || 0));
    }
    return items;
  }

  /** After my own write: its live message is then no news, and the grid reloads once. */
  function written(saved) {
    remember(saved);
    return refresh();
  }
  function remember(saved) {
    if (saved && saved.id && saved.version) shown.set(saved.id, Math.max(shown.get(saved.id) || 0, saved.version));
  }

  /** Reload what is shown (after a write or a live message); coalesces bursts. The focused
   * event keeps the focus (the eventsSet option: its element is redrawn). */
  function refresh() {
    if (inflight) return inflight;
    reloads += 1;
    busy();
    inflight = new Promise((resolve) => {
      setTimeout(() => {
        inflight = null;
        let fallback = null;
        const once = () => {
          calendar.off("eventsSet", once);
          clearTimeout(fallback);
          if (fallback === undefined) return; // already ended
          fallback = undefined;
          reloads -= 1;
          busy();
          resolve();
        };
        // refetchEvents is asynchronous: the events are drawn when eventsSet comes.
        calendar.on("eventsSet", once);
        fallback = setTimeout(once, 5000); // a failed load shows its error; stop waiting
        calendar.refetchEvents();
      }, 50);
    });
    return inflight;
  }

  const held = []; // live messages that came while a move of mine was being saved
  let closed = false; // the view was left: a move still being saved reloads nothing
  function heard(message) {
    if (closed || message.type === "reminder.due") return;
    if (writes) {
      held.push(message);
      return;
    }
    // My own write was already redrawn with its version: only news reloads the grid.
    const news = !message.event_id || !message.version || message.version > (shown.get(message.event_id) || 0);
    if (news || message.type !== "event.updated") refresh();
  }

  calendar.render();
  host.dataset.view = kind;
  host.dataset.zone = browserZone;
  zoneNote.title = `${zoneCity(browserZone)} — the time zone of this browser`;
  const unsubscribe = context.subscribe(heard);
  return () => {
    closed = true;
    held.length = 0;
    unsubscribe();
    calendar.destroy();
  };
}
