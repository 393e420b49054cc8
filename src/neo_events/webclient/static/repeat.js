// The event form's "Repeats": a list of everyday rules (RFC 5545 RRULEs) with a number of
// occurrences, or a custom rule. "Monthly on the second Tuesday" and "Monthly on the last
// Friday" are offered from the start date, as Google Calendar does.

import { field, h } from "./ui.js";

const PRESETS = {
  none: null,
  daily: "FREQ=DAILY",
  weekdays: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
  weekly: "FREQ=WEEKLY",
  monthly: "FREQ=MONTHLY",
  yearly: "FREQ=YEARLY",
};
const LABELS = {
  none: "Does not repeat", daily: "Daily", weekdays: "Every weekday", weekly: "Weekly",
  monthly: "Monthly", "monthly-nth": "Monthly on a weekday", "monthly-last": "Monthly on the last weekday",
  yearly: "Yearly", custom: "Custom rule",
};
const DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ORDINALS = ["first", "second", "third", "fourth"];

/** A rule's parts by name ("BYDAY" → "FR,MO"), in a canonical form: names and values upper
 * case, a list's items sorted, INTERVAL=1 left out (the default). */
function ruleParts(rule) {
  const parts = new Map();
  for (const part of rule.split(";")) {
    const [name, value = ""] = part.toUpperCase().split("=");
    if (name && !(name === "INTERVAL" && value === "1")) parts.set(name, value.split(",").sort().join(","));
  }
  return parts;
}

/** The monthly rules by weekday that a start on `date` ({year, month, day}: its date in the
 * event's zone) offers: its weekday's number in the month (the first four: not every month
 * has a fifth), and "the last" when it is in the month's last seven days. */
function byWeekday(date) {
  if (!date) return {};
  const { year, month, day } = date;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const nth = Math.ceil(day / 7);
  const rules = {};
  if (nth <= 4) {
    rules["monthly-nth"] = { rule: `FREQ=MONTHLY;BYDAY=${nth}${DAYS[weekday]}`, label: `Monthly on the ${ORDINALS[nth - 1]} ${DAY_NAMES[weekday]}` };
  }
  if (day + 7 > new Date(Date.UTC(year, month, 0)).getUTCDate()) {
    rules["monthly-last"] = { rule: `FREQ=MONTHLY;BYDAY=-1${DAYS[weekday]}`, label: `Monthly on the last ${DAY_NAMES[weekday]}` };
  }
  return rules;
}

/** The rule of each choice of the list for a start on `date`. */
function choices(date) {
  const rules = { ...PRESETS };
  for (const [k, v] of Object.entries(byWeekday(date))) rules[k] = v.rule;
  return rules;
}

/** The choice, count and custom text that show a stored RRULE, its parts in any order (the
 * server writes COUNT before BYDAY). */
export function parseRule(pattern, date) {
  if (!pattern) return { preset: "none", count: "", custom: "" };
  const rule = pattern.replace(/^RRULE:/i, "");
  const parts = ruleParts(rule);
  const count = parts.get("COUNT");
  parts.delete("COUNT");
  const same = (preset) => {
    const want = ruleParts(preset);
    return want.size === parts.size && [...want].every(([k, v]) => parts.get(k) === v);
  };
  const rules = choices(date);
  const preset = /^\d+$/.test(count ?? "0") && Object.keys(rules).find((k) => rules[k] && same(rules[k]));
  return preset ? { preset, count: count ?? "", custom: "" } : { preset: "custom", count: "", custom: rule };
}

/** The "Repeats" list, its number of occurrences and its custom rule, showing `pattern` for
 * a start on `date`. `setDate(date)` follows the form's start date (the monthly choices by
 * weekday are that date's); `value()` is the rule chosen (null: does not repeat). */
export function repeatEditor(pattern, date) {
  const shown = parseRule(pattern, date);
  const options = Object.entries(LABELS).map(([k, label]) => h("option", { value: k }, label));
  const select = h("select", { name: "repeats" }, options);
  const count = h("input", { name: "count", type: "number", min: 1, max: 1000, inputmode: "numeric", value: shown.count });
  const custom = h("input", { name: "rule", value: shown.custom, placeholder: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" });
  const countField = field("Number of occurrences", count, "Empty: repeats with no end.");
  const customField = field("Rule (RFC 5545 RRULE)", custom);
  let rules = choices(date);
  const sync = () => {
    countField.hidden = select.value === "none" || select.value === "custom";
    customField.hidden = select.value !== "custom";
  };
  function setDate(next) {
    const offered = byWeekday(next);
    rules = choices(next);
    for (const option of options) {
      if (!option.value.startsWith("monthly-")) continue;
      option.hidden = option.disabled = !offered[option.value];
      if (offered[option.value]) option.textContent = offered[option.value].label;
    }
    // A weekday choice the new date does not offer (a fifth Tuesday): the other one, or monthly.
    if (select.selectedOptions[0]?.disabled) select.value = Object.keys(offered)[0] || "monthly";
    sync();
  }
  select.value = shown.preset;
  setDate(date);
  select.addEventListener("change", sync);
  function value() {
    if (select.value === "none") return null;
    if (select.value === "custom") return custom.value.trim().replace(/^RRULE:/i, "") || null;
    const n = count.value.trim();
    return rules[select.value] + (n ? `;COUNT=${n}` : "");
  }
  return { select, countField, customField, setDate, value };
}
