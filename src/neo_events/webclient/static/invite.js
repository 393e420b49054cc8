// Invitations (SPEC §13): who is invited and what each one answered, inviting people
// (editors and owners), my own answer for the series or one occurrence, and my invitations
// that wait for an answer (the badge in the top bar and #/invitations).

import { allPages, api, user } from "./api.js";
import { attempt, errorBox, eventStart, field, formatWhen, h, id, isoDate, showNotice, userError } from "./ui.js";

export const ANSWERS = { needs_action: "no answer yet", accepted: "accepted", tentative: "maybe", declined: "declined" };
const CHOICES = [["accepted", "Accept"], ["tentative", "Tentative"], ["declined", "Decline"]];

/** A person by exact username or email, or by user id ("12"): `{id, username}`. */
export async function lookUpPerson(text) {
  const wanted = text.trim().replace(/^#/, "");
  if (!wanted) throw userError("Please enter a username, an email or a user id.");
  if (/^\d+$/.test(wanted)) return { id: Number(wanted), username: `user ${wanted}` };
  const found = await api("GET", "/users", { query: { q: wanted } });
  const match = found.items[0];
  if (!match) throw userError(`No user has exactly the username or email “${wanted}”.`);
  return match;
}

/** Several people, separated by commas or spaces: their ids, in the order given, once each. */
export async function lookUpPeople(text) {
  const names = text.split(/[\s,;]+/).filter(Boolean);
  if (!names.length) throw userError("Please name at least one person.");
  if (names.length > 20) throw userError("Please name at most 20 people at once.");
  const people = [];
  for (const name of names) {
    const person = await lookUpPerson(name);
    if (!people.some((p) => p.id === person.id)) people.push(person);
  }
  return people;
}

/** Invite `people` to event `eventId`; a sentence saying what happened. */
export async function invitePeople(eventId, people) {
  const result = await api("POST", `/events/${eventId}/attendees`, {
    query: { conflicts: "warn" },
    body: { users: people.map((p) => ({ user_id: p.id })) },
  });
  const names = people.map((p) => result.items.find((a) => a.user_id === p.id)?.username || p.username).join(", ");
  const clashes = result.conflicts || [];
  return {
    items: result.items,
    message: clashes.length ? `Invited ${names}. It overlaps ${clashes.length} of their events.` : `Invited ${names}.`,
  };
}

/** The dialog's "People invited" part for an existing event; errors go to the dialog's own
 * `error` box. */
export function attendeeSection(occurrence, { canEdit, onChange, error }) {
  const me = user();
  const series = occurrence.is_recurring && occurrence.recurrence_id;
  const list = h("ul", { class: "people attendees", "aria-label": "Invited people" });
  const note = h("p", { class: "muted", role: "status" });
  const mine = h("div", { class: "my-answer" });
  const box = h("fieldset", { class: "attendees-box" }, h("legend", {}, "People invited"), list, mine);
  let attendees = occurrence.attendees || [];
  let myResponse = occurrence.my_response || null;

  function render() {
    list.replaceChildren(...attendees.map((a) => h("li", {},
      h("span", { class: "who" }, a.username, a.user_id === me?.id ? " (you)" : ""),
      h("span", { class: `answer ${a.response}` }, a.organizer ? "organizer" : ANSWERS[a.response] || a.response),
      canEdit && !a.organizer ? removeButton(a) : null,
      a.optional ? h("small", { class: "muted" }, "optional") : null,
      a.comment ? h("small", { class: "muted" }, `“${a.comment}”`) : null)));
    if (!attendees.length) list.append(h("li", { class: "muted" }, "Nobody is invited yet."));
    // The API lists answers for the series only; answers for single occurrences are in the
    // event's history (its changelog).
    else if (occurrence.is_recurring) list.append(h("li", { class: "muted" }, "Answers for the whole series. ", h("a", { href: `#/events/${occurrence.id}/history` }, "Answers for single occurrences are in the history"), "."));
    const meInvited = attendees.find((a) => a.user_id === me?.id && !a.organizer);
    mine.replaceChildren();
    if (meInvited) mine.append(answerForm());
  }

  /** Take someone off the invitation (editors and owners); the role they were given stays. */
  function removeButton(a) {
    const b = h("button", { type: "button", class: "danger", "aria-label": `Remove ${a.username} from the invitation` }, "Remove");
    b.addEventListener("click", async () => {
      error.hidden = true;
      const done = await attempt(async () => (await api("DELETE", `/events/${occurrence.id}/attendees/${a.user_id}`), true), error);
      if (!done) return;
      note.textContent = `${a.username} is no longer invited.`;
      await reload();
    });
    return b;
  }

  function answerForm() {
    const name = id("for");
    const scope = series
      ? h("div", { class: "answer-scope", role: "radiogroup", "aria-label": "Answer for" },
          ...[["all", "Answer for the whole series"], ["this", "Answer for this occurrence only"]].map(([value, label]) => {
            const radio = h("input", { type: "radio", name, value, id: id("for"), checked: value === "all" });
            return h("div", { class: "radio" }, radio, h("label", { for: radio.id }, label));
          }))
      : null;
    const current = h("p", { class: "muted" }, `Your answer${series ? " for the series" : ""}: ${ANSWERS[myResponse] || "no answer yet"}.`);
    const buttons = CHOICES.map(([value, label]) => {
      const b = h("button", { type: "button", "aria-pressed": String(myResponse === value) }, label);
      b.addEventListener("click", async () => {
        error.hidden = true;
        const one = scope && scope.querySelector("input:checked").value === "this";
        const path = one
          ? `/events/${occurrence.id}/instances/${encodeURIComponent(occurrence.recurrence_id)}/rsvp`
          : `/events/${occurrence.id}/rsvp`;
        const done = await attempt(() => api("PUT", path, { body: { response: value } }), error);
        if (!done) return;
        note.textContent = one ? `You ${ANSWERS[value] === "maybe" ? "answered maybe" : ANSWERS[value]} this occurrence.` : `You ${ANSWERS[value] === "maybe" ? "answered maybe" : ANSWERS[value]} the invitation.`;
        if (!one) myResponse = value;
        await reload();
        onChange?.();
      });
      return b;
    });
    return h("div", {}, h("p", {}, h("strong", {}, "You are invited")), current, scope, h("div", { class: "actions answer-buttons" }, ...buttons));
  }

  async function reload() {
    const fresh = await attempt(() => api("GET", `/events/${occurrence.id}`), error);
    if (!fresh) return;
    attendees = fresh.attendees || [];
    myResponse = fresh.my_response || null;
    render();
  }

  if (canEdit) {
    const who = h("input", { name: "invite", autocomplete: "off", placeholder: "usernames, emails or user ids" });
    const add = h("button", { type: "button" }, "Invite");
    const send = async () => {
      error.hidden = true;
      note.textContent = "";
      add.disabled = true;
      await attempt(async () => {
        const people = await lookUpPeople(who.value);
        const result = await invitePeople(occurrence.id, people);
        who.value = "";
        attendees = result.items;
        note.textContent = result.message;
        render();
      }, error);
      add.disabled = false;
    };
    add.addEventListener("click", send);
    // Enter in this field invites (it must not submit the event form around it).
    who.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        send();
      }
    });
    box.append(h("div", { class: "invite-row" }, field("Invite people", who, "Exact username or email, or a user id; several separated by commas."), add));
  }
  box.append(note);
  render();
  return box;
}

