// An event's history, in the manner of a wiki's page history: every version (and every
// sharing change) with author, time and summary; any two versions side by side; rollback.

import { allPages, api } from "./api.js";
import { ANSWERS } from "./invite.js";
import { attempt, confirmAction, formatDateTime, h, id, locale, showNotice } from "./ui.js";

const FIELD_LABELS = {
  title: "Title", description: "Description", start_time: "Starts", end_time: "Ends", timezone: "Time zone",
  location: "Location", is_recurring: "Repeats", recurrence_pattern: "Repeat rule", exdates: "Cancelled occurrences",
  rdates: "Extra occurrences", overrides: "Changed occurrences", all_day: "All day", start_date: "First day",
  end_date: "Day after the last", transparency: "Shows as",
};
const FREQ = { YEARLY: "year", MONTHLY: "month", WEEKLY: "week", DAILY: "day", HOURLY: "hour", MINUTELY: "minute" };
const DAYS = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };

/** An RRULE in words: "every week on Mon, Wed, 10 times" (the rule itself is shown too). */
export function describeRule(rule) {
  if (!rule) return "does not repeat";
  const parts = Object.fromEntries(rule.replace(/^RRULE:/i, "").split(";").map((p) => p.split("=")));
  const unit = FREQ[parts.FREQ];
  if (!unit) return rule;
  const n = Number(parts.INTERVAL || 1);
  let text = n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
  if (parts.BYDAY) text += ` on ${parts.BYDAY.split(",").map((d) => d.replace(/[A-Z]{2}$/, (x) => DAYS[x] || x)).join(", ")}`;
  if (parts.BYMONTHDAY) text += ` on day ${parts.BYMONTHDAY}`;
  if (parts.COUNT) text += `, ${parts.COUNT} times`;
  if (parts.UNTIL) {
    const u = parts.UNTIL.match(/^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/);
    if (u) {
      const at = u[4] ? new Date(`${u[1]}-${u[2]}-${u[3]}T${u[4]}:${u[5]}:${u[6]}${u[7] ? "Z" : ""}`) : new Date(`${u[1]}-${u[2]}-${u[3]}T00:00`);
      text += `, until ${new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric" }).format(at)}`;
    }
  }
  return text;
}

const whenFmt = () => new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const timeFmt = () => new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });

/** One changed occurrence in words: "Mon 29 Mar, 18:00: moved to 19:00–20:00, title “Yoga late”". */
function describeOverride(o) {
  const parts = [];
  if (o.start_time || o.end_time) {
    const s = o.start_time ? new Date(o.start_time) : null;
    const e = o.end_time ? new Date(o.end_time) : null;
    const sameDay = s && s.toDateString() === new Date(o.recurrence_id).toDateString();
    if (s && e) parts.push(`moved to ${sameDay ? timeFmt().format(s) : whenFmt().format(s)}–${timeFmt().format(e)}`);
    else if (s) parts.push(`starts ${whenFmt().format(s)}`);
    else parts.push(`ends ${timeFmt().format(e)}`);
  }
  if (o.title) parts.push(`title “${o.title}”`);
  if (o.location) parts.push(`location “${o.location}”`);
  if (o.description) parts.push("description changed");
  return `${whenFmt().format(new Date(o.recurrence_id))}: ${parts.join(", ") || "changed"}`;
}

/** What an occurrence edit did, from the overrides before and after. */
function overrideChanges(change) {
  const before = new Map((change.old || []).map((o) => [o.recurrence_id, JSON.stringify(o)]));
  const after = change.new || [];
  const changed = after.filter((o) => before.get(o.recurrence_id) !== JSON.stringify(o));
  const kept = new Set(after.map((o) => o.recurrence_id));
  const restored = (change.old || []).filter((o) => !kept.has(o.recurrence_id));
  return [
    ...changed.map((o) => `The occurrence of ${describeOverride(o)}`),
    ...restored.map((o) => `The occurrence of ${whenFmt().format(new Date(o.recurrence_id))} is back to the series' time and text`),
  ];
}

