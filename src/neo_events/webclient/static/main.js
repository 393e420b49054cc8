// The client's entry point: session start, the hash router and the live connection.
// Views: #/signin, #/signup, #/day|week|month[/YYYY-MM-DD], #/search/{words},
// #/invitations, #/settings, #/events/{id}/history.

import * as api from "./api.js";
import { calendarView } from "./calendar.js";
import { historyView } from "./history.js";
import { invitationsView, pendingCount } from "./invite.js";
import { fireReminder } from "./reminders.js";
import { searchView } from "./search.js";
import { adoptZone, settingsView } from "./settings.js";
import { installShortcuts } from "./shortcuts.js";
import { signInAgain, signInView, signUpView } from "./signin.js";
import { clearInfoNotice, clearNotice, showNotice } from "./ui.js";
import { Live } from "./ws.js";

const main = document.getElementById("main");
const liveStatus = document.getElementById("live-status");
const listeners = new Set();
let cleanup = null;

const live = new Live({
  onMessage: (message) => {
    // Reminders are mine and fire whatever page is open.
    if (message.type === "reminder.due") fireReminder(message);
    // An invitation, an answer, a removal or a moved event (which asks again): recount.
    if (/^attendee\.|^event\.(updated|deleted|rolled_back)$/.test(message.type)) updateInvitations();
    for (const fn of listeners) fn(message);
  },
  onState: (state) => {
    liveStatus.textContent = state === "live" ? "● Live" : state === "reconnecting" ? "○ Reconnecting…" : "";
    liveStatus.dataset.state = state;
  },
});

/** What a view gets: where to draw, how to navigate, and live messages while it is shown. */
const context = {
  navigate: (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  subscribe: (fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  signedIn: () => startSession(),
  invitationsChanged: () => updateInvitations(),
};

const badge = document.getElementById("invitations-count");
const badgeLink = document.getElementById("invitations-link");
let badgeTimer = null;
/** The top bar's count of invitations waiting for my answer (coalesced: bursts ask once). */
function updateInvitations() {
  clearTimeout(badgeTimer);
  badgeTimer = setTimeout(async () => {
    if (!api.user()) return;
    const n = await pendingCount();
    badge.textContent = n ? String(n) : "";
    badge.hidden = !n;
    badgeLink.setAttribute("aria-label", n ? `Invitations, ${n} waiting for an answer` : "Invitations");
  }, 200);
}

let lastUser = null; // who was signed in: signing in again as them keeps the page as it is

function showAccount() {
  const me = api.user();
  if (me) lastUser = me;
  document.getElementById("account").hidden = !me;
  document.getElementById("whoami").textContent = me ? `Signed in as ${me.username}` : "";
}

function startSession() {
  showAccount();
  live.start();
  updateInvitations();
  adoptZone();
  const next = sessionStorage.getItem("neo-events.next");
  sessionStorage.removeItem("neo-events.next");
  context.navigate(next && next.startsWith("#/") && !next.startsWith("#/sign") ? next : "#/week");
}

/** Signed in again as the same person: the page stays, and reloads what it shows. */
function continueSession() {
  showAccount();
  live.start();
  updateInvitations();
  for (const fn of listeners) fn({ type: "resync" });
}

api.onToken(() => live.renew());
api.onSignedOut((reason) => {
  live.stop();
  showAccount();
  if (!booted) {
    showNotice(reason); // a reload found the session gone: the first route asks to sign in
    return;
  }
  if (!reason) {
    // Signed out on purpose, here or in a tab of the same sign-in: nothing is kept on screen.
    if (!location.hash.startsWith("#/sign")) context.navigate("#/signin");
    return;
  }
  // The session ended under the user: sign in over the page, which keeps its route and an
  // open dialog's text. Given up, the sign-in page still returns to this route afterwards.
  const was = lastUser;
  signInAgain(reason, was?.username, {
    signedIn: () => (api.user()?.id === was?.id ? continueSession() : startSession()),
    leave: () => {
      if (location.hash.startsWith("#/") && !location.hash.startsWith("#/sign")) {
        sessionStorage.setItem("neo-events.next", location.hash);
      }
      showNotice(reason);
      context.navigate("#/signin");
    },
  });
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await api.signOut();
  clearNotice();
});
document.getElementById("notice-close").addEventListener("click", clearNotice);
installShortcuts({ navigate: context.navigate, active: () => api.user() !== null });

/** A part of the route as text: "%20" is a space; a "%" that starts no escape (typed or
 * pasted: "#/search/50%") is itself, never an error. */
function routeText(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escape) => {
      try {
        return decodeURIComponent(escape);
      } catch {
        return escape;
      }
    });
  }
}

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  listeners.clear();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  clearInfoNotice();
  main.replaceChildren();
  const path = location.hash.replace(/^#/, "") || "/week";
  const signedIn = api.user() !== null;
  if (path === "/signup") {
    cleanup = signUpView(main, context);
  } else if (path === "/signin" || !signedIn) {
    if (!signedIn && path !== "/signin") sessionStorage.setItem("neo-events.next", `#${path}`);
    cleanup = signInView(main, context);
  } else {
    const history = path.match(/^\/events\/(\d+)\/history$/);
    const grid = path.match(/^\/(day|week|month)(?:\/(\d{4}-\d{2}-\d{2}))?$/);
    const search = path.match(/^\/search(?:\/(.*))?$/);
    if (history) cleanup = historyView(main, context, Number(history[1]));
    else if (grid) cleanup = calendarView(main, context, grid[1], grid[2]);
    else if (search) cleanup = searchView(main, context, routeText(search[1] || ""));
    else if (path === "/settings") cleanup = settingsView(main, context);
    else if (path === "/invitations") cleanup = invitationsView(main, context);
    else context.navigate("#/week");
  }
  // After navigating, focus goes to the new page's heading (as a screen reader expects),
  // unless the view focused a control of its own (the sign-in form focuses its first field).
  const heading = main.querySelector("h1");
  if (heading && moved && !main.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

let moved = false;
let booted = false; // the first route was drawn
window.addEventListener("hashchange", () => {
  moved = true;
  route();
});

(async () => {
  let resumed = false;
  try {
    resumed = await api.resume();
  } catch {
    resumed = false;
  }
  showAccount();
  if (resumed) {
    live.start();
    updateInvitations();
    adoptZone();
  }
  route();
  booted = true;
})();