/** How many invitations wait for my answer (the top bar's badge); null if unknown. */
export async function pendingCount() {
  try {
    const items = await allPages("/invitations", { response: "needs_action" });
    return items.length;
  } catch {
    return null;
  }
}

/** #/invitations: what I am invited to and have not answered, with the answers at hand. */
export function invitationsView(main, context) {
  const list = h("ul", { class: "settings-list invitations", "aria-label": "Invitations waiting for an answer" });
  const error = errorBox();
  main.append(
    h("a", { href: "#/week", class: "back" }, "‹ Back to the calendar"),
    h("h1", {}, "Invitations"),
    h("p", { class: "muted" }, "Events you are invited to and have not answered yet. Answer for a whole series here, or open an occurrence in the calendar to answer for just that one."),
    error, list,
  );
  async function load() {
    const items = await attempt(() => allPages("/invitations", { response: "needs_action" }), error);
    if (!items) return;
    list.replaceChildren(...items.map((e) => {
      const day = isoDate(eventStart(e)); // an all-day one's date, whatever this browser's zone
      const buttons = CHOICES.map(([value, label]) => {
        const b = h("button", { type: "button", "aria-label": `${label} “${e.title}”` }, label);
        b.addEventListener("click", async () => {
          const ok = await attempt(() => api("PUT", `/events/${e.id}/rsvp`, { body: { response: value } }), error);
          if (ok) {
            showNotice(`You ${value === "tentative" ? "answered maybe to" : ANSWERS[value]} “${e.title}”.`, "info");
            context.invitationsChanged?.();
            load();
          }
        });
        return b;
      });
      return h("li", {},
        h("span", { class: "who", dir: "auto" }, e.title),
        h("small", { class: "muted" }, `${formatWhen(e)}${e.is_recurring ? " · repeats" : ""} · from ${e.owner?.username || "someone"}`),
        h("a", { class: "button", href: `#/week/${day}` }, "Show in calendar"),
        ...buttons);
    }));
    if (!items.length) list.append(h("li", { class: "muted" }, "No invitations waiting for an answer."));
  }
  load();
  const unsubscribe = context.subscribe((message) => {
    if (String(message.type).startsWith("attendee.") || message.type === "event.deleted") load();
  });
  return unsubscribe;
}