/** A changelog entry as a sentence, where the fields say more than the server's summary. */
function describeEntry(e) {
  const changes = e.changes || [];
  const byField = Object.fromEntries(changes.map((c) => [c.field, c]));
  const lines = [];
  if (e.change_type === "responded" && byField.response) {
    // The API names the occurrence only in its summary ("… for the occurrence of <instant>").
    const who = e.changed_by?.username || "Someone";
    const answer = ANSWERS[byField.response.new] || byField.response.new;
    const one = (e.summary || "").match(/for the occurrence of (\S+)$/);
    const when = one && !Number.isNaN(Date.parse(one[1])) ? ` for the occurrence of ${whenFmt().format(new Date(one[1]))}` : one ? ` for the occurrence of ${one[1]}` : " for the whole series";
    return `${who} ${answer === "maybe" ? "answered maybe" : answer === "no answer yet" ? "withdrew the answer" : answer}${when}`;
  }
  if (byField.overrides) lines.push(...overrideChanges(byField.overrides));
  if (byField.exdates && e.change_type === "occurrence_cancelled") {
    const gone = (byField.exdates.new || []).filter((x) => !(byField.exdates.old || []).includes(x));
    lines.push(...gone.map((x) => `The occurrence of ${whenFmt().format(new Date(x))} was cancelled`));
  }
  if (byField.recurrence_pattern) {
    const { old: before, new: after } = byField.recurrence_pattern;
    const shortened = after && /UNTIL=/.test(after) && !/UNTIL=/.test(before || "");
    lines.push(shortened
      ? `The series now ends: ${describeRule(after)} (the occurrences after it may continue as a new series)`
      : `Repeats ${describeRule(after)} (was ${describeRule(before)})`);
  }
  return lines.length ? lines.join(". ") : null;
}
const CHANGE_LABELS = {
  created: "created", updated: "edited", occurrence_updated: "occurrence edited", occurrence_cancelled: "occurrence cancelled",
  rolled_back: "rolled back", deleted: "deleted", shared: "shared", permission_changed: "role changed", unshared: "unshared",
  invited: "invited", responded: "answered", uninvited: "uninvited",
};
const TIME_LIKE = /(^|_)time$|^recurrence_id$/;

