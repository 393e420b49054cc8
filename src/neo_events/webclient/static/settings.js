// Settings: the account's time zone, secret feed URLs for calendar apps (SPEC §10), app
// passwords for CalDAV (SPEC §15) and webhooks (SPEC §14).

import { allPages, api, apiTagged, user } from "./api.js";
import { attempt, browserZone, confirmAction, errorBox, field, formatDateTime, h, id, sameZone, showNotice, zoneList } from "./ui.js";

const WEBHOOK_TYPES = [
  "event.created", "event.updated", "event.deleted", "event.rolled_back", "event.shared", "event.unshared",
  "permission.changed", "reminder.due",
];

/** A secret shown once, with a button that copies it. */
function secretBox(label, value) {
  const input = h("input", { readonly: true, value, "aria-label": label, class: "secret" });
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select and copy";
    }
  });
  return h("div", { class: "secret-box", role: "status" }, h("p", {}, h("strong", {}, `${label} — shown only now:`)), h("div", { class: "secret-row" }, input, copy));
}

/** Signed in: an account with no time zone of its own takes this browser's, as Google
 * Calendar takes the one it detects. Quietly: nothing a user asked for waits on it. Once a
 * browser has seen the account's zone set (or refused its own), it asks no more. */
export async function adoptZone() {
  const done = `neo-events.zone-adopted.${user()?.id}`;
  if (localStorage.getItem(done)) return;
  try {
    const { body: mine, etag } = await apiTagged("GET", "/auth/me/settings");
    // If-Match: a zone chosen meanwhile (another tab, another device) is never overwritten
    const headers = { "If-Match": etag };
    if (mine.timezone === null) await api("PATCH", "/auth/me/settings", { body: { timezone: browserZone }, headers });
    localStorage.setItem(done, "1");
  } catch (e) {
    // 422: a zone the server does not know; 412: one was set meanwhile
    if (e?.status === 422 || e?.status === 412) localStorage.setItem(done, "1");
    // else the next sign-in tries again
  }
}

function zoneSection() {
  const zones = zoneList(id("zones"));
  const zone = h("input", { name: "account-timezone", list: zones.id, autocomplete: "off", required: true, maxlength: 64 });
  const error = errorBox();
  const here = h("p", { class: "muted" });
  const form = h("form", { class: "inline-form" }, field("Your time zone", zone), zones, h("button", { type: "submit", class: "primary" }, "Save time zone"));
  const show = (settings) => {
    zone.value = settings.timezone || "";
    here.textContent = settings.timezone && !sameZone(settings.timezone, browserZone)
      ? `This browser is in ${browserZone}; the calendar here shows times in the browser's zone.` : "";
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const saved = await attempt(() => api("PATCH", "/auth/me/settings", { body: { timezone: zone.value.trim() } }), error);
    if (!saved) return;
    show(saved);
    showNotice(`Time zone saved: ${saved.timezone}.`, "info");
  });
  attempt(() => api("GET", "/auth/me/settings"), error).then((settings) => settings && show(settings));
  return h("section", { class: "card settings", "aria-labelledby": "zone-title" },
    h("h2", { id: "zone-title" }, "Time zone"),
    h("p", { class: "muted" }, "Where an all-day event from a calendar app or an imported file falls when it names no time zone: a day off added on your phone starts at your midnight, not at UTC's. Set from this browser when you first sign in; events keep the zone they were made in."),
    form, here, error);
}

function feedSection() {
  const list = h("ul", { class: "settings-list", "aria-label": "Feed URLs" });
  const name = h("input", { name: "feed-name", maxlength: 100, placeholder: "Phone, work laptop…", required: true });
  const error = errorBox();
  const shown = h("div");
  const form = h("form", { class: "inline-form" }, field("Name of the new feed URL", name), h("button", { type: "submit", class: "primary" }, "Create feed URL"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const made = await attempt(() => api("POST", "/feed-tokens", { body: { name: name.value.trim() } }), error);
    if (!made) return;
    name.value = "";
    shown.replaceChildren(secretBox("Feed URL", made.url));
    load();
  });
  async function load() {
    const items = await attempt(() => allPages("/feed-tokens"), error);
    if (!items) return;
    list.replaceChildren(...items.map((t) => {
      const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
      revoke.addEventListener("click", async () => {
        if (!(await confirmAction(`Revoke the feed URL “${t.name || t.id}”? Calendar apps using it stop updating.`, "Revoke"))) return;
        const ok = await attempt(async () => (await api("DELETE", `/feed-tokens/${t.id}`), true), error);
        if (ok) {
          shown.replaceChildren();
          load();
        }
      });
      return h("li", {}, h("span", { class: "who" }, t.name || `Feed ${t.id}`), h("small", { class: "muted" }, `created ${formatDateTime(t.created_at)}`), revoke);
    }));
    if (!items.length) list.append(h("li", { class: "muted" }, "No feed URLs yet."));
  }
  load();
  return h("section", { class: "card settings", "aria-labelledby": "feeds-title" },
    h("h2", { id: "feeds-title" }, "Calendar feed URLs"),
    h("p", { class: "muted" }, "A secret address that Google Calendar, Apple Calendar or Outlook can subscribe to: every event you hold a role on, read-only. Anyone with the URL can read it; revoke it if it leaks."),
    form, shown, error, list);
}

