// The event dialog: create, edit (one occurrence, this and following, or the whole series),
// delete; schedule conflicts are shown before anything is saved, with "Save anyway".

import { api } from "./api.js";
import { openShare } from "./share.js";
import {
  attempt, browserZone, confirmAction, errorBox, field, formatDateTime, fromLocalInput, h, id, modal, showNotice, toLocalInput,
} from "./ui.js";

const PRESETS = {
  none: null,
  daily: "FREQ=DAILY",
  weekdays: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
  weekly: "FREQ=WEEKLY",
  monthly: "FREQ=MONTHLY",
  yearly: "FREQ=YEARLY",
};
const PRESET_LABELS = {
  none: "Does not repeat", daily: "Daily", weekdays: "Every weekday", weekly: "Weekly",
  monthly: "Monthly", yearly: "Yearly", custom: "Custom rule",
};

/** The preset, count and custom text that show a stored RRULE. */
function parseRule(pattern) {
  if (!pattern) return { preset: "none", count: "", custom: "" };
  const rule = pattern.replace(/^RRULE:/i, "");
  const count = rule.match(/;COUNT=(\d+)$/);
  const base = count ? rule.slice(0, count.index) : rule;
  const preset = Object.keys(PRESETS).find((k) => PRESETS[k] === base);
  return preset ? { preset, count: count ? count[1] : "", custom: "" } : { preset: "custom", count: "", custom: rule };
}

function zoneList() {
  const list = h("datalist", { id: id("zones") });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [browserZone];
  for (const z of zones) list.append(h("option", { value: z }));
  return list;
}

