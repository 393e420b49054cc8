// Moves made on the grid: a drop or a resize (dragged with the mouse or a finger) and the
// arrow keys on a focused event. Each is carried out by move.js (scope, conflicts, If-Match);
// here they are put in order, so that a second move of an event starts where the first left
// it, with the version the first one's answer gave.

import { moveOccurrence } from "./move.js";
import { canEdit, longFmt } from "./render.js";
import { addDays, DAY_MS, isoDate } from "./ui.js";

const KEY_STEP_MIN = 15;
const ARROWS = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -1, ArrowRight: 1 };

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

/** Moves on the grid in `host`, a view of `kind`; `grid` is its reloads (reload.js), `status`
 * the line that says what a key moved. Pass `dropped` as FullCalendar's eventDrop and
 * eventResize, and `mounted(el, event)` for each event's element drawn. */
export function gridMoves({ host, status, kind, grid }) {
  const eventOf = new WeakMap(); // an event's element → its FullCalendar event (the occurrence it was drawn from)
  // event id → its last drop: resolves to {ev, left} (the occurrence as the move left it),
  // or null when nothing was saved
  const drops = new Map();
  let presses = Promise.resolve(); // arrow keys are carried out one after another

  /** A drop is saved after the previous drop of that event (a drag on a slow network can
   * come before the previous one's answer), and starts from where that one put it, with the
   * version it returned: sent with the version drawn, it was refused as someone else's
   * change (a 412 naming myself), and its "apply my move" lost it. */
  function dropped(info) {
    const ev = info.event;
    const key = ev.extendedProps.occurrence.id;
    const before = drops.get(key);
    const drop = grid.writing(async () => {
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
          if (previous) grid.refresh(); // not reloaded after the previous drop (below): now
        },
        done: (saved, how) => {
          if (saved && how) left = afterMove(o, saved, how);
          // A later drop of it waits for this one: the grid reloads after that one (a
          // reload now would draw the event back here meanwhile).
          return drops.get(key) === drop ? grid.written(saved) : grid.remember(saved);
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

  function mounted(el, event) {
    eventOf.set(el, event);
    el.addEventListener("keydown", keyMove);
  }

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
      .then(grid.settled)
      .then(() => {
        // Redrawn meanwhile: the press is for the event that has the focus now (the redraw
        // gave it to the pressed one's successor); none, when the focus left the grid.
        const target = el.isConnected ? el : document.activeElement;
        const ev = target && host.contains(target) ? eventOf.get(target) : null;
        return ev ? grid.writing(() => keyMoveBy(ev, press)) : undefined;
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
        await grid.written(saved);
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

  return { dropped, mounted };
}
