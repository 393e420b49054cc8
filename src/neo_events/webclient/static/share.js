// The share dialog: who holds which role on an event. Only an owner is offered changes.

import { api, user } from "./api.js";
import { attempt, errorBox, field, formatDateTime, h, modal } from "./ui.js";

const ROLES = ["viewer", "editor", "owner"];

function roleSelect(value, label) {
  const select = h("select", { "aria-label": label }, ROLES.map((r) => h("option", { value: r }, r)));
  select.value = value;
  return select;
}

export function openShare(event) {
  const owner = event.my_role === "owner";
  const list = h("ul", { class: "people", "aria-label": "People with access" });
  const error = errorBox();
  const note = h("p", { class: "muted", role: "status" });
  const content = [note, list, error];

  if (owner) {
    const who = h("input", { name: "who", autocomplete: "off", required: true, placeholder: "exact username or email" });
    const role = roleSelect("viewer");
    role.removeAttribute("aria-label");
    const add = h("button", { type: "submit", class: "primary" }, "Share");
    const form = h("form", { class: "share-form" }, field("Username or email", who), field("Role", role), add);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      note.textContent = "";
      add.disabled = true;
      await attempt(async () => {
        const found = await api("GET", "/users", { query: { q: who.value.trim() } });
        const match = found.items[0];
        if (!match) {
          throw Object.assign(new Error("No user has exactly that username or email."), { name: "ApiError" });
        }
        const result = await api("POST", `/events/${event.id}/share`, { body: { users: [{ user_id: match.id, role: role.value }] } });
        who.value = "";
        render(result.items);
        const clashes = result.conflicts || [];
        note.textContent = clashes.length
          ? `Shared with ${match.username} as ${role.value}. It overlaps ${clashes.length} of their events (e.g. “${clashes[0].title}”).`
          : `Shared with ${match.username} as ${role.value}.`;
      }, error);
      add.disabled = false;
    });
    content.unshift(form);
  } else {
    content.unshift(h("p", { class: "muted" }, "Only an owner can share this event or change roles."));
  }

  const dialog = modal(`Share “${event.title}”`, ...content);
  dialog.classList.add("share");

  function render(items) {
    const me = user();
    list.replaceChildren(
      ...items.map((p) => {
        const name = h("span", { class: "who" }, p.username, p.user_id === me?.id ? " (you)" : "");
        const since = h("small", { class: "muted" }, `since ${formatDateTime(p.granted_at)}`);
        if (!owner) return h("li", {}, name, h("span", { class: "role" }, p.role), since);
        const select = roleSelect(p.role, `Role for ${p.username}`);
        select.addEventListener("change", async () => {
          error.hidden = true;
          const ok = await attempt(() => api("PUT", `/events/${event.id}/permissions/${p.user_id}`, { body: { role: select.value } }), error);
          if (!ok) select.value = p.role;
          else p.role = select.value;
        });
        const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove ${p.username}` }, "Remove");
        remove.addEventListener("click", async () => {
          error.hidden = true;
          const done = await attempt(async () => {
            await api("DELETE", `/events/${event.id}/permissions/${p.user_id}`);
            return true;
          }, error);
          if (done) load();
        });
        return h("li", {}, name, select, remove, since);
      }),
    );
  }

  async function load() {
    const page = await attempt(() => api("GET", `/events/${event.id}/permissions`), error);
    if (page) render(page.items);
  }
  load();
  (dialog.querySelector("input") || dialog.querySelector("button")).focus();
}
