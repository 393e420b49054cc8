// Google Calendar's keyboard shortcuts. A key does what its control on the page does (it
// presses the calendar toolbar's own button), so a shortcut and a click never differ. Keys are
// ignored while typing in a field, with Ctrl, Alt or ⌘ held, and while a dialog is open
// (Escape closes it, as the browser does for every modal dialog).

import { field, h, isoDate, modal } from "./ui.js";

export const SHORTCUTS = [
  ["c", "Create an event"],
  ["t", "Today"],
  ["d", "Day view"],
  ["w", "Week view"],
  ["m", "Month view"],
  ["j or n", "Next day, week or month"],
  ["k or p", "Previous day, week or month"],
  ["g", "Go to a date"],
  ["/", "Search"],
  ["?", "These shortcuts"],
  ["Esc", "Close a dialog"],
];

const GRID = /^#\/(day|week|month)(?:\/(\d{4}-\d{2}-\d{2}))?$/;
const VIEW_KEYS = { d: "day", w: "week", m: "month" };

/** Whether the key goes into something being typed in. */
function typing(target) {
  return target instanceof Element && (target.isContentEditable || target.closest("input, textarea, select") !== null);
}

/** The calendar toolbar's button for which `test(button)` holds; none off the calendar. */
function toolbarButton(test) {
  const bar = document.querySelector("#main .toolbar");
  return bar ? [...bar.querySelectorAll("button")].find(test) : undefined;
}

const named = (text) => (b) => b.textContent.trim() === text;
const labelled = (prefix) => (b) => (b.getAttribute("aria-label") || "").startsWith(prefix);

/** A dialog listing the shortcuts. */
export function showShortcuts() {
  const rows = SHORTCUTS.map(([keys, what]) =>
    h("tr", {}, h("th", { scope: "row" }, ...keys.split(" or ").flatMap((k, i) => (i ? [" or ", h("kbd", {}, k)] : [h("kbd", {}, k)]))), h("td", {}, what)));
  const table = h("table", { class: "shortcuts" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Does"))), h("tbody", {}, ...rows));
  const dialog = modal("Keyboard shortcuts", table, h("p", { class: "muted" }, "Not while typing in a field."));
  dialog.classList.add("shortcuts-help");
  dialog.querySelector("button.close").focus();
  return dialog;
}

/** A dialog with a date field: the view shown (the week outside the calendar) at that date. */
export function goToDate(navigate) {
  const [, kind = "week", shown] = location.hash.match(GRID) || [];
  const input = h("input", { type: "date", name: "date", required: true, value: shown || isoDate(new Date()) });
  const go = h("button", { type: "submit", class: "primary" }, "Go");
  const form = h("form", {}, field("Date", input), h("div", { class: "actions" }, go));
  const dialog = modal("Go to date", form);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!input.value) return;
    dialog.close();
    navigate(`#/${kind}/${input.value}`);
  });
  input.focus();
  return dialog;
}

/** What `key` does here, or nothing. */
function action(key, navigate) {
  const press = (button) => button && (() => button.click());
  const view = VIEW_KEYS[key];
  if (view) {
    // On the calendar, the same date in another view; elsewhere, that view of today.
    return press(toolbarButton(named(view[0].toUpperCase() + view.slice(1)))) || (() => navigate(`#/${view}`));
  }
  switch (key) {
    case "c":
      return press(toolbarButton(named("New event")));
    case "t":
      return press(toolbarButton(named("Today"))) || (() => navigate("#/week"));
    case "j":
    case "n":
      return press(toolbarButton(labelled("Next ")));
    case "k":
    case "p":
      return press(toolbarButton(labelled("Previous ")));
    case "g":
      return () => goToDate(navigate);
    case "/": {
      const search = document.querySelector("#main input[type=search]");
      return search && (() => search.focus());
    }
    case "?":
      return () => showShortcuts();
    default:
      return null;
  }
}

/** Listen for the shortcuts while `active()` (signed in); `navigate(hash)` changes the route. */
export function installShortcuts({ navigate, active }) {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (!active() || typing(e.target) || document.querySelector("dialog[open]")) return;
    const act = action(e.key, navigate);
    if (!act) return;
    e.preventDefault(); // "/" is not typed into the search field it focuses
    act();
  });
  const help = document.getElementById("shortcuts-button");
  if (help) help.addEventListener("click", () => showShortcuts());
}
