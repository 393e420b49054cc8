// "Find a time" in the new-event dialog (SPEC §7 find-time): the people, a length and working
// hours in this browser's zone; the earliest slots when everyone is free, as buttons. Picking
// one hands the slot and the people to the form, which creates the event and invites them.

import { api } from "./api.js";
import { lookUpPeople } from "./invite.js";
import { attempt, browserZone, field, h, id, isoDate, localDate, locale, userError } from "./ui.js";

const WINDOW_DAYS = 14; // searched from the chosen day on (the API allows up to 62)
const SLOTS = 6;

const slotLabel = (start, end) => {
  const day = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short" });
  const time = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  return `${day.format(start)}, ${time.format(start)}–${time.format(end)}`;
};

/** POST /scheduling/find-time; a refused person (not a contact) is named, not numbered. */
async function askFindTime(who, options) {
  try {
    return await api("POST", "/scheduling/find-time", options);
  } catch (e) {
    const refused = (e.problem?.errors || []).find((x) => x.loc?.includes("user_ids") && Number.isInteger(x.loc[x.loc.length - 1]));
    if (!refused) throw e;
    const person = who[refused.loc[refused.loc.length - 1]];
    throw userError(`${person ? person.username : "Someone"} does not share any event with you (or does not exist): find a time only looks at the calendars of people you share events with.`);
  }
}

/** The panel; `onPick({start, end, people})` runs when a slot is chosen; its errors go to
 * the dialog's own `error` box. */
export function findTimePanel({ slot, onPick, error }) {
  const people = h("input", { name: "people", autocomplete: "off", placeholder: "bob, carol@example.com" });
  const minutes = Math.max(15, Math.min(480, Math.round((new Date(slot.end) - new Date(slot.start)) / 60000) || 60));
  const duration = h("select", { name: "duration" },
    [15, 30, 45, 60, 90, 120, 180, 240].map((m) => h("option", { value: m }, m < 60 ? `${m} minutes` : `${m / 60} hour${m === 60 ? "" : "s"}`)));
  duration.value = [15, 30, 45, 60, 90, 120, 180, 240].includes(minutes) ? String(minutes) : "60";
  const from = h("input", { name: "from", type: "date", value: isoDate(new Date(slot.start)) });
  const dayStart = h("input", { name: "day_start", type: "time", value: "09:00", step: 900 });
  const dayEnd = h("input", { name: "day_end", type: "time", value: "17:00", step: 900 });
  const weekdays = h("input", { type: "checkbox", id: id("weekdays"), checked: true });
  const find = h("button", { type: "button", class: "primary" }, "Find times");
  const results = h("div", { class: "suggestions", "aria-live": "polite" });

  find.addEventListener("click", async () => {
    error.hidden = true;
    results.replaceChildren();
    find.disabled = true;
    await attempt(async () => {
      const who = await lookUpPeople(people.value);
      const first = from.value || isoDate(new Date());
      const start = localDate(first);
      const end = localDate(first, WINDOW_DAYS);
      if (!dayStart.value || !dayEnd.value || dayEnd.value <= dayStart.value) {
        throw userError("The working day must end after it starts.");
      }
      const found = await askFindTime(who, {
        body: {
          user_ids: who.map((p) => p.id),
          duration_minutes: Number(duration.value),
          timezone: browserZone,
          start_time: start.toISOString(),
          end_time: end.toISOString(),
          working_hours: { start: dayStart.value, end: dayEnd.value, days: weekdays.checked ? [1, 2, 3, 4, 5] : [1, 2, 3, 4, 5, 6, 7] },
          granularity_minutes: 15,
          limit: SLOTS,
        },
      });
      if (!found.slots.length) {
        results.append(h("p", {}, `No common free time in the ${WINDOW_DAYS} days from ${from.value}. Try a shorter length, longer working hours or a later day.`));
        return;
      }
      const names = who.map((p) => p.username).join(", ");
      results.append(h("p", {}, `Everyone (you, ${names}) is free at:`));
      for (const s of found.slots) {
        const b = h("button", { type: "button" }, slotLabel(new Date(s.start_time), new Date(s.end_time)));
        b.addEventListener("click", () => onPick({ start: new Date(s.start_time), end: new Date(s.end_time), people: who }));
        results.append(b);
      }
      results.querySelector("button")?.focus();
    }, error);
    find.disabled = false;
  });
  people.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      find.click();
    }
  });

  return h("details", { class: "find-time" },
    h("summary", {}, "Find a time with others"),
    field("People", people, "Exact usernames or emails (or user ids), separated by commas. They are invited to the event."),
    h("div", { class: "when-fields" }, field("Length", duration), field("From", from)),
    h("div", { class: "when-fields" }, field("Working hours from", dayStart), field("Working hours until", dayEnd)),
    h("div", { class: "radio" }, weekdays, h("label", { for: weekdays.id }, "Monday to Friday only")),
    h("div", { class: "actions" }, find),
    results);
}
