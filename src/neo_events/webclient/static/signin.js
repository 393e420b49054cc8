// Sign-in and sign-up pages.

import * as api from "./api.js";
import { attempt, clearNotice, errorBox, field, h, id } from "./ui.js";

function page(main, title, form, footer) {
  main.append(h("section", { class: "auth card", "aria-labelledby": "auth-title" }, h("h1", { id: "auth-title" }, title), form, footer));
  form.querySelector("input").focus();
  return null;
}

/** Submitting `form` calls `send` once at a time; its error shows in `error`, success signs in. */
function onSubmit(form, submit, error, context, send) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    const ok = await attempt(async () => {
      await send();
      return true;
    }, error);
    submit.disabled = false;
    if (ok) {
      clearNotice();
      context.signedIn();
    }
  });
}

export function signInView(main, context) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { novalidate: false }, field("Username or email", username), field("Password", password), error, submit);
  onSubmit(form, submit, error, context, () => api.signIn(username.value.trim(), password.value));
  return page(main, "Sign in", form, h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")));
}

export function signUpView(main, context) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Create account");
  const form = h(
    "form",
    {},
    field("Username", username),
    field("Email", email),
    field("Password", password, "At least 8 characters."),
    error,
    submit,
  );
  onSubmit(form, submit, error, context, () =>
    api.signUp(username.value.trim(), email.value.trim(), password.value),
  );
  return page(main, "Create an account", form, h("p", {}, "Already have one? ", h("a", { href: "#/signin" }, "Sign in")));
}

/** The session ended under the user (revoked, or its refresh token expired): a sign-in on top
 * of the page, which stays as it was — the route, and an open dialog with what was typed in it.
 * `signedIn()` runs after a sign-in; "Sign out" (`leave()`) gives the page up instead. */
export function signInAgain(reason, username, { signedIn, leave }) {
  const name = h("input", { name: "username", autocomplete: "username", required: true, value: username || "" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorBox();
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const away = h("button", { type: "button" }, "Sign out");
  const heading = h("h2", { id: id("dlg") }, "Sign in to continue");
  const form = h(
    "form",
    {},
    h("p", {}, `${reason.replace(/\s*Please sign in again\.?$/, "")} Sign in again to carry on where you were: nothing on this page is lost.`),
    field("Username or email", name),
    field("Password", password),
    error,
    h("div", { class: "actions" }, away, submit),
  );
  const dialog = h("dialog", { "aria-labelledby": heading.id, class: "sign-in-again" }, h("div", { class: "dialog-head" }, heading), form);
  // Escape would leave a page that can do nothing. Chromium closes a dialog anyway at the
  // third Escape in a row (its guard against pages that trap the user): it opens again then.
  // Closed by a route change (the browser's Back), it goes: the route shows the sign-in page.
  let escaped = false;
  let done = false;
  dialog.addEventListener("cancel", (e) => {
    if (e.cancelable) e.preventDefault();
    else escaped = true;
  });
  dialog.addEventListener("close", () => {
    if (escaped && !done) dialog.showModal();
    else dialog.remove();
    escaped = false;
  });
  const finish = (then) => {
    done = true;
    dialog.close();
    then();
  };
  onSubmit(form, submit, error, { signedIn: () => finish(signedIn) }, () => api.signIn(name.value.trim(), password.value));
  away.addEventListener("click", () => finish(leave));
  document.body.append(dialog);
  dialog.showModal();
  (username ? password : name).focus();
  return dialog;
}
