// My reminders on an event (SPEC §14: each person's own, at most 5) and their firing as
// browser notifications from the live `reminder.due` message. Permission to notify is asked
// when a person adds their first reminder: the moment they ask to be reminded, from a click.

import { api } from "./api.js";
import { attempt, h, id, locale, localDate, showNotice } from "./ui.js";

const MAX = 5;
const CHOICES = [0, 5, 10, 15, 30, 60, 120, 1440, 2880, 10080];

/** "10 minutes before", "1 day before", "At the start". */
export function reminderLabel(minutes) {
  if (minutes === 0) return "At the start";
  const units = [[10080, "week"], [1440, "day"], [60, "hour"], [1, "minute"]];
  for (const [size, name] of units) {
    if (minutes % size === 0) {
      const n = minutes / size;
      return `${n} ${name}${n === 1 ? "" : "s"} before`;
    }
  }
  return `${minutes} minutes before`;
}

/** Ask once whether this site may show notifications (only from a person's action). */
export async function askToNotify() {
  if (typeof Notification === "undefined" || Notification.permission !== "default") return;
  try {
    await Notification.requestPermission();
  } catch {
    // an old browser without the promise form: the in-page message still shows
  }
}

/** The "My reminders" part of the event dialog: saved at once, for any role. */
export function reminderEditor(occurrence) {
  const list = h("ul", { class: "reminders", "aria-label": "My reminders" });
  const status = h("p", { class: "muted", role: "status" });
  const pick = h("select", { "aria-label": "New reminder", id: id("rem") },
    CHOICES.map((m) => h("option", { value: m }, reminderLabel(m))));
  pick.value = "10";
  const add = h("button", { type: "button" }, "Add reminder");
  const box = h("fieldset", { class: "reminders-box" }, h("legend", {}, "My reminders"), list, h("div", { class: "add-reminder" }, pick, add), status);
  let mine = [];

  function render() {
    list.replaceChildren(...mine.map((m) => {
      const remove = h("button", { type: "button", class: "icon", "aria-label": `Remove reminder ${reminderLabel(m)}` }, "×");
      remove.addEventListener("click", () => save(mine.filter((x) => x !== m)));
      return h("li", {}, h("span", {}, reminderLabel(m)), remove);
    }));
    if (!mine.length) list.append(h("li", { class: "muted" }, "None"));
    add.disabled = mine.length >= MAX;
  }

  async function save(next) {
    const result = await attempt(() => api("PUT", `/events/${occurrence.id}/reminders`, { body: { reminders: next.map((m) => ({ minutes_before: m })) } }), status);
    if (!result) return;
    mine = (result.reminders || result.items || next.map((m) => ({ minutes_before: m }))).map((r) => r.minutes_before).sort((a, b) => a - b);
    status.textContent = "Reminders saved.";
    render();
  }

  add.addEventListener("click", async () => {
    const m = Number(pick.value);
    if (mine.includes(m)) return;
    askToNotify(); // from this click: the browser asks; the answer does not block saving
    await save([...mine, m]);
  });

  (async () => {
    const event = await attempt(() => api("GET", `/events/${occurrence.id}`), status);
    mine = (event?.my_reminders || []).map((r) => r.minutes_before).sort((a, b) => a - b);
    render();
  })();
  render();
  return box;
}

/** A live `reminder.due`: a system notification when allowed, and a message in the page. */
export function fireReminder(message) {
  const start = new Date(message.occurrence_start);
  const time = new Intl.DateTimeFormat(locale, { weekday: "short", hour: "2-digit", minute: "2-digit" }).format(start);
  const ahead = reminderLabel(message.minutes_before).replace(" before", "");
  // An all-day one names its day, as dates are shown: "is on Fri 15 Jan (all day), in 1 hour".
  const day = message.all_day && localDate(message.start_date);
  const date = day && new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short" }).format(day);
  let lead = message.minutes_before === 0 ? `starts now (${time})` : `starts at ${time} (in ${ahead})`;
  if (date) lead = message.minutes_before === 0 ? `is today, ${date} (all day)` : `is on ${date} (all day), in ${ahead}`;
  const body = message.late ? `${lead} (reminder delivered late)` : lead;
  showNotice(`Reminder: “${message.title}” ${body}.`, "info");
  if (typeof Notification !== "undefined" && Notification.permission === "granted") {
    try {
      new Notification(message.title, { body: `${body[0].toUpperCase()}${body.slice(1)}.`, tag: `${message.event_id}-${message.occurrence_start}-${message.minutes_before}` });
    } catch {
      // some platforms only notify from a service worker: the in-page message is shown
    }
  }
}
