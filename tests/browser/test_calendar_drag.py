"""Dragging and resizing on the grid, with the keyboard too; one occurrence or the series;
a schedule conflict before saving; an If-Match clash explained; two people seeing each
other's moves live (SPEC §7, §12)."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.steps import (
    LIVE_TIMEOUT,
    ZONE,
    api_client,
    day_px,
    drag_by,
    events_on,
    make_event,
    minutes_px,
    new_context,
    quiet,
    resize_by,
    sign_up,
    watch_errors,
)

WEEK = "2027-05-12"


def starts(api: httpx.Client, event_id: object) -> tuple[str, str]:
    event = api.get(f"/events/{event_id}").json()
    return event["start_time"], event["end_time"]


LISTING = re.compile(r"/api/v1/events\?start_time=")
WINDOW = {"start_time": "2027-05-09T22:00:00Z", "end_time": "2027-05-16T22:00:00Z", "limit": 500}


def change_meanwhile(page: Page, api: httpx.Client, event_id: object, **fields: object) -> None:
    """Someone else changes the event while this page keeps showing the old version: from now
    on the page's listing answers what it is now (installed first, so that the change's live
    message cannot beat it), as if the live message were late. Returns once the page has
    reloaded on that message (and got the old version again)."""
    grid = page.locator(".calendar")
    # The page's reload after its own last write first: its listing must not be taken
    # for the one this change makes the page ask for.
    expect(grid).not_to_have_attribute("aria-busy", "true")
    stale = api.get("/events", params=WINDOW).text
    served: list[str] = []

    def serve(route: Route) -> None:
        served.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=stale)

    page.route(LISTING, serve)
    api.patch(f"/events/{event_id}", json=fields).raise_for_status()
    deadline = time.monotonic() + LIVE_TIMEOUT / 1000
    while not served:  # the live message came, and the page asked for the listing
        assert time.monotonic() < deadline, "no reload after someone else's change"
        page.wait_for_timeout(25)
    # busy from the message until the listing's events are drawn (`calendar.js`, refresh)
    expect(grid).not_to_have_attribute("aria-busy", "true")


def moved(page: Page, title: str) -> None:
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text(f"Moved “{title}”")


def test_drag_to_move_and_resize_one_occurrence_or_the_series_and_the_keyboard(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "dora")
        api = api_client(server, "dora", context)
        focus = make_event(
            api,
            title="Focus time",
            start_time="2027-05-11T10:00:00+02:00",
            end_time="2027-05-11T11:00:00+02:00",
        )
        standup = make_event(
            api,
            title="Stand-up",
            start_time="2027-05-10T09:00:00+02:00",
            end_time="2027-05-10T09:15:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY;COUNT=10",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        event = events_on(page, "2027-05-11", "Focus time")
        expect(event).to_contain_text("10:00–11:00")

        # Drag down by two hours and one day to the right: a single event just moves.
        drag_by(page, event, day_px(page, "2027-05-11", "2027-05-12"), minutes_px(page, 120))
        moved(page, "Focus time")
        event = events_on(page, "2027-05-12", "Focus time")
        expect(event).to_contain_text("12:00–13:00")
        assert starts(api, focus["id"]) == ("2027-05-12T10:00:00Z", "2027-05-12T11:00:00Z")

        # Its lower edge, dragged 90 minutes down, makes it longer.
        resize_by(page, event, minutes_px(page, 90))
        moved(page, "Focus time")
        expect(events_on(page, "2027-05-12", "Focus time")).to_contain_text("12:00–14:30")
        assert starts(api, focus["id"]) == ("2027-05-12T10:00:00Z", "2027-05-12T12:30:00Z")

        # The keyboard: ↓ moves a focused event 15 minutes later, Shift+↑ shortens it.
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        events_on(page, "2027-05-12", "Focus time").focus()
        quiet(page)
        page.keyboard.press("ArrowDown")
        expect(events_on(page, "2027-05-12", "Focus time")).to_contain_text("12:15–14:45")
        expect(events_on(page, "2027-05-12", "Focus time")).to_be_focused()
        page.keyboard.press("Shift+ArrowUp")
        expect(events_on(page, "2027-05-12", "Focus time")).to_contain_text("12:15–14:30")
        page.keyboard.press("ArrowRight")
        expect(events_on(page, "2027-05-13", "Focus time")).to_contain_text("12:15–14:30")
        moved(page, "Focus time")
        assert starts(api, focus["id"]) == ("2027-05-13T10:15:00Z", "2027-05-13T12:30:00Z")
        page.keyboard.press("Enter")  # opens it, once
        expect(page.get_by_role("dialog")).to_have_count(1)
        expect(page.get_by_role("dialog").get_by_label("Title")).to_have_value("Focus time")
        page.keyboard.press("Escape")

        # One occurrence of a series: asked which, "only this one" moves just Wednesday's.
        drag_by(page, events_on(page, "2027-05-12", "Stand-up"), 0, minutes_px(page, 60))
        ask = page.get_by_role("dialog", name="Move “Stand-up”")
        expect(ask).to_contain_text("Which occurrences?")
        ask.get_by_role("button", name="Only this occurrence").click()
        moved(page, "Stand-up")
        expect(events_on(page, "2027-05-12", "Stand-up")).to_contain_text("10:00–10:15")
        expect(events_on(page, "2027-05-13", "Stand-up")).to_contain_text("09:00–09:15")
        series = api.get(f"/events/{standup['id']}").json()
        assert series["start_time"] == "2027-05-10T07:00:00Z"
        assert [o["start_time"] for o in series["overrides"]] == ["2027-05-12T08:00:00Z"]

        # Cancel puts it back; "All occurrences" moves the series by as much.
        drag_by(page, events_on(page, "2027-05-13", "Stand-up"), 0, minutes_px(page, 30))
        page.get_by_role("dialog", name="Move “Stand-up”").get_by_role(
            "button", name="Cancel"
        ).click()
        expect(events_on(page, "2027-05-13", "Stand-up")).to_contain_text("09:00–09:15")
        drag_by(page, events_on(page, "2027-05-13", "Stand-up"), 0, minutes_px(page, 30))
        page.get_by_role("dialog", name="Move “Stand-up”").get_by_role(
            "button", name="All occurrences"
        ).click()
        moved(page, "Stand-up")
        expect(events_on(page, "2027-05-14", "Stand-up")).to_contain_text("09:30–09:45")
        assert api.get(f"/events/{standup['id']}").json()["start_time"] == "2027-05-10T07:30:00Z"
        assert errors == []
    finally:
        context.close()


def test_a_conflict_on_drop_and_someone_elses_change_meanwhile(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, server, "ezra")
        api = api_client(server, "ezra", context)
        make_event(
            api,
            title="Lunch",
            start_time="2027-05-13T12:00:00+02:00",
            end_time="2027-05-13T13:00:00+02:00",
        )
        call = make_event(
            api,
            title="Call",
            start_time="2027-05-13T14:00:00+02:00",
            end_time="2027-05-13T15:00:00+02:00",
        )
        page.goto(f"{server}/#/week/{WEEK}")

        # Dropped onto lunch: the clash is shown before anything is saved.
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, -minutes_px(page, 90))
        clash = page.get_by_role("dialog", name="“Call” would overlap")
        expect(clash).to_contain_text("Lunch")
        clash.get_by_role("button", name="Cancel").click()
        expect(events_on(page, "2027-05-13", "Call")).to_contain_text("14:00–15:00")
        assert starts(api, call["id"])[0] == "2027-05-13T12:00:00Z"
        # Again, and saved anyway.
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, -minutes_px(page, 90))
        page.get_by_role("dialog", name="“Call” would overlap").get_by_role(
            "button", name="Save anyway"
        ).click()
        moved(page, "Call")
        expect(events_on(page, "2027-05-13", "Call")).to_contain_text("12:30–13:30")
        assert starts(api, call["id"])[0] == "2027-05-13T10:30:00Z"

        # Someone renames it while this page still shows the old version (its listing is
        # held back here, as if the live message were late): the drop is a 412, explained.
        change_meanwhile(page, api, call["id"], title="Call with Ana")
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, minutes_px(page, 180))
        changed = page.get_by_role("dialog", name="Changed by someone else")
        expect(changed).to_contain_text("ezra changed “Call with Ana”")
        page.unroute(LISTING)
        changed.get_by_role("button", name="Apply my move to their version").click()
        moved(page, "Call")
        after = api.get(f"/events/{call['id']}").json()
        assert after["title"] == "Call with Ana"  # their change kept
        assert after["start_time"] == "2027-05-13T13:30:00Z"  # my move applied
        expect(events_on(page, "2027-05-13", "Call with Ana")).to_contain_text("15:30–16:30")

        # The same again, and "Reload": nothing of mine is written, their version shows.
        change_meanwhile(page, api, call["id"], location="Room 2")
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, minutes_px(page, 60))
        changed = page.get_by_role("dialog", name="Changed by someone else")
        page.unroute(LISTING)
        changed.get_by_role("button", name="Reload").click()
        expect(events_on(page, "2027-05-13", "Call with Ana")).to_contain_text("15:30–16:30")
        expect(events_on(page, "2027-05-13", "Call with Ana")).to_contain_text("Room 2")
        assert starts(api, call["id"])[0] == "2027-05-13T13:30:00Z"

        # They moved it too: merging my move is a clash of the same fields, asked about.
        change_meanwhile(
            page,
            api,
            call["id"],
            start_time="2027-05-13T08:00:00Z",
            end_time="2027-05-13T09:00:00Z",
        )
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, minutes_px(page, 60))
        page.get_by_role("dialog", name="Changed by someone else").get_by_role(
            "button", name="Apply my move to their version"
        ).click()
        clash = page.get_by_role("dialog", name="They changed the time too")
        expect(clash).to_contain_text("start")
        expect(clash).not_to_contain_text("_")
        page.unroute(LISTING)
        clash.get_by_role("button", name="Use mine").click()
        moved(page, "Call with Ana")
        assert starts(api, call["id"]) == ("2027-05-13T14:30:00Z", "2027-05-13T15:30:00Z")
        expect(events_on(page, "2027-05-13", "Call with Ana")).to_contain_text("16:30–17:30")
    finally:
        context.close()


def test_two_people_see_each_others_moves_live(browser: Browser, server: str) -> None:
    alice_context = new_context(browser)
    bob_context = new_context(browser)
    alice = alice_context.new_page()
    bob = bob_context.new_page()
    try:
        sign_up(alice, server, "fay")
        sign_up(bob, server, "gus")
        api = api_client(server, "fay", alice_context)
        event = make_event(
            api,
            title="Roadmap",
            start_time="2027-05-11T10:00:00+02:00",
            end_time="2027-05-11T11:00:00+02:00",
        )
        gus = api.get("/users", params={"q": "gus"}).json()["items"][0]["id"]
        api.post(
            f"/events/{event['id']}/share", json={"users": [{"user_id": gus, "role": "editor"}]}
        ).raise_for_status()
        alice.goto(f"{server}/#/week/{WEEK}")
        bob.goto(f"{server}/#/week/{WEEK}")
        expect(events_on(bob, "2027-05-11", "Roadmap")).to_contain_text("10:00–11:00")

        drag_by(alice, events_on(alice, "2027-05-11", "Roadmap"), 0, minutes_px(alice, 60))
        moved(alice, "Roadmap")
        expect(events_on(bob, "2027-05-11", "Roadmap")).to_contain_text(
            "11:00–12:00", timeout=LIVE_TIMEOUT
        )
        resize_by(bob, events_on(bob, "2027-05-11", "Roadmap"), minutes_px(bob, 30))
        moved(bob, "Roadmap")
        expect(events_on(alice, "2027-05-11", "Roadmap")).to_contain_text(
            "11:00–12:30", timeout=LIVE_TIMEOUT
        )
    finally:
        alice_context.close()
        bob_context.close()


def test_arrow_keys_pressed_faster_than_the_saves_each_move_it(
    browser: Browser, server: str
) -> None:
    """A press while the previous one is being saved waits for it: the element pressed on
    was drawn before that save, and a move of its version would be refused as someone
    else's change (a 412 about my own move)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "hana")
        api = api_client(server, "hana", context)
        review = make_event(
            api,
            title="Review",
            start_time="2027-05-12T10:00:00+02:00",
            end_time="2027-05-12T11:00:00+02:00",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        expect(events_on(page, "2027-05-12", "Review")).to_contain_text("10:00–11:00")
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        events_on(page, "2027-05-12", "Review").focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Shift+ArrowDown")
        expect(events_on(page, "2027-05-12", "Review")).to_contain_text("10:30–11:45")
        expect(events_on(page, "2027-05-12", "Review")).to_be_focused()
        expect(page.get_by_role("dialog")).to_have_count(0)
        assert starts(api, review["id"]) == ("2027-05-12T08:30:00Z", "2027-05-12T09:45:00Z")
        assert errors == []
    finally:
        context.close()