/** A field's value as words: times in the browser's zone, lists one item per line. */
function formatValue(fieldName, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.length ? value.map((v) => formatValue(fieldName, v)).join("\n") : "none";
  if (typeof value === "object" && value.recurrence_id) return describeOverride(value);
  if (typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k.replaceAll("_", " ")}: ${formatValue(k, v)}`)
      .join(", ");
  }
  if (fieldName === "recurrence_pattern") return `${describeRule(value)}\n${value}`;
  if (TIME_LIKE.test(fieldName) || fieldName === "exdates" || fieldName === "rdates") {
    const t = new Date(value);
    if (!Number.isNaN(t.getTime())) return formatDateTime(t);
  }
  return String(value);
}

/** The two sides of one changed field: removed text struck through, added text marked. */
function sides(change) {
  if (Array.isArray(change.diff)) {
    const left = h("div", { class: "text" });
    const right = h("div", { class: "text" });
    for (const part of change.diff) {
      if (part.op === "equal") {
        left.append(part.text);
        right.append(part.text);
      } else if (part.op === "delete") {
        left.append(h("del", {}, part.text));
      } else if (part.op === "insert") {
        right.append(h("ins", {}, part.text));
      }
    }
    return [left, right];
  }
  const oldText = formatValue(change.field, change.old);
  const newText = formatValue(change.field, change.new);
  return [
    h("div", { class: "text" }, change.old === null ? "—" : h("del", {}, oldText)),
    h("div", { class: "text" }, change.new === null ? "—" : h("ins", {}, newText)),
  ];
}

export function historyView(main, context, eventId) {
  const heading = h("h1", { id: "history-title" }, "History");
  const back = h("a", { href: "#/week", class: "back" }, "‹ Back to the calendar");
  const table = h("table", { class: "history" });
  const compare = h("button", { type: "submit", class: "primary" }, "Compare selected versions");
  const form = h("form", { class: "compare", "aria-labelledby": "history-title" }, h("div", { class: "table-wrap" }, table), compare);
  const diffArea = h("section", { class: "diff-area", "aria-live": "polite" });
  main.append(back, heading, h("p", { class: "muted" }, "Pick two versions (From and To) and compare them. Sharing changes are listed in the same timeline."), form, diffArea);

  let event = null;
  let selected = { from: null, to: null };
  const fromName = id("from");
  const toName = id("to");

  async function load() {
    const result = await attempt(async () => {
      const [current, entries] = await Promise.all([api("GET", `/events/${eventId}`), allPages(`/events/${eventId}/changelog`)]);
      return { current, entries };
    });
    if (!result) return;
    event = result.current;
    heading.textContent = `History of “${event.title}”`;
    render(result.entries.slice().reverse()); // newest first, as a wiki shows it
  }

  /** The first version of a series split off another ("this and following") says so. */
  function splitNote(e) {
    if (e.change_type !== "created" || !event.split_from) return null;
    return h("span", {}, "A new series began here, continuing ",
      h("a", { href: `#/events/${event.split_from}/history` }, "the series it was split from"),
      " from this occurrence on");
  }

  function render(entries) {
    const versions = entries.filter((e) => e.version !== null).map((e) => e.version);
    const latest = Math.max(...versions);
    if (!versions.includes(selected.to)) selected.to = latest;
    if (!versions.includes(selected.from)) selected.from = versions.find((v) => v < selected.to) ?? selected.to;
    const canRollBack = event.my_role === "owner" || event.my_role === "editor";
    const radio = (name, key, version, label) => {
      const input = h("input", { type: "radio", name, value: version, checked: selected[key] === version, "aria-label": label });
      input.addEventListener("change", () => {
        selected[key] = version;
      });
      return input;
    };
    table.replaceChildren(
      h("caption", { class: "sr-only" }, "Versions and sharing changes, newest first"),
      h("thead", {}, h("tr", {}, ["From", "To", "Version", "When", "Who", "What", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, entries.map((e) => {
        const isVersion = e.version !== null;
        const who = e.changed_by ? e.changed_by.username : "—";
        const label = CHANGE_LABELS[e.change_type] || e.change_type;
        const actions = h("td", { class: "row-actions" });
        if (isVersion && canRollBack && e.version !== latest && e.change_type !== "deleted") {
          actions.append(h("button", { type: "button", onclick: () => rollBack(e.version) }, "Roll back", h("span", { class: "sr-only" }, ` to version ${e.version}`)));
        }
        return h("tr", { class: isVersion ? "version" : "sharing", dataset: { version: isVersion ? e.version : "" } },
          h("td", {}, isVersion ? radio(fromName, "from", e.version, `Compare from version ${e.version}`) : null),
          h("td", {}, isVersion ? radio(toName, "to", e.version, `Compare to version ${e.version}`) : null),
          h("td", {}, isVersion ? `v${e.version}${e.version === latest ? " (current)" : ""}` : ""),
          h("td", {}, h("time", { datetime: e.changed_at }, formatDateTime(e.changed_at))),
          h("td", {}, who),
          h("td", { class: "summary" }, h("span", { class: `tag ${e.change_type}` }, label), " ", splitNote(e) || describeEntry(e) || e.summary || ""),
          actions);
      })),
    );
  }

  async function showDiff() {
    const { from, to } = selected;
    if (from === to) {
      diffArea.replaceChildren(h("p", {}, "Pick two different versions to compare."));
      return;
    }
    const diff = await attempt(() => api("GET", `/events/${eventId}/diff/${from}/${to}`));
    if (!diff) return;
    const title = h("h2", { id: "diff-title" }, `Version ${from} → version ${to}`);
    if (!diff.changes.length) {
      diffArea.replaceChildren(title, h("p", {}, "These two versions have the same content."));
      return;
    }
    diffArea.replaceChildren(
      title,
      h("div", { class: "table-wrap" }, h("table", { class: "diff", "aria-labelledby": "diff-title" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, `Version ${from}`), h("th", { scope: "col" }, `Version ${to}`))),
        h("tbody", {}, diff.changes.map((c) => {
          const [left, right] = sides(c);
          return h("tr", { dataset: { field: c.field } }, h("th", { scope: "row" }, FIELD_LABELS[c.field] || c.field.replaceAll("_", " ")), h("td", { class: "old" }, left), h("td", { class: "new" }, right));
        })))),
    );
  }

  async function rollBack(version) {
    const ok = await confirmAction(
      `Roll back “${event.title}” to version ${version}? This adds a new version with the content of version ${version}; no history is lost.`,
      `Roll back to version ${version}`,
    );
    if (!ok) return;
    const result = await attempt(() => api("POST", `/events/${eventId}/rollback/${version}`));
    if (result) {
      // Saved under the default `warn`: a rollback that moved the event says what it overlaps.
      const clashes = (result.conflicts || []).length;
      const overlaps = clashes ? ` It overlaps ${clashes === 1 ? "another event" : `${clashes} other events`}.` : "";
      showNotice(`Rolled back to version ${version}: this is now version ${result.version}.${overlaps}`, "info");
      // The comparison shown was of the old versions: show what the rollback changed instead.
      selected = { from: null, to: null };
      diffArea.replaceChildren();
      await load();
      await showDiff();
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    showDiff();
  });

  load();
  return context.subscribe((message) => {
    if (message.event_id === eventId || message.type === "resync") load();
  });
}