/** Open the dialog for an occurrence from the week view, or (null) for a new event. */
export function openEvent(occurrence, { defaultDay, onChange }) {
  const isNew = occurrence === null;
  const role = isNew ? "owner" : occurrence.my_role;
  const canEdit = role === "owner" || role === "editor";
  const series = !isNew && occurrence.is_recurring && occurrence.recurrence_id;

  let start;
  let end;
  if (isNew) {
    start = new Date(defaultDay);
    start.setHours(9, 0, 0, 0);
    end = new Date(start.getTime() + 60 * 60 * 1000);
  } else {
    start = new Date(occurrence.start_time);
    end = new Date(occurrence.end_time);
  }
  const rule = parseRule(isNew ? null : occurrence.recurrence_pattern);

  const title = h("input", { name: "title", required: true, value: isNew ? "" : occurrence.title });
  const startInput = h("input", { name: "start", type: "datetime-local", required: true, value: toLocalInput(start) });
  const endInput = h("input", { name: "end", type: "datetime-local", required: true, value: toLocalInput(end) });
  const locationInput = h("input", { name: "location", value: isNew ? "" : occurrence.location || "" });
  const description = h("textarea", { name: "description", rows: 3 });
  description.value = isNew ? "" : occurrence.description || "";
  const zones = zoneList();
  const zone = h("input", { name: "timezone", list: zones.id, value: isNew ? browserZone : occurrence.timezone, autocomplete: "off" });
  const repeats = h("select", { name: "repeats" }, Object.entries(PRESET_LABELS).map(([k, label]) => h("option", { value: k }, label)));
  repeats.value = rule.preset;
  const count = h("input", { name: "count", type: "number", min: 1, max: 1000, inputmode: "numeric", value: rule.count });
  const custom = h("input", { name: "rule", value: rule.custom, placeholder: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" });
  const countField = field("Number of occurrences", count, "Empty: repeats with no end.");
  const customField = field("Rule (RFC 5545 RRULE)", custom);
  const recurrence = h("fieldset", { class: "recurrence" }, h("legend", {}, "Repeat"), field("Repeats", repeats), countField, customField, field("Time zone", zone, "Repeats follow this zone's wall clock."), zones);
  const syncRepeat = () => {
    countField.hidden = repeats.value === "none" || repeats.value === "custom";
    customField.hidden = repeats.value !== "custom";
  };
  repeats.addEventListener("change", syncRepeat);
  syncRepeat();

  const scopeName = id("scope");
  const scopes = series
    ? h("fieldset", { class: "scope" }, h("legend", {}, "Apply to"),
        ...[["this", "This occurrence"], ["following", "This and following"], ["all", "All occurrences"]].map(([value, label]) => {
          const radio = h("input", { type: "radio", name: scopeName, value, id: id("scope"), checked: value === "this" });
          return h("div", { class: "radio" }, radio, h("label", { for: radio.id }, label));
        }))
    : null;
  const scope = () => (scopes ? scopes.querySelector("input:checked").value : "all");

  const error = errorBox();
  const conflictBox = h("div", { class: "conflicts", role: "alert", hidden: true });
  const save = h("button", { type: "submit", class: "primary" }, isNew ? "Create" : "Save");
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  const actions = h("div", { class: "actions" });
  if (!isNew) {
    actions.append(
      h("a", { class: "button", href: `#/events/${occurrence.id}/history` }, "History"),
      h("button", { type: "button", onclick: () => openShare(occurrence) }, role === "owner" ? "Share…" : "People"),
    );
  }
  if (canEdit && !isNew) actions.append(remove);
  if (canEdit) actions.append(save);

  const fields = h("fieldset", { class: "plain", disabled: !canEdit },
    field("Title", title), field("Starts", startInput), field("Ends", endInput),
    field("Location", locationInput), field("Description", description), recurrence);
  const form = h("form", { class: "event-form" },
    !isNew && !canEdit ? h("p", { class: "muted" }, "You can view this event; its owner has not given you editing rights.") : null,
    !isNew ? h("p", { class: "muted" }, `Owner: ${occurrence.owner.username} · your role: ${role}`) : null,
    scopes, fields, error, conflictBox, actions);
  const dialog = modal(isNew ? "New event" : canEdit ? "Edit event" : "Event", form);
  const syncScope = () => {
    const whole = scope() === "all";
    recurrence.disabled = !whole;
    recurrence.hidden = !whole;
    remove.hidden = isNew || !(role === "owner" || (series && !whole));
    remove.textContent = series ? { this: "Cancel this occurrence", following: "Delete this and following", all: "Delete series" }[scope()] : "Delete";
  };
  scopes?.addEventListener("change", syncScope);
  syncScope();
  (canEdit ? title : dialog.querySelector("button")).focus();

  function ruleValue() {
    if (repeats.value === "none") return null;
    if (repeats.value === "custom") return custom.value.trim().replace(/^RRULE:/i, "") || null;
    const n = count.value.trim();
    return PRESETS[repeats.value] + (n ? `;COUNT=${n}` : "");
  }

  async function request(policy) {
    const newStart = fromLocalInput(startInput.value);
    const newEnd = fromLocalInput(endInput.value);
    if (!newStart || !newEnd) throw Object.assign(new Error("Please enter a start and an end."), { name: "ApiError" });
    const text = { title: title.value.trim(), description: description.value.trim() || null, location: locationInput.value.trim() || null };
    const query = { conflicts: policy };
    if (isNew) {
      const pattern = ruleValue();
      return api("POST", "/events", {
        query,
        body: { ...text, start_time: newStart, end_time: newEnd, timezone: zone.value.trim() || "UTC", is_recurring: pattern !== null, recurrence_pattern: pattern },
      });
    }
    const base = `/events/${occurrence.id}`;
    if (scope() !== "all") {
      // Only what changed becomes an override, so later series edits still reach the rest.
      const changes = {};
      for (const [k, v] of Object.entries(text)) if (v !== (occurrence[k] ?? null)) changes[k] = v;
      if (newStart !== start.toISOString()) changes.start_time = newStart;
      if (newEnd !== end.toISOString()) changes.end_time = newEnd;
      if (scope() === "this" && !Object.keys(changes).length) return null;
      const rid = encodeURIComponent(occurrence.recurrence_id);
      return api("PUT", `${base}/instances/${rid}`, { query: { ...query, scope: scope() }, body: changes });
    }
    const pattern = ruleValue();
    const body = { ...text, timezone: zone.value.trim() || "UTC", is_recurring: pattern !== null, recurrence_pattern: pattern, base_version: occurrence.version };
    if (newStart === start.toISOString() && newEnd === end.toISOString()) {
      // Times untouched: leave the series' own start and end as they are.
    } else if (series) {
      // The form shows this occurrence; move the whole series by as much as it moved.
      const current = await api("GET", base);
      const shift = new Date(newStart) - start;
      const seriesStart = new Date(new Date(current.start_time).getTime() + shift);
      body.start_time = seriesStart.toISOString();
      body.end_time = new Date(seriesStart.getTime() + (new Date(newEnd) - new Date(newStart))).toISOString();
    } else {
      body.start_time = newStart;
      body.end_time = newEnd;
    }
    return api("PATCH", base, { query, body });
  }

  async function submit(policy) {
    error.hidden = true;
    save.disabled = true;
    try {
      await request(policy);
      dialog.close();
      showNotice(isNew ? "Event created." : "Changes saved.", "info");
      onChange();
    } catch (e) {
      if (e.code === "schedule_conflict") showConflicts(e.problem.conflicts || []);
      else await attempt(() => Promise.reject(e), error);
    } finally {
      save.disabled = false;
    }
  }

  function showConflicts(conflicts) {
    const anyway = h("button", { type: "button", class: "primary" }, "Save anyway");
    anyway.addEventListener("click", () => {
      conflictBox.hidden = true;
      submit("warn");
    });
    conflictBox.replaceChildren(
      h("p", {}, h("strong", {}, "This overlaps other events:")),
      h("ul", {}, conflicts.map((c) => h("li", {}, `${c.title} — ${formatDateTime(c.start_time)}`))),
      h("div", { class: "actions" }, anyway),
    );
    conflictBox.hidden = false;
    anyway.focus();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    conflictBox.hidden = true;
    submit("reject");
  });

  remove.addEventListener("click", async () => {
    const what = remove.textContent;
    if (!(await confirmAction(`${what}: “${occurrence.title}”?`, what))) return;
    const base = `/events/${occurrence.id}`;
    const done = await attempt(async () => {
      if (series && scope() !== "all") {
        await api("DELETE", `${base}/instances/${encodeURIComponent(occurrence.recurrence_id)}`, { query: { scope: scope() } });
      } else {
        await api("DELETE", base);
      }
      return true;
    }, error);
    if (done) {
      dialog.close();
      showNotice("Deleted.", "info");
      onChange();
    }
  });
}
