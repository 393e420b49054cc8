// Search: events whose title, description or location contains the words (the API's `q=`
// and `location=` filters, merged), newest plans first; a result opens its week.

import { pages } from "./api.js";
import { attempt, eventStart, formatWhen, h, isoDate } from "./ui.js";

const LIMIT = 100;
// A search page reads at most 1 MiB of the calendar's text (docs/api.md): a page may hold
// few results or none while more follow, so the search follows its cursor, up to this many
// pages (25 MiB of text) before saying there may be more.
const MOST_PAGES = 25;

export function searchView(main, context, query) {
  const input = h("input", { type: "search", name: "q", value: query, "aria-label": "Search title, location, description", maxlength: 200 });
  const form = h("form", { class: "search big", role: "search" }, input, h("button", { type: "submit", class: "primary" }, "Search"));
  const results = h("ul", { class: "results", "aria-labelledby": "search-title" });
  const status = h("p", { class: "muted", role: "status" });
  main.append(
    h("a", { href: "#/week", class: "back" }, "‹ Back to the calendar"),
    h("h1", { id: "search-title" }, query ? `Search: “${query}”` : "Search"),
    form, status, results,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (q) context.navigate(`#/search/${encodeURIComponent(q)}`);
  });

  async function load() {
    if (!query) return;
    status.textContent = "Searching…";
    const found = await attempt(async () => {
      const [byText, byPlace] = await Promise.all([
        pages("/events", { q: query, limit: LIMIT }, { enough: LIMIT, most: MOST_PAGES }),
        pages("/events", { location: query, limit: LIMIT }, { enough: LIMIT, most: MOST_PAGES }),
      ]);
      const seen = new Map();
      for (const e of [...byText.items, ...byPlace.items]) seen.set(e.id, e);
      return { items: [...seen.values()], more: byText.more || byPlace.more };
    }, status);
    if (!found) return;
    const items = found.items.sort((a, b) => eventStart(a) - eventStart(b));
    status.textContent = items.length
      ? `${items.length}${found.more ? "+" : ""} event${items.length === 1 ? "" : "s"} found.`
      : "Nothing found.";
    results.replaceChildren(...items.map((e) =>
      h("li", {},
        h("a", { href: `#/week/${isoDate(eventStart(e))}`, class: "result" },
          h("span", { class: "what", dir: "auto" }, e.title),
          h("span", { class: "when" }, formatWhen(e), e.is_recurring ? " · repeats" : ""),
          e.location ? h("span", { class: "where", dir: "auto" }, e.location) : null))));
  }
  load();
  input.focus();
  return context.subscribe(() => load());
}
