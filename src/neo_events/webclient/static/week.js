// The week view: the signed-in user's occurrences, Monday to Sunday in the browser's zone.

import { allPages } from "./api.js";
import { openEvent } from "./event.js";
import { attempt, browserZone, formatDay, formatTime, h, isoDate } from "./ui.js";


/** Local midnight of the Monday of the week holding `date`. */
export function mondayOf(date) {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}

function addDays(date, n) {
  // By calendar date, not by 24 h: a DST day has 23 or 25 hours.
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + n);
}

function parseDate(text) {
  const [y, m, d] = (text || "").split("-").map(Number);
  const date = text ? new Date(y, m - 1, d) : new Date();
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

export function weekView(main, context, dateText) {
  const start = mondayOf(parseDate(dateText));
  const end = addDays(start, 7);
  const days = Array.from({ length: 7 }, (_, i) => addDays(start, i));
  const go = (date) => context.navigate(`#/week/${isoDate(date)}`);
  const rangeFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
  const title = h("h1", { id: "week-title" }, `Week of ${rangeFmt.format(start)}`);
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const grid = h("div", { class: "week", "aria-labelledby": "week-title", role: "region" });
  const toolbar = h(
    "div",
    { class: "toolbar" },
    h("div", { class: "nav-buttons", role: "group", "aria-label": "Week" },
      h("button", { type: "button", onclick: () => go(addDays(start, -7)) }, "‹ Previous", h("span", { class: "sr-only" }, " week")),
      h("button", { type: "button", onclick: () => go(new Date()) }, "Today"),
      h("button", { type: "button", onclick: () => go(addDays(start, 7)) }, "Next", h("span", { class: "sr-only" }, " week"), " ›")),
    h("button", { type: "button", class: "primary", onclick: () => openEvent(null, { defaultDay: pickDay(), onChange: load }) }, "New event"),
  );
  main.append(title, h("p", { class: "muted zone" }, `Times in ${browserZone}`), toolbar, status, grid);

  function pickDay() {
    const today = new Date();
    return today >= start && today < end ? today : start;
  }

  let loading = null;
  let again = false;
  async function load() {
    if (loading) {
      again = true; // a change arrived mid-load: load once more afterwards
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        const items = await attempt(() =>
          allPages("/events", { start_time: start.toISOString(), end_time: end.toISOString() }),
        );
        if (items) render(items);
      } while (again);
    })().finally(() => {
      loading = null;
    });
    return loading;
  }

  function render(items) {
    const todayKey = isoDate(new Date());
    grid.replaceChildren(
      ...days.map((day) => {
        const dayEnd = addDays(day, 1);
        const mine = items.filter((o) => new Date(o.start_time) < dayEnd && new Date(o.end_time) > day);
        const headingId = `day-${isoDate(day)}`;
        return h(
          "section",
          { class: `day${isoDate(day) === todayKey ? " today" : ""}`, "aria-labelledby": headingId, dataset: { date: isoDate(day) } },
          h("h2", { id: headingId }, formatDay(day)),
          mine.length
            ? h("ul", { class: "occurrences" }, mine.map((o) => h("li", {}, occurrenceButton(o, day, dayEnd))))
            : h("p", { class: "empty" }, "Nothing planned"),
        );
      }),
    );
    status.textContent = items.length ? "" : "No events this week.";
  }

  function occurrenceButton(o, day, dayEnd) {
    const s = new Date(o.start_time);
    const e = new Date(o.end_time);
    const from = s < day ? "…" : formatTime(s);
    const to = e > dayEnd ? "…" : formatTime(e);
    const extras = [];
    if (o.recurrence_id) extras.push(h("span", { class: "badge", title: "Repeats" }, "↻", h("span", { class: "sr-only" }, " repeats")));
    if (o.my_role && o.my_role !== "owner") extras.push(h("span", { class: "badge" }, o.my_role));
    return h(
      "button",
      {
        type: "button",
        class: "occurrence",
        dataset: { eventId: o.id, recurrenceId: o.recurrence_id || "" },
        onclick: () => openEvent(o, { onChange: load }),
      },
      h("span", { class: "when" }, `${from}–${to}`),
      " ",
      h("span", { class: "what" }, o.title),
      ...extras,
    );
  }

  load();
  const unsubscribe = context.subscribe(() => load());
  return unsubscribe;
}
