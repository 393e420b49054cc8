"""A series moved whole to another day recurs on the days it moved to, as calendar apps do:
Monday's and Wednesday's meeting moved a day later meets on Tuesdays and Thursdays. The
rule kept `BYDAY=MO,WE`, so the series started on a Tuesday and went on on Mondays."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.steps import (
    ZONE,
    all_day_lane,
    api_client,
    events_on,
    make_event,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)

WEEK = "2026-06-10"  # Monday 8 to Sunday 14 June 2026


def test_a_series_moved_whole_moves_the_weekdays_of_its_rule(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "wanda")
        api = api_client(server, "wanda", context)
        standup = make_event(
            api,
            title="Standup",
            start_time="2026-06-01T09:00:00+02:00",
            end_time="2026-06-01T09:30:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;BYDAY=MO,WE",
        )
        review = make_event(
            api,
            title="Review",
            start_time="2026-06-01T14:00:00+02:00",
            end_time="2026-06-01T15:00:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;BYDAY=MO",
        )
        market = make_event(
            api,
            title="Market",
            all_day=True,
            start_date="2026-06-06",
            end_date="2026-06-07",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;BYDAY=SA",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")

        # The keyboard (a drag is the same move): Wednesday's standup → Thursday, all of them.
        events_on(page, "2026-06-10", "Standup").focus()
        page.keyboard.press("ArrowRight")
        page.get_by_role("dialog", name="Move “Standup”").get_by_role(
            "button", name="All occurrences"
        ).click()
        expect(events_on(page, "2026-06-11", "Standup")).to_have_count(1)
        expect(events_on(page, "2026-06-09", "Standup")).to_have_count(1)
        expect(events_on(page, "2026-06-08", "Standup")).to_have_count(0)
        after = api.get(f"/events/{standup['id']}").json()
        assert after["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=TU,TH"
        assert after["start_time"] == "2026-06-02T07:00:00Z"

        # An all-day series: Saturday's market → Sunday, all of them.
        all_day_lane(page).filter(has_text="Market").first.focus()
        page.keyboard.press("ArrowRight")
        page.get_by_role("dialog", name="Move “Market”").get_by_role(
            "button", name="All occurrences"
        ).click()
        expect(page.locator("#notice")).to_contain_text("Moved “Market”")
        after = api.get(f"/events/{market['id']}").json()
        assert (after["start_date"], after["recurrence_pattern"]) == (
            "2026-06-07",
            "FREQ=WEEKLY;BYDAY=SU",
        )

        # The form: Monday's review given Friday's date, all occurrences.
        open_occurrence(page, "2026-06-08", "Review")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("All occurrences").check()
        dialog.get_by_label("Starts").fill("2026-06-12T14:00")
        dialog.get_by_label("Ends").fill("2026-06-12T15:00")
        dialog.get_by_role("button", name="Save").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(events_on(page, "2026-06-12", "Review")).to_have_count(1)
        expect(events_on(page, "2026-06-08", "Review")).to_have_count(0)
        after = api.get(f"/events/{review['id']}").json()
        assert after["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=FR"
        assert after["start_time"] == "2026-06-05T12:00:00Z"
        assert errors == []
    finally:
        context.close()


def test_a_rollback_that_moves_an_event_onto_another_says_so(browser: Browser, server: str) -> None:
    """A rollback is checked as a move (`warn`, the default): the page says what it overlaps."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "rolf")
        api = api_client(server, "rolf", context)
        times = {"timezone": ZONE}
        made = make_event(
            api,
            title="Review",
            start_time="2026-06-10T10:00:00+02:00",
            end_time="2026-06-10T11:00:00+02:00",
            **times,
        )
        moved = api.patch(
            f"/events/{made['id']}",
            json={
                "start_time": "2026-06-10T14:00:00+02:00",
                "end_time": "2026-06-10T15:00:00+02:00",
            },
        )
        assert moved.status_code == 200, moved.text
        make_event(
            api,
            title="Lunch",
            start_time="2026-06-10T10:30:00+02:00",
            end_time="2026-06-10T11:30:00+02:00",
            **times,
        )
        page.goto(f"{server}/#/events/{made['id']}/history")
        page.locator("tr[data-version='1']").get_by_role("button", name="Roll back").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Roll back to version 1").click()
        expect(page.locator("#notice")).to_contain_text(
            "Rolled back to version 1: this is now version 3. It overlaps another event."
        )
        assert errors == []
    finally:
        context.close()
