// Day, week and month views on FullCalendar's time grid and day grid (vendor/fullcalendar.js,
// a classic script that defines window.FullCalendar): the page around the grid (title,
// toolbar, search), the grid's options, and new events made by clicking or dragging on empty
// time. The rest is in modules of their own: what an event's box shows (render.js), loading
// and reloading (reload.js), moves by dragging or by the arrow keys (gridmoves.js, which saves
// them through move.js), the event dialog (event.js).

import { openEvent } from "./event.js";
import { gridMoves } from "./gridmoves.js";
import { gridReloads } from "./reload.js";
import { eventContent, markEvent } from "./render.js";
import { addDays, browserZone, h, isoDate, localDate, locale, weekStart, zoneCity } from "./ui.js";

const VIEWS = {
  day: { fc: "timeGridDay", label: "Day", step: { days: 1 } },
  week: { fc: "timeGridWeek", label: "Week", step: { weeks: 1 } },
  month: { fc: "dayGridMonth", label: "Month", step: { months: 1 } },
};
const DEFAULT_MINUTES = 60; // a click on empty time makes an hour, as Google Calendar does

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

export function calendarView(main, context, kind, dateText) {
  const spec = VIEWS[kind];
  const date = localDate(dateText) || new Date();
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
  // Focusable by script (not by Tab): the focus goes to the grid when its event is gone.
  const host = h("div", { class: `calendar view-${kind}`, "aria-labelledby": "view-title", role: "region", tabindex: -1 });
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
    openEvent(null, { slot, onChange: grid.refresh });
  }

  // (Before the calendar: it loads its first events as it is made.)
  const grid = gridReloads({ host, status, calendar: () => calendar });
  const moves = gridMoves({ host, status, kind, grid });
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
    events: grid.listing,
    eventsSet: grid.drawn,
    eventContent: (arg) => eventContent(arg, kind),
    eventDidMount: (arg) => {
      if (!arg.event.extendedProps.occurrence || arg.isMirror) return;
      markEvent(arg.el, arg.event);
      moves.mounted(arg.el, arg.event);
    },
    eventClick: (info) => {
      info.jsEvent.preventDefault();
      openEvent(info.event.extendedProps.occurrence, { onChange: grid.refresh });
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
    eventDrop: (info) => moves.dropped(info),
    eventResize: (info) => moves.dropped(info),
  });

  calendar.render();
  host.dataset.view = kind;
  host.dataset.zone = browserZone;
  zoneNote.title = `${zoneCity(browserZone)} — the time zone of this browser`;
  const unsubscribe = context.subscribe(grid.heard);
  return () => {
    grid.close();
    unsubscribe();
    calendar.destroy();
  };
}
