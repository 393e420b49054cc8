"""Shared steps of the browser tests: contexts, sign-up, finding a day of the week view."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PASSWORD = "correct horse battery"
ZONE = "Europe/Berlin"  # summer time ends on Sunday 2026-10-25
LIVE_TIMEOUT = 5000  # SPEC asks for a second; generous for a loaded CI machine
TIMEOUT = 15000
# Server settings: fast heartbeats, so a revoked token or a dropped client is noticed quickly.
FAST = {"LIVE_HEARTBEAT_S": "0.5", "LIVE_POLL_S": "0.5"}


def new_context(browser: Browser) -> BrowserContext:
    """A person's browser: its own storage, Berlin time, British English dates."""
    context = browser.new_context(
        timezone_id=ZONE, locale="en-GB", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(TIMEOUT)
    return context


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions (a CSP violation is one); an HTTP error the
    client handles (Chromium logs each 4xx as "Failed to load resource") is not one."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    return errors


def sign_up(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/#/signup")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text(re.compile("Live"))


def is_active(field: Locator) -> None:
    """`field` is the page's active element (what a key typed now goes into), within 5 s.
    Not `to_be_focused`: that also asks whether the page has the browser's focus, which a
    headless page beside others' in a loaded full suite lost now and then ("inactive")."""
    deadline = time.monotonic() + 5
    while not field.evaluate("el => el === document.activeElement"):
        assert time.monotonic() < deadline, "not the active element"
        time.sleep(0.05)


def quiet(page: Page) -> None:
    """Hide a confirmation that would otherwise be in the screenshot (they fade after 6 s)."""
    page.evaluate(
        "document.getElementById('notice').hidden = true;"
        "document.getElementById('notice-text').textContent = ''"
    )


def day(page: Page, date: str) -> Locator:
    """A day's column of the time grid (day and week views) or its cell (month view)."""
    return page.locator(
        f"td.fc-timegrid-col[data-date='{date}'], "
        f".fc-dayGridMonth-view td.fc-daygrid-day[data-date='{date}']"
    )


def events_on(page: Page, date: str, title: str | None = None) -> Locator:
    """The events drawn in a day's column (timed) or cell (month view)."""
    found = day(page, date).locator(".fc-event")
    return found.filter(has_text=title) if title else found


def all_day_lane(page: Page) -> Locator:
    return page.locator(".fc-daygrid-body .fc-event, .fc-timegrid .fc-daygrid-event")


def open_occurrence(page: Page, date: str, title: str | None = None) -> None:
    """Click the event open, and click again, as a person would, if no dialog came: a live
    update that draws the calendar anew between the press and the release of the click
    (the page refetches when the feed tells it of a change) swallows it (a full run on a
    busy machine, 2026-12-06)."""
    dialog = page.get_by_role("dialog")
    for _ in range(3):
        if not dialog.is_visible():
            events_on(page, date, title).first.click()
        try:
            dialog.wait_for(state="visible", timeout=5_000)
            return
        except PlaywrightTimeoutError:
            continue
    expect(dialog).to_be_visible()


def slot(page: Page, date: str, time: str) -> tuple[float, float]:
    """A point 4 px inside the top of the grid's slot for `time` ("10:00") on `date`."""
    lane = page.locator(f"td.fc-timegrid-slot-lane[data-time='{time}:00']")
    centre(lane)
    column = day(page, date).bounding_box()
    row = lane.bounding_box()
    assert column and row
    return column["x"] + column["width"] / 2, row["y"] + 4


def centre(target: Locator) -> None:
    """Scroll the grid (and the page) so that `target` is in the middle: room to drag."""
    target.evaluate("el => el.scrollIntoView({block: 'center', inline: 'nearest'})")


def still_box(handle: Locator) -> dict[str, float]:
    """The box of `handle` once it is drawn and keeps still for a moment. FullCalendar redraws
    its events when a listing arrives; an element being replaced has no box meanwhile, and
    pressing where it was would drag nothing."""
    deadline = time.monotonic() + TIMEOUT / 1000
    last = None
    while True:
        box = handle.bounding_box()
        if box is not None and box == last:
            return dict(box)
        assert time.monotonic() < deadline, f"{handle} was never drawn still: last box {box}"
        last = box
        handle.page.wait_for_timeout(40)


def drag_to(page: Page, handle: Locator, x: float, y: float, *, grab_top: bool = True) -> None:
    """Press on `handle` (4 px below its top, or its centre), move in steps, release at x, y."""
    handle.scroll_into_view_if_needed()
    handle.hover()
    box = still_box(handle)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + (4 if grab_top else box["height"] / 2))
    page.mouse.down()
    page.mouse.move(x, y, steps=12)
    page.mouse.up()


def drag_select(page: Page, date: str, start: str, end: str) -> None:
    """Press on empty time at `start` and release in the slot before `end` (both "HH:MM",
    within one screenful of the grid)."""
    x, y0 = slot(page, date, start)
    row = page.locator(f"td.fc-timegrid-slot-lane[data-time='{end}:00']").bounding_box()
    assert row
    page.mouse.move(x, y0)
    page.mouse.down()
    page.mouse.move(x, row["y"] - 6, steps=8)
    page.mouse.up()


def drag_by(page: Page, handle: Locator, dx: float, dy: float) -> None:
    """Press near the top of `handle`, move by (dx, dy) in steps, release: FullCalendar
    moves (or, for a resizer, stretches) by the time those pixels stand for. The page's
    message is hidden first, so that the next one is this drop's."""
    quiet(page)
    expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
    centre(handle)
    handle.hover()
    box = still_box(handle)
    # Near the top, off the 15-minute lines, where rounding could pick either side.
    x, y = box["x"] + box["width"] / 2, box["y"] + min(5, box["height"] * 0.3)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=6)
    page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()


def minutes_px(page: Page, minutes: int) -> float:
    """How many pixels `minutes` take on the time grid (from two slot rows' positions)."""
    first = page.locator("td.fc-timegrid-slot-lane[data-time='08:00:00']").bounding_box()
    second = page.locator("td.fc-timegrid-slot-lane[data-time='09:00:00']").bounding_box()
    assert first and second
    return (second["y"] - first["y"]) * minutes / 60


def day_px(page: Page, date: str, other: str) -> float:
    """The horizontal distance between two days' columns."""
    a = day(page, date).bounding_box()
    b = day(page, other).bounding_box()
    assert a and b
    return b["x"] - a["x"]


def api_client(base: str, username: str, owner: BrowserContext) -> httpx.Client:
    """The API as `username` (one login: the auth rate limit is per IP), closed with the
    browser context `owner`."""
    client = httpx.Client(base_url=f"{base}/api/v1", timeout=15)
    owner.on("close", lambda _: client.close())
    login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


def make_event(client: httpx.Client, **fields: object) -> dict[str, object]:
    response = client.post("/events", params={"conflicts": "ignore"}, json=fields)
    assert response.status_code == 201, response.text
    event: dict[str, object] = response.json()
    return event


def resize_by(page: Page, event: Locator, dy: float) -> None:
    """Drag the lower edge of `event` (its resizer shows while the pointer is on it) by dy."""
    quiet(page)
    expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
    centre(event)
    event.hover()
    handle = event.locator(".fc-event-resizer-end")
    expect(handle).to_be_visible()
    box = still_box(handle)
    x, y = box["x"] + box["width"] / 2, box["y"] + 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + dy / 2, steps=6)
    page.mouse.move(x, y + dy, steps=6)
    page.mouse.up()
