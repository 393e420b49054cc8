// How an occurrence is drawn on the grid: the FullCalendar event made of it, what its box
// shows, the classes that mark my answer to an invitation, and what a screen reader says.

import { user } from "./api.js";
import { addDays, browserZone, DAY_MS, h, locale, sameZone, timeIn } from "./ui.js";

export const canEdit = (o) => o.my_role === "owner" || o.my_role === "editor";
const isAllDay = (o) => Boolean(o.all_day && o.start_date);
// The event's own zone is shown when it is not the viewer's. A single event left at the API's
// default zone (UTC: "no zone given") is not labelled; a series is, UTC included (it repeats by UTC's clock).
const otherZone = (o) => !isAllDay(o) && Boolean(o.timezone) && !sameZone(o.timezone, browserZone) && (!sameZone(o.timezone, "UTC") || o.is_recurring);

const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());

// My answer to an invitation, on the grid (not for an event I organise or was not invited to).
const ANSWER_CLASSES = { needs_action: "ne-unanswered", tentative: "ne-tentative", declined: "ne-declined" };
const ANSWER_WORDS = { needs_action: "invitation not answered yet", tentative: "you answered maybe", declined: "you declined" };
/** My answer for the series when I am invited (not the organizer), else null. */
function invitedAnswer(o) {
  const me = (o.attendees || []).find((a) => a.user_id === user()?.id);
  return me && !me.organizer ? o.my_response || me.response : null;
}
const answerClasses = (o) => (ANSWER_CLASSES[invitedAnswer(o)] ? [ANSWER_CLASSES[invitedAnswer(o)]] : []);

/** An API occurrence as a FullCalendar event. All-day events are dates (end exclusive). A
 * timed event of a day or more goes in the all-day lane as a bar across its days (as Google
 * Calendar draws it); it keeps its times, and moves by whole days there. */
export function toEvent(o) {
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

export const longFmt = () => new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" });
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

/** The event's box (FullCalendar's eventContent) in a view of `kind`: its time, title, ↻ for
 * a series, its own zone's time, and its place (not in the month). */
export function eventContent(arg, kind) {
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
}

/** What finds an occurrence's element again once the grid is redrawn (ui.js's modal gives the
 * focus back to it, reload.js after a reload). */
const focusKey = (o) => `${o.id}@${o.recurrence_id || ""}`;

/** The drawn event's element as a focusable button with its spoken description, marked with
 * the occurrence it shows. */
export function markEvent(el, event) {
  const o = event.extendedProps.occurrence;
  el.dataset.focusKey = focusKey(o); // its successor after a redraw has the same
  el.dataset.eventId = o.id;
  el.dataset.recurrenceId = o.recurrence_id || "";
  el.dataset.start = event.start ? event.start.toISOString() : "";
  el.tabIndex = 0;
  el.setAttribute("role", "button");
  el.setAttribute("aria-label", describe(o, event.start, event.end, event.allDay));
}
