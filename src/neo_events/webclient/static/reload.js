// What the grid shows and when it reloads: the listing of the visible window, one coalesced
// reload after my writes and others' live messages (not for my own write's message), the
// grid busy (aria-busy) meanwhile, and the focused event's successor focused after a redraw.

import { allPages } from "./api.js";
import { toEvent } from "./render.js";
import { attempt, browserZone } from "./ui.js";

/** The grid's loading for `host` (its status line `status`); `calendar()` is its FullCalendar.
 * Pass `listing` as FullCalendar's `events` and `drawn` as its `eventsSet`. */
export function gridReloads({ host, status, calendar }) {
  // The grid is busy (aria-busy) while a listing loads or a reload is pending; it has settled
  // when, besides, none of my moves is being saved.
  let loads = 0;
  let reloads = 0;
  let writes = 0;
  let refocus = null; // the focused event's data-focus-key as its element is redrawn
  const waiting = []; // who waits for the grid to settle
  let inflight = null;
  const shown = new Map(); // event id → the version drawn: a live message about it is news only if newer
  const held = []; // live messages that came while a move of mine was being saved
  let closed = false; // the view was left: a move still being saved reloads nothing

  const focusedKey = () => {
    const focused = document.activeElement?.closest?.(".fc-event");
    return focused && host.contains(focused) ? focused.dataset.focusKey : null;
  };

  function listing(info, success, failure) {
    load(info.start, info.end).then((items) => {
      if (!items) return failure(new Error("not loaded"));
      // Drawing them replaces the events' elements: the focused one's successor gets the focus.
      refocus = focusedKey();
      success(items.map(toEvent));
    });
  }

  function drawn() {
    const key = refocus;
    refocus = null;
    if (key && !host.contains(document.activeElement)) {
      const successor = host.querySelector(`.fc-event[data-focus-key="${CSS.escape(key)}"]`);
      if (successor) successor.focus();
      // None (deleted, or moved out of the view): the grid, as Google Calendar does, rather
      // than the page's body, where the next Tab starts again at the top. Not where the
      // focus has gone since (a key pressed meanwhile).
      else if (!document.activeElement || document.activeElement === document.body) host.focus();
    }
  }

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
   * event keeps the focus (`drawn`: its element is redrawn). */
  function refresh() {
    if (inflight) return inflight;
    reloads += 1;
    busy();
    inflight = new Promise((resolve) => {
      setTimeout(() => {
        inflight = null;
        let fallback = null;
        const once = () => {
          calendar().off("eventsSet", once);
          clearTimeout(fallback);
          if (fallback === undefined) return; // already ended
          fallback = undefined;
          reloads -= 1;
          busy();
          resolve();
        };
        // refetchEvents is asynchronous: the events are drawn when eventsSet comes.
        calendar().on("eventsSet", once);
        fallback = setTimeout(once, 5000); // a failed load shows its error; stop waiting
        calendar().refetchEvents();
      }, 50);
    });
    return inflight;
  }

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

  /** The view was left: nothing heard or held reloads it any more. */
  function close() {
    closed = true;
    held.length = 0;
  }

  return { listing, drawn, settled, writing, written, remember, refresh, heard, close };
}
