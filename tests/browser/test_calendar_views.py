"""Day, week and month views on the time grid; creating by clicking and dragging on empty
time; the viewer's and the event's zones; week start from the locale; search (SPEC §12).

The README's screenshots come from here (SCREENSHOTS_DIR=docs/screenshots).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.steps import (
    ZONE,
    api_client,
    day,
    day_px,
    drag_by,
    drag_select,
    events_on,
    make_event,
    new_context,
    quiet,
    sign_up,
    slot,
    watch_errors,
)

WEEK = "2027-05-12"  # a Wednesday; the week of Monday 10 May 2027 (CEST, UTC+2)


def seed(base: str, username: str, context: BrowserContext) -> None:
    """A believable week: a daily stand-up, overlapping meetings, a call planned in New York,
    a three-day offsite."""
    api = api_client(base, username, context)
    make_event(
        api,
        title="Stand-up",
        start_time="2027-05-10T09:00:00+02:00",
        end_time="2027-05-10T09:15:00+02:00",
        timezone=ZONE,
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    )
    make_event(
        api,
        title="Design review",
        start_time="2027-05-12T10:00:00+02:00",
        end_time="2027-05-12T11:30:00+02:00",
        location="Room 7",
        description="Sketches for the booking flow",
    )
    make_event(
        api,
        title="Hiring sync",
        start_time="2027-05-12T10:30:00+02:00",
        end_time="2027-05-12T11:00:00+02:00",
    )
    make_event(
        api,
        title="Call with the New York office",
        start_time="2027-05-11T15:00:00+02:00",
        end_time="2027-05-11T16:00:00+02:00",
        timezone="America/New_York",
    )
    make_event(
        api,
        title="Lunch with Sam",
        start_time="2027-05-13T12:30:00+02:00",
        end_time="2027-05-13T13:30:00+02:00",
        location="Canteen",
    )
    make_event(
        api,
        title="Offsite",
        start_time="2027-05-13T08:00:00+02:00",
        end_time="2027-05-15T18:00:00+02:00",
        location="Lake house",
    )


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{width} px wide"  # type: ignore[index]


def test_day_week_month_and_creating_by_click_and_drag(
    browser: Browser, server: str, screenshots: Path
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "wendy")
        seed(server, "wendy", context)
        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Week of 10 May 2027")
        # en-GB weeks start on Monday; hour labels; the viewer's zone is named.
        expect(page.locator("th.fc-col-header-cell").first).to_have_attribute(
            "data-date", "2027-05-10"
        )
        expect(page.locator("td.fc-timegrid-slot-label[data-time='09:00:00']")).to_have_text(
            "09:00"
        )
        expect(page.locator("#main .zone")).to_have_text(f"Times in {ZONE}")

        # Events by time and length; the series marked; the other zone's wall time shown.
        standup = events_on(page, "2027-05-12", "Stand-up")
        expect(standup).to_have_text(re.compile(r"^09:00–09:15Stand-up↻"))
        call = events_on(page, "2027-05-11", "New York")
        expect(call.locator(".ne-zone")).to_have_text("09:00 New York")
        call.click()
        expect(page.get_by_role("dialog").locator(".zone-note")).to_have_text(
            "In its own time zone, America/New_York: Tue 11 May, 09:00–10:00. "
            f"Times below are in {ZONE}."
        )
        page.keyboard.press("Escape")
        review = events_on(page, "2027-05-12", "Design review")
        hiring = events_on(page, "2027-05-12", "Hiring sync")
        expect(review).to_contain_text("10:00–11:30")
        r, s = review.bounding_box(), hiring.bounding_box()
        assert r and s
        assert r["x"] + r["width"] <= s["x"] + 1 or s["x"] + s["width"] <= r["x"] + 1, (
            "overlapping events are drawn on top of each other, not side by side"
        )
        assert r["height"] > 2.5 * s["height"], "an event's height follows its length"
        # The three-day offsite is one bar across its days in the all-day lane, with its start.
        lane = page.locator(".fc-timegrid .fc-daygrid-body .fc-event", has_text="Offsite")
        expect(lane).to_have_text(re.compile(r"^08:00Offsite"))
        column = day(page, "2027-05-13").bounding_box()
        bar = lane.bounding_box()
        assert column and bar and bar["width"] > 2.5 * column["width"]
        expect(events_on(page, "2027-05-14", "Offsite")).to_have_count(0)
        quiet(page)
        page.screenshot(path=screenshots / "week-view.png")

        # A click on empty time opens a new event there, an hour long.
        x, y = slot(page, "2027-05-12", "14:00")
        page.mouse.click(x, y)
        dialog = page.get_by_role("dialog", name="New event")
        expect(dialog.get_by_label("Starts")).to_have_value("2027-05-12T14:00")
        expect(dialog.get_by_label("Ends")).to_have_value("2027-05-12T15:00")
        dialog.get_by_label("Title").fill("Planning")
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()
        expect(events_on(page, "2027-05-12", "Planning")).to_have_text(
            re.compile(r"^14:00–15:00Planning")
        )

        # Dragging over empty time makes an event of that length.
        drag_select(page, "2027-05-10", "15:00", "16:30")
        dialog = page.get_by_role("dialog", name="New event")
        expect(dialog.get_by_label("Starts")).to_have_value("2027-05-10T15:00")
        expect(dialog.get_by_label("Ends")).to_have_value("2027-05-10T16:30")
        dialog.get_by_label("Title").fill("Write-up")
        dialog.get_by_role("button", name="Create").click()
        expect(events_on(page, "2027-05-10", "Write-up")).to_contain_text("15:00–16:30")

        # Day view: one column, the same events; the URL says which view.
        page.get_by_role("button", name="Day", exact=True).click()
        expect(page).to_have_url(re.compile(f"#/day/{WEEK}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Wednesday, 12 May 2027"
        )  # Intl, en-GB
        expect(page.locator("td.fc-timegrid-col[data-date]")).to_have_count(1)
        expect(events_on(page, WEEK, "Design review")).to_be_visible()
        quiet(page)
        page.screenshot(path=screenshots / "day-view.png")

        # Month view: the offsite is one bar across its days.
        page.get_by_role("button", name="Month").click()
        expect(page).to_have_url(re.compile(f"#/month/{WEEK}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("May 2027")
        bar = page.locator(".fc-daygrid-event", has_text="Offsite")
        expect(bar).to_have_count(1)
        cell = day(page, "2027-05-13").bounding_box()
        box = bar.bounding_box()
        assert cell and box and box["width"] > 2.5 * cell["width"], "not a bar across days"
        quiet(page)
        page.screenshot(path=screenshots / "month-view.png")
        # In the month an event moves by days and keeps its time.
        drag_by(
            page,
            events_on(page, "2027-05-12", "Design review"),
            day_px(page, "2027-05-12", "2027-05-11"),
            0,
        )
        expect(page.locator("#notice")).to_contain_text("Moved “Design review”")
        expect(events_on(page, "2027-05-11", "Design review")).to_contain_text("10:00")
        page.get_by_role("button", name="Next month").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("June 2027")

        # At 360 px: the same views, nothing wider than the screen.
        page.set_viewport_size({"width": 360, "height": 740})
        for view, name in (
            ("week", "week-360.png"),
            ("day", "day-360.png"),
            ("month", "month-360.png"),
        ):
            page.goto(f"{server}/#/{view}/{WEEK}")
            expect(events_on(page, WEEK, "Stand-up")).to_be_visible()
            fits(page)
            quiet(page)
            page.screenshot(path=screenshots / name)
        assert errors == []
    finally:
        context.close()


def test_the_week_starts_as_the_locale_says_and_now_is_marked(
    browser: Browser, server: str
) -> None:
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    try:
        sign_up(page, server, "uma")
        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.locator("th.fc-col-header-cell").first).to_have_attribute(
            "data-date", "2027-05-09"
        )  # Sunday
        expect(page.locator("#main .zone")).to_have_text("Times in America/New_York")
        page.get_by_role("button", name="Today").click()
        expect(page.locator(".fc-timegrid-now-indicator-line")).to_have_count(1)
    finally:
        context.close()


def test_search_by_title_location_and_description(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, server, "sybil")
        seed(server, "sybil", context)
        page.goto(f"{server}/#/week/{WEEK}")
        search = page.get_by_role("searchbox", name="Search title, location, description")
        for words, found in (
            ("Room 7", "Design review"),
            ("booking", "Design review"),
            ("lunch", "Lunch with Sam"),
        ):
            search = page.get_by_role("searchbox", name="Search title, location, description")
            search.fill(words)
            search.press("Enter")
            expect(page.get_by_role("heading", level=1)).to_have_text(f"Search: “{words}”")
            expect(page.locator(".results li")).to_have_count(1)
            expect(page.locator(".results")).to_contain_text(found)
        page.locator(".results a").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Week of 10 May 2027")
        search = page.get_by_role("searchbox", name="Search title, location, description")
        search.fill("nothing like this")
        search.press("Enter")
        expect(page.get_by_role("status").filter(has_text="Nothing found.")).to_be_visible()
    finally:
        context.close()


def test_search_follows_pages_that_hold_nothing_yet(browser: Browser, server: str) -> None:
    """A search page reads at most 1 MiB of text (`search_scan`): behind 60 events of 40 KB,
    the first pages hold nothing, and what matches is found on a later one."""
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, server, "sam")
        api = api_client(base=server, username="sam", owner=context)
        long = {"description": "\U0001f600" * 10_000, "timezone": "UTC"}
        for day in range(1, 4):
            events = [
                {"title": f"Notes {day}-{n}", "start_time": f"2027-04-{day:02d}T{n:02d}:00:00Z",
                 "end_time": f"2027-04-{day:02d}T{n:02d}:30:00Z", **long}
                for n in range(20)
            ]  # fmt: skip
            response = api.post(
                "/events/batch", params={"conflicts": "ignore"}, json={"events": events}
            )
            assert response.status_code == 201, response.text
        make_event(
            api, title="Quarterly planning", start_time="2027-05-03T09:00:00Z",
            end_time="2027-05-03T10:00:00Z", timezone="UTC",
        )  # fmt: skip
        first = api.get("/events", params={"q": "quarterly", "limit": 100}).json()
        assert first["items"] == [] and first["next_cursor"]  # what the page shows alone
        page.goto(f"{server}/#/search/quarterly")
        expect(page.locator(".results li")).to_have_count(1)
        expect(page.locator(".results")).to_contain_text("Quarterly planning")
    finally:
        context.close()


def test_a_multi_day_all_day_event_is_a_bar_in_the_lane(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, server, "abby")
        api = api_client(server, "abby", context)
        make_event(
            api,
            title="Conference",
            all_day=True,
            start_date="2027-05-12",
            end_date="2027-05-15",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        lane = page.locator(".fc-timegrid .fc-daygrid-body .fc-event", has_text="Conference")
        expect(lane).to_have_count(1, timeout=3000)
        expect(lane).not_to_contain_text("00:00")
        page.goto(f"{server}/#/month/{WEEK}")
        bar = page.locator(".fc-daygrid-block-event", has_text="Conference")
        expect(bar).to_have_count(1, timeout=3000)
        cell = day(page, "2027-05-12").bounding_box()
        box = bar.bounding_box()
        assert cell and box and box["width"] > 2.5 * cell["width"]
    finally:
        context.close()
