"""Where the keyboard focus goes when a dialog closes: back where it was in the task that
closed it (Escape, a button), never taken back a task later, never left in the closed dialog."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.steps import (
    api_client,
    events_on,
    is_active,
    make_event,
    new_context,
    sign_up,
    slot,
    watch_errors,
)

# Close the open dialog as Escape does, then do what a key handled before the dialog's close
# event does (that event comes a task later: ~100 ms in a loaded suite); resolves once the
# close event has been handled, to whether the focus is still where the key put it.
KEY_BEFORE_CLOSE_EVENT = """async () => {
  const dialog = document.querySelector("dialog[open]");
  const closed = new Promise((resolve) =>
    dialog.addEventListener("close", () => setTimeout(resolve), { once: true }));
  dialog.close();
  const search = document.querySelector("#main input[type=search]");
  search.focus(); // what "/" pressed at once does
  await closed;
  return document.activeElement === search;
}"""

# Close the open dialog; at the end of that task (before any next key), whether the focus is
# still inside the closed dialog.
FOCUS_LEFT_IN_CLOSED_DIALOG = """async () => {
  const dialog = document.querySelector("dialog[open]");
  dialog.close();
  await Promise.resolve();
  return dialog.contains(document.activeElement);
}"""


def test_a_closed_dialog_returns_the_focus_at_once_and_never_takes_it_back(
    browser: Browser, server: str
) -> None:
    """The event editor opened from the toolbar's *New event* and closed: the button has the
    focus again, and a key pressed right after Escape ("/": the search) keeps what it
    focused (the dialog's close event gave the focus back to the button a task later,
    taking it from the search: the shortcuts test's flake). Opened by a click on empty time
    (nothing had the focus), closed: the focus is not left in the closed dialog's title
    field, where the next key would be typed."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "fenna")
        page.goto(f"{server}/#/week/2027-03-10")
        new_event = page.get_by_role("button", name="New event")
        new_event.focus()
        page.keyboard.press("Enter")
        editor = page.get_by_role("dialog", name="New event")
        is_active(editor.get_by_label("Title"))
        assert page.evaluate(KEY_BEFORE_CLOSE_EVENT) is True
        expect(editor).to_have_count(0)

        new_event.focus()
        page.keyboard.press("Enter")
        is_active(editor.get_by_label("Title"))
        page.keyboard.press("Escape")
        is_active(new_event)

        page.locator("body").click(position={"x": 5, "y": 5})
        page.mouse.click(*slot(page, "2027-03-10", "10:00"))
        is_active(editor.get_by_label("Title"))
        assert page.evaluate(FOCUS_LEFT_IN_CLOSED_DIALOG) is False
        expect(editor).to_have_count(0)
        assert errors == []
    finally:
        context.close()


def test_an_event_deleted_from_the_keyboard_leaves_the_focus_on_the_grid(
    browser: Browser, server: str
) -> None:
    """An event opened with Enter and deleted: the focus was given back to its element, which
    the grid's reload then took off the page, leaving the focus on the page's body (the next
    Tab started again at the top). It goes to the grid, as Google Calendar does; an event
    saved keeps it (as redrawn), and so does one redrawn under its open dialog by a change made
    elsewhere (the focus went to the body: the element it came from was gone)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "gerrit")
        client = api_client(server, "gerrit", context)
        made = {
            title: make_event(
                client,
                title=title,
                start_time=f"2027-03-10T{hour}:00:00Z",
                end_time=f"2027-03-10T{hour}:30:00Z",
            )
            for title, hour in (("stays", "09"), ("goes", "11"))
        }
        page.goto(f"{server}/#/week/2027-03-10")
        grid = page.locator(".calendar")
        goes = events_on(page, "2027-03-10", "goes")
        expect(goes).to_have_count(1)
        goes.focus()
        page.keyboard.press("Enter")
        editor = page.get_by_role("dialog", name="Edit event")
        editor.get_by_role("button", name="Delete").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(editor).to_have_count(0)
        expect(goes).to_have_count(0)
        expect(grid).not_to_have_attribute("aria-busy", "true")
        is_active(grid)

        stays = events_on(page, "2027-03-10", "stays")
        stays.focus()
        page.keyboard.press("Enter")
        is_active(editor.get_by_label("Title"))
        editor.get_by_label("Title").fill("stayed")
        editor.get_by_role("button", name="Save").click()
        expect(events_on(page, "2027-03-10", "stayed")).to_have_count(1)
        expect(grid).not_to_have_attribute("aria-busy", "true")
        is_active(events_on(page, "2027-03-10", "stayed"))

        # Redrawn under its open dialog by a change made elsewhere (the element the dialog
        # was opened from is gone): Escape gives the focus to the event as redrawn.
        stayed = events_on(page, "2027-03-10", "stayed")
        page.keyboard.press("Enter")
        is_active(editor.get_by_label("Title"))
        stayed.evaluate("el => { window.openedFrom = el; }")
        event_id = made["stays"]["id"]
        client.patch(f"/events/{event_id}", json={"location": "Room 2"}).raise_for_status()
        page.wait_for_function("() => !window.openedFrom.isConnected")
        page.keyboard.press("Escape")
        expect(editor).to_have_count(0)
        is_active(stayed)
        assert errors == []
    finally:
        context.close()
