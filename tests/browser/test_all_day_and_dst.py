"""All-day events made in the page, and series moved across a change of summer time, in a
Berlin browser (an outside attack found the page could make no all-day event, and moved a
series an hour off its time when one of its occurrences moved across 25 October)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.steps import (
    ZONE,
    api_client,
    events_on,
    make_event,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)

# Summer time ends in Berlin on Sunday 2026-10-25: the week of 19-25 October holds it.
WEEK = "2026-10-21"


def saved(page: Page, notice: str) -> None:
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#notice")).to_contain_text(notice)


def weekly(api: httpx.Client, title: str, hour: int) -> dict[str, object]:
    """Saturdays at `hour` Berlin time from 3 October: summer time for four weeks, then not."""
    return make_event(
        api,
        title=title,
        start_time=f"2026-10-03T{hour}:00:00+02:00",
        end_time=f"2026-10-03T{hour + 1}:00:00+02:00",
        timezone=ZONE,
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;COUNT=10",
    )


def test_all_day_events_from_the_lane_and_from_a_timed_event_in_another_zone(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "ines")
        api = api_client(server, "ines", context)
        page.goto(f"{server}/#/week/{WEEK}")
        # A click in the all-day lane on the day the clocks change makes that day's event.
        page.locator(".fc-timegrid .fc-daygrid-day[data-date='2026-10-25']").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_label("All day")).to_be_checked()
        expect(dialog.get_by_label("First day")).to_have_value("2026-10-25")
        dialog.get_by_label("Title").fill("Day off")
        dialog.get_by_role("button", name="Create").click()
        saved(page, "Event created.")
        [made] = [e for e in api.get("/events").json()["items"] if e["title"] == "Day off"]
        assert (made["all_day"], made["start_date"], made["end_date"]) == (
            True,
            "2026-10-25",
            "2026-10-26",
        )

        # A call kept in New York time turns all-day on its day there (it is 09:00 there).
        call = make_event(
            api,
            title="NY call",
            start_time="2026-10-22T15:00:00+02:00",
            end_time="2026-10-22T16:00:00+02:00",
            timezone="America/New_York",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        open_occurrence(page, "2026-10-22", "NY call")
        dialog.get_by_label("All day").check()
        dialog.get_by_role("button", name="Save").click()
        saved(page, "Changes saved.")
        after = api.get(f"/events/{call['id']}").json()
        assert (after["all_day"], after["start_date"], after["end_date"]) == (
            True,
            "2026-10-22",
            "2026-10-23",
        )
        assert errors == []
    finally:
        context.close()


def test_a_series_moved_a_day_across_the_end_of_summer_time_keeps_its_hour(
    browser: Browser, server: str
) -> None:
    """*All occurrences* moves the series by as many days and minutes of its zone's clock as
    the occurrence moved: Saturday 10:00 to Sunday 10:00 is a day, though 25 hours pass."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "jonas")
        api = api_client(server, "jonas", context)
        yoga, run = weekly(api, "Yoga", 10), weekly(api, "Run", 12)
        page.goto(f"{server}/#/week/{WEEK}")

        # The keyboard (and a drag: the same move): → on Saturday's, then the series.
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        events_on(page, "2026-10-24", "Yoga").focus()
        page.keyboard.press("ArrowRight")
        page.get_by_role("dialog", name="Move “Yoga”").get_by_role(
            "button", name="All occurrences"
        ).click()
        expect(events_on(page, "2026-10-25", "Yoga")).to_contain_text("10:00–11:00")
        # Sunday 4 October, 10:00 summer time: the first of the series, a day later
        assert api.get(f"/events/{yoga['id']}").json()["start_time"] == "2026-10-04T08:00:00Z"

        # The form: Saturday's occurrence given Sunday's date at the same time.
        open_occurrence(page, "2026-10-24", "Run")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("All occurrences").check()
        dialog.get_by_label("Starts").fill("2026-10-25T12:00")
        dialog.get_by_label("Ends").fill("2026-10-25T13:00")
        dialog.get_by_role("button", name="Save").click()
        saved(page, "Changes saved.")
        expect(events_on(page, "2026-10-25", "Run")).to_contain_text("12:00–13:00")
        assert api.get(f"/events/{run['id']}").json()["start_time"] == "2026-10-04T10:00:00Z"
        assert errors == []
    finally:
        context.close()


def test_an_all_day_clash_offers_whole_days_and_one_picked_stays_all_day(
    browser: Browser, server: str
) -> None:
    """The suggestions after an all-day event's clash are days, and picking one moves the
    event there, still all-day (it was made a timed event at 23:00 UTC)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "karin")
        api = api_client(server, "karin", context)
        busy = {"all_day": True, "transparency": "opaque", "timezone": ZONE}
        make_event(api, title="Away", start_date="2026-10-22", **busy)
        offsite = make_event(api, title="Offsite", start_date="2026-10-20", **busy)
        page.goto(f"{server}/#/month/{WEEK}")
        open_occurrence(page, "2026-10-20", "Offsite")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("First day").fill("2026-10-22")
        dialog.get_by_label("Last day").fill("2026-10-22")
        dialog.get_by_role("button", name="Save").click()
        offered = dialog.locator(".suggestions button")
        expect(offered).to_have_count(5)
        expect(offered.first).not_to_contain_text(":")  # days, no times
        offered.first.click()
        saved(page, "Changes saved.")
        made = api.get(f"/events/{offsite['id']}").json()
        assert (made["all_day"], made["start_date"], made["end_date"]) == (
            True,
            "2026-10-23",
            "2026-10-24",
        )
        assert errors == []
    finally:
        context.close()