function appPasswordSection() {
  const list = h("ul", { class: "settings-list", "aria-label": "App passwords" });
  const name = h("input", { name: "app-name", maxlength: 100, placeholder: "iPhone, Thunderbird…", required: true });
  const error = errorBox();
  const shown = h("div");
  const form = h("form", { class: "inline-form" }, field("Name of the app", name), h("button", { type: "submit", class: "primary" }, "Create app password"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const made = await attempt(() => api("POST", "/app-passwords", { body: { name: name.value.trim() } }), error);
    if (!made) return;
    name.value = "";
    shown.replaceChildren(
      secretBox("App password", made.password),
      h("p", { class: "hint" }, `In the app: server ${made.caldav_url}, user name ${made.username}, and this password. Copy it now: it cannot be shown again.`),
    );
    shown.querySelector("button")?.focus();
    load();
  });
  async function load() {
    const items = await attempt(async () => (await api("GET", "/app-passwords")).items, error);
    if (!items) return;
    list.replaceChildren(...items.map((p) => {
      const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${p.name}` }, "Revoke");
      revoke.addEventListener("click", async () => {
        if (!(await confirmAction(`Revoke the app password “${p.name}”? That app is signed out at once.`, "Revoke"))) return;
        const ok = await attempt(async () => (await api("DELETE", `/app-passwords/${p.id}`), true), error);
        if (ok) {
          shown.replaceChildren();
          showNotice(`App password “${p.name}” revoked.`, "info");
          load();
        }
      });
      return h("li", {}, h("span", { class: "who" }, p.name), h("small", { class: "muted" }, `created ${formatDateTime(p.created_at)}`), revoke);
    }));
    if (!items.length) list.append(h("li", { class: "muted" }, "No app passwords yet."));
  }
  load();
  return h("section", { class: "card settings", "aria-labelledby": "apps-title" },
    h("h2", { id: "apps-title" }, "App passwords (CalDAV)"),
    h("p", { class: "muted" }, "Calendar apps (Apple Calendar, Thunderbird, DAVx⁵, GNOME Calendar) sync two ways with a password of their own, never your account password. Make one per app; revoking one signs out only that app."),
    form, shown, error, list);
}

function webhookSection() {
  const list = h("ul", { class: "settings-list", "aria-label": "Webhooks" });
  const url = h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/hook", maxlength: 2000 });
  const description = h("input", { name: "description", maxlength: 200 });
  const all = h("input", { type: "checkbox", id: "hook-all", checked: true });
  const boxes = WEBHOOK_TYPES.map((t) => h("input", { type: "checkbox", value: t, id: `hook-${t}`, disabled: true }));
  const types = h("fieldset", { class: "types" }, h("legend", {}, "Send"),
    h("div", { class: "radio" }, all, h("label", { for: "hook-all" }, "Everything")),
    ...boxes.map((b) => h("div", { class: "radio" }, b, h("label", { for: b.id }, b.value))));
  all.addEventListener("change", () => boxes.forEach((b) => (b.disabled = all.checked)));
  const error = errorBox();
  const shown = h("div");
  const form = h("form", { class: "webhook-form" }, field("Webhook URL", url), field("Description", description), types, h("button", { type: "submit", class: "primary" }, "Add webhook"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const events = all.checked ? ["*"] : boxes.filter((b) => b.checked).map((b) => b.value);
    if (!events.length) {
      error.textContent = "Pick at least one kind of message to send.";
      error.hidden = false;
      return;
    }
    const made = await attempt(() => api("POST", "/webhooks", { body: { url: url.value.trim(), events, description: description.value.trim() || null } }), error);
    if (!made) return;
    url.value = "";
    description.value = "";
    shown.replaceChildren(secretBox("Signing secret", made.secret));
    load();
  });
  async function load() {
    const items = await attempt(() => allPages("/webhooks"), error);
    if (!items) return;
    list.replaceChildren(...items.map((w) => {
      const toggle = h("button", { type: "button" }, w.enabled ? "Pause" : "Resume");
      toggle.addEventListener("click", async () => {
        const ok = await attempt(() => api("PATCH", `/webhooks/${w.id}`, { body: { enabled: !w.enabled } }), error);
        if (ok) load();
      });
      const remove = h("button", { type: "button", class: "danger" }, "Delete");
      remove.addEventListener("click", async () => {
        if (!(await confirmAction(`Delete the webhook to ${w.url}?`, "Delete"))) return;
        const ok = await attempt(async () => (await api("DELETE", `/webhooks/${w.id}`), true), error);
        if (ok) {
          shown.replaceChildren();
          showNotice("Webhook deleted.", "info");
          load();
        }
      });
      // Paused here, or disabled by the server after a day of failed deliveries (its reason).
      const state = w.enabled ? "active" : `paused${w.disabled_reason ? ` (${w.disabled_reason})` : ""}`;
      const what = w.events.includes("*") ? "everything" : w.events.join(", ");
      return h("li", {},
        h("span", { class: "who url" }, w.url),
        h("small", { class: "muted" }, `${what} · ${state}${w.description ? ` · ${w.description}` : ""}`),
        toggle, remove);
    }));
    if (!items.length) list.append(h("li", { class: "muted" }, "No webhooks yet."));
  }
  load();
  return h("section", { class: "card settings", "aria-labelledby": "hooks-title" },
    h("h2", { id: "hooks-title" }, "Webhooks"),
    h("p", { class: "muted" }, "Every change you would see live, POSTed to your URL and signed as the Standard Webhooks specification says (verify with the secret shown once). Failed deliveries are retried for a day."),
    form, shown, error, list);
}

export function settingsView(main) {
  main.append(
    h("a", { href: "#/week", class: "back" }, "‹ Back to the calendar"),
    h("h1", {}, "Settings"),
    zoneSection(),
    feedSection(),
    appPasswordSection(),
    webhookSection(),
  );
  return null;
}
