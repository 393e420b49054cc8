"""Editing and display defects of the web client found by an outside review (attack Y,
2026-12-06): each test is the reviewer's steps, cut to what shows the defect."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Locator, Route, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.steps import (
    TIMEOUT,
    ZONE,
    api_client,
    day_px,
    drag_by,
    events_on,
    make_event,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)
from tests.browser.test_dialog_clash import someone_else

WEEK = "2026-06-10"  # Monday 8 to Sunday 14 June 2026


def test_all_occurrences_from_an_edited_occurrence_sends_only_what_changed(
    browser: Browser, server: str
) -> None:
    """An occurrence renamed on its own, then opened for "All occurrences" with only its
    location changed: the location reaches the series, the occurrence's own title does not
    (every occurrence was renamed)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "oona")
        api = api_client(server, "oona", context)
        series = make_event(
            api,
            title="Weekly 1:1",
            start_time="2026-06-01T14:00:00+02:00",
            end_time="2026-06-01T14:30:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;COUNT=6",
        )
        listing = api.get(
            "/events",
            params={"start_time": "2026-06-08T00:00:00Z", "end_time": "2026-06-09T00:00:00Z"},
        ).json()["items"]
        rid = listing[0]["recurrence_id"]
        api.put(
            f"/events/{series['id']}/instances/{rid}",
            params={"scope": "this"},
            json={
                "title": "Weekly 1:1 (moved)",
                "start_time": "2026-06-08T15:00:00+02:00",
                "end_time": "2026-06-08T15:30:00+02:00",
            },
        ).raise_for_status()

        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        open_occurrence(page, "2026-06-08", "Weekly 1:1 (moved)")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("All occurrences").check()
        dialog.get_by_label("Location").fill("Room 5")
        dialog.get_by_role("button", name="Save").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(page.locator("#notice")).to_contain_text("Changes saved.")

        after = api.get(f"/events/{series['id']}").json()
        assert (after["title"], after["location"]) == ("Weekly 1:1", "Room 5")
        expect(events_on(page, "2026-06-08", "Weekly 1:1 (moved)")).to_have_count(1)
        week = api.get(
            "/events",
            params={"start_time": "2026-06-01T00:00:00Z", "end_time": "2026-06-16T00:00:00Z"},
        ).json()["items"]
        assert [(o["title"], o["location"]) for o in week] == [
            ("Weekly 1:1", "Room 5"),
            ("Weekly 1:1 (moved)", "Room 5"),
            ("Weekly 1:1", "Room 5"),
        ]
        assert errors == []
    finally:
        context.close()


def test_a_drag_before_the_previous_drag_is_saved_moves_it_again(
    browser: Browser, server: str
) -> None:
    """Two quick drags on a slow network: the second waits for the first's answer and is
    sent with the version it returned. It was sent at once with the version drawn, and the
    person was told they had changed the event "while you were looking at it"."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "sloane")
        api = api_client(server, "sloane", context)
        review = make_event(
            api,
            title="Review",
            start_time="2026-06-09T10:00:00+02:00",
            end_time="2026-06-09T11:00:00+02:00",
        )
        held: list[Route] = []
        slow = {"on": True}

        def hold(route: Route) -> None:
            if route.request.method == "PATCH" and slow["on"]:
                held.append(route)
            else:
                route.continue_()

        page.route(re.compile(r"/api/v1/events/\d+(\?|$)"), hold)
        page.goto(f"{server}/#/week/{WEEK}")
        expect(events_on(page, "2026-06-09", "Review")).to_contain_text("10:00–11:00")

        drag_by(
            page,
            events_on(page, "2026-06-09", "Review"),
            day_px(page, "2026-06-09", "2026-06-10"),
            0,
        )
        while not held:  # the first move is on its way (and stays there)
            page.wait_for_timeout(20)
        expect(events_on(page, "2026-06-10", "Review")).to_have_count(1)
        drag_by(
            page,
            events_on(page, "2026-06-10", "Review"),
            day_px(page, "2026-06-10", "2026-06-11"),
            0,
        )
        expect(events_on(page, "2026-06-11", "Review")).to_have_count(1)
        slow["on"] = False
        for route in list(held):  # the answers come, in order
            route.continue_()

        expect(page.locator("#notice")).to_contain_text("Moved “Review” to Thu")
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        expect(page.get_by_role("dialog")).to_have_count(0)
        after = api.get(f"/events/{review['id']}").json()
        assert (after["start_time"][:10], after["version"]) == ("2026-06-11", 3)
        drawn = events_on(page, "2026-06-11", "Review")
        expect(drawn).to_have_attribute("data-start", after["start_time"].replace("Z", ".000Z"))
        assert errors == []
    finally:
        context.close()


def test_an_all_day_invitation_shows_its_date_and_links_to_its_week(
    browser: Browser, server: str
) -> None:
    """An all-day event from a zone east of the invitee: its date, "all day", and a link to
    the week of that date. It showed the instant of Kolkata's midnight in Berlin (Saturday
    evening, with a clock time) and linked to the Saturday."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "ines")
        me = api_client(server, "ines", context).get("/auth/me").json()
        organiser = someone_else(server, "ravi")
        context.on("close", lambda _: organiser.close())
        retreat = organiser.post(
            "/events",
            json={
                "title": "Sunday retreat",
                "all_day": True,
                "start_date": "2027-01-17",
                "end_date": "2027-01-18",
                "timezone": "Asia/Kolkata",
            },
        ).json()
        organiser.post(
            f"/events/{retreat['id']}/attendees", json={"users": [{"user_id": me["id"]}]}
        ).raise_for_status()

        page.goto(f"{server}/#/invitations")
        row = page.locator(".invitations li").filter(has_text="Sunday retreat")
        expect(row).to_contain_text("Sun, 17 Jan 2027, all day")
        link = row.get_by_role("link", name="Show in calendar")
        expect(link).to_have_attribute("href", "#/week/2027-01-17")
        link.click()
        expect(
            page.locator(".fc-daygrid-body .fc-event").filter(has_text="Sunday retreat")
        ).to_have_count(1)
        assert errors == []
    finally:
        context.close()


# The contrast of an event's title with its box (WCAG 2: relative luminances), the box's
# opacity applied over the white page.
CONTRAST = """el => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const box = getComputedStyle(el);
  const alpha = Number(box.opacity);
  const over = ([r, g, b, a = 1]) => [r, g, b].map((v) => 255 + (v - 255) * a * alpha);
  const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const lum = (c) => over(c).map((v) => linear(v / 255))
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const fg = lum(rgb(getComputedStyle(el.querySelector('.ne-title')).color));
  const bg = lum(rgb(box.backgroundColor));
  return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}"""


def _settled_contrast(shown: Locator) -> float:
    """CONTRAST of the event as drawn once the calendar stops redrawing it: the share's live
    message refetches the view, and a box replaced while its style is read has none."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return float(shown.evaluate(CONTRAST))
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_an_event_i_may_only_view_is_readable_in_the_month(browser: Browser, server: str) -> None:
    """Someone's event shared with me to view: its title reads at WCAG AA contrast (4.5:1) in
    the month and the week. The month drew dark text on the week's dark grey (2.67:1)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "vera")
        me = api_client(server, "vera", context).get("/auth/me").json()
        owner = someone_else(server, "otto")
        context.on("close", lambda _: owner.close())
        event = make_event(
            owner,
            title="Board meeting",
            start_time="2026-06-10T10:00:00+02:00",
            end_time="2026-06-10T11:00:00+02:00",
        )
        owner.post(
            f"/events/{event['id']}/share",
            json={"users": [{"user_id": me["id"], "role": "viewer"}]},
        ).raise_for_status()
        for view in ("month", "week"):
            page.goto(f"{server}/#/{view}/{WEEK}")
            shown = events_on(page, "2026-06-10", "Board meeting")
            expect(shown).to_have_class(re.compile("ne-readonly"))
            assert _settled_contrast(shown) >= 4.5, view
        assert errors == []
    finally:
        context.close()


def test_a_repeat_from_the_list_comes_back_as_chosen(browser: Browser, server: str) -> None:
    """A repeat of "Every weekday", 10 times: the server writes the rule with COUNT before
    BYDAY, and the dialog showed it as a custom rule."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "wendy")
        page.goto(f"{server}/#/week/{WEEK}")
        page.get_by_role("button", name="New event").click()
        dialog = page.get_by_role("dialog", name="New event")
        dialog.get_by_label("Title").fill("Standup")
        dialog.get_by_label("Starts").fill("2026-06-08T09:00")
        dialog.get_by_label("Ends").fill("2026-06-08T09:15")
        dialog.get_by_label("Repeats").select_option("weekdays")
        dialog.get_by_label("Number of occurrences").fill("10")
        dialog.get_by_role("button", name="Create").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        stored = api_client(server, "wendy", context).get("/events").json()["items"][0]
        assert stored["recurrence_pattern"] == "FREQ=WEEKLY;COUNT=10;BYDAY=MO,TU,WE,TH,FR"

        open_occurrence(page, "2026-06-09", "Standup")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("All occurrences").check()
        expect(dialog.get_by_label("Repeats")).to_have_value("weekdays")
        expect(dialog.get_by_label("Number of occurrences")).to_have_value("10")
        expect(dialog.get_by_label("Rule (RFC 5545 RRULE)")).to_be_hidden()
        assert errors == []
    finally:
        context.close()


def test_a_zone_named_two_ways_is_one_zone(browser: Browser, server: str) -> None:
    """Chromium names India's zone Asia/Calcutta, the API Asia/Kolkata: one zone, shown by
    its current name, whose events get no "other zone" label or note (either name)."""
    context = browser.new_context(
        timezone_id="Asia/Kolkata", locale="en-GB", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "priya")
        api = api_client(server, "priya", context)
        for title, zone in (("Standup", "Asia/Kolkata"), ("Retro", "Asia/Calcutta")):
            make_event(
                api,
                title=title,
                start_time="2026-06-10T10:00:00+05:30",
                end_time="2026-06-10T10:30:00+05:30",
                timezone=zone,
                is_recurring=True,
                recurrence_pattern="FREQ=DAILY;COUNT=2",
            )
        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.locator(".zone")).to_have_text("Times in Asia/Kolkata")
        expect(events_on(page, "2026-06-10")).to_have_count(2)
        expect(page.locator(".ne-zone")).to_have_count(0)
        open_occurrence(page, "2026-06-10", "Retro")
        expect(page.get_by_role("dialog").get_by_label("Title")).to_have_value("Retro")
        expect(page.locator(".zone-note")).to_have_count(0)
        assert errors == []
    finally:
        context.close()


# The events whose text reaches out of their box: [title, how far (px)].
SPILLS = """() => [...document.querySelectorAll('.calendar .fc-event')].map((el) => {
  const box = el.getBoundingClientRect();
  const body = el.querySelector('.ne-body').getBoundingClientRect();
  const out = Math.max(body.bottom - box.bottom, body.right - box.right, box.left - body.left, 0);
  return [el.querySelector('.ne-title').textContent.slice(0, 20), Math.round(out)];
}).filter(([, out]) => out > 1)"""


def test_event_text_stays_in_its_box(browser: Browser, server: str) -> None:
    """A 200-character title in half an hour, and eight events at once: the text is cut at
    the box's edge. It ran on below the box (white text on the white grid)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "lena")
        api = api_client(server, "lena", context)
        long = ("Quarterly planning with the extended leadership team and all directors " * 3)[:200]
        make_event(
            api,
            title=long,
            start_time="2026-06-09T10:00:00+02:00",
            end_time="2026-06-09T10:30:00+02:00",
        )
        for n in range(8):
            make_event(
                api,
                title=f"Overlapping review number {n + 1} with everyone",
                start_time="2026-06-10T10:00:00+02:00",
                end_time="2026-06-10T11:00:00+02:00",
            )
        for view in (f"week/{WEEK}", "day/2026-06-10", f"month/{WEEK}"):
            page.goto(f"{server}/#/{view}")
            expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
            expect(page.locator(".calendar .fc-event").first).to_be_visible()
            assert page.evaluate(SPILLS) == [], view
        assert errors == []
    finally:
        context.close()


def test_the_time_fields_fit_in_the_dialog(browser: Browser, server: str) -> None:
    """At 1280 and 1440 px the "Ends" field stuck out ~15 px past the dialog's edge."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "fiona")
        for width in (1280, 1440, 390):
            page.set_viewport_size({"width": width, "height": 860})
            page.goto(f"{server}/#/week/{WEEK}")
            page.get_by_role("button", name="New event").click()
            dialog = page.get_by_role("dialog", name="New event")
            expect(dialog.get_by_label("Ends")).to_be_visible()
            wide = dialog.evaluate(
                """el => { const form = el.querySelector('form').getBoundingClientRect();
                  return [...el.querySelectorAll('input, select, textarea')]
                    .filter((c) => c.getBoundingClientRect().width > 0)
                    .filter((c) => c.getBoundingClientRect().right > form.right + 1)
                    .map((c) => c.name); }"""
            )
            assert wide == [], width
            assert dialog.evaluate("el => el.scrollWidth <= el.clientWidth"), width
            page.keyboard.press("Escape")
        assert errors == []
    finally:
        context.close()


# Whether the first letter of an event's title is within what its box shows.
FIRST_LETTER_SHOWN = """el => {
  const title = el.querySelector('.ne-title');
  const range = document.createRange();
  range.setStart(title.firstChild, 0);
  range.setEnd(title.firstChild, 1);
  const letter = range.getBoundingClientRect();
  const shown = title.getBoundingClientRect();
  return letter.left >= shown.left - 1 && letter.right <= shown.right + 1;
}"""


def test_a_right_to_left_title_is_cut_at_its_end(browser: Browser, server: str) -> None:
    """An Arabic title too long for its day in the month: its beginning shows (at the
    right), its end is cut. It was laid out left to right and cut from its beginning."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "samir")
        api = api_client(server, "samir", context)
        title = "اجتماع الفريق الأسبوعي لمناقشة الخطة السنوية والميزانية"
        make_event(
            api,
            title=title,
            start_time="2026-06-10T10:00:00+02:00",
            end_time="2026-06-10T11:00:00+02:00",
        )
        page.goto(f"{server}/#/month/{WEEK}")
        shown = events_on(page, "2026-06-10")
        expect(shown).to_contain_text("اجتماع")
        page.wait_for_function(  # too long for its day: cut
            """() => { const t = document.querySelector(
              '.fc-daygrid-day[data-date="2026-06-10"] .ne-title');
              return t && t.scrollWidth > t.clientWidth; }"""
        )
        assert shown.evaluate(FIRST_LETTER_SHOWN)
        page.goto(f"{server}/#/search/{title.split()[0]}")
        expect(page.locator(".result .what")).to_have_attribute("dir", "auto")
        assert errors == []
    finally:
        context.close()


def test_cancelling_an_occurrence_asks_with_unambiguous_buttons(
    browser: Browser, server: str
) -> None:
    """The question "Cancel this occurrence?" offered "Cancel" and "Cancel this occurrence":
    the way out is "Keep it", and it keeps it."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "carla")
        api = api_client(server, "carla", context)
        yoga = make_event(
            api,
            title="Yoga",
            start_time="2026-06-08T18:00:00+02:00",
            end_time="2026-06-08T19:00:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY;COUNT=5",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        open_occurrence(page, "2026-06-10", "Yoga")
        page.get_by_role("dialog").get_by_role("button", name="Cancel this occurrence").click()
        ask = page.get_by_role("alertdialog")
        expect(ask.get_by_role("button")).to_have_text(["×", "Keep it", "Cancel this occurrence"])
        ask.get_by_role("button", name="Keep it").click()
        expect(page.get_by_role("alertdialog")).to_have_count(0)
        expect(page.get_by_role("dialog", name="Edit event")).to_be_visible()
        assert api.get(f"/events/{yoga['id']}").json()["exdates"] == []
        page.get_by_role("dialog").get_by_role("button", name="Cancel this occurrence").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Cancel this occurrence").click()
        expect(events_on(page, "2026-06-10", "Yoga")).to_have_count(0)
        expect(events_on(page, "2026-06-11", "Yoga")).to_have_count(1)
        assert errors == []
    finally:
        context.close()


def test_monthly_on_the_second_tuesday_or_the_last_friday(browser: Browser, server: str) -> None:
    """The repeat list offers the start date's weekday of the month, as Google Calendar
    does: "Monthly on the second Tuesday"; "the last Friday" in a month's last week."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "tess")
        api = api_client(server, "tess", context)
        page.goto(f"{server}/#/week/{WEEK}")
        page.get_by_role("button", name="New event").click()
        dialog = page.get_by_role("dialog", name="New event")
        repeats = dialog.get_by_label("Repeats")
        offered = repeats.locator("option:not([hidden])")
        dialog.get_by_label("Starts").fill("2026-06-26T09:00")  # the 4th and last Friday
        expect(offered).to_contain_text(
            ["Monthly", "Monthly on the fourth Friday", "Monthly on the last Friday"]
        )
        dialog.get_by_label("Starts").fill("2026-06-30T09:00")  # a fifth Tuesday: the last
        expect(offered).to_have_count(8)
        expect(offered).to_contain_text(["Monthly on the last Tuesday"])
        dialog.get_by_label("Starts").fill("2026-06-09T09:00")
        dialog.get_by_label("Ends").fill("2026-06-09T10:00")
        expect(offered).to_contain_text(["Monthly on the second Tuesday"])
        expect(repeats.locator("option", has_text="last")).to_be_hidden()
        dialog.get_by_label("Title").fill("Book club")
        repeats.select_option(label="Monthly on the second Tuesday")
        dialog.get_by_label("Number of occurrences").fill("3")
        dialog.get_by_role("button", name="Create").click()
        expect(page.get_by_role("dialog")).to_have_count(0)

        made = api.get("/events").json()["items"][0]
        assert set(made["recurrence_pattern"].split(";")) == {
            "FREQ=MONTHLY",
            "BYDAY=2TU",
            "COUNT=3",
        }
        july = api.get(
            "/events",
            params={"start_time": "2026-07-01T00:00:00Z", "end_time": "2026-08-01T00:00:00Z"},
        ).json()["items"]
        assert [o["start_time"] for o in july] == ["2026-07-14T07:00:00Z"]

        open_occurrence(page, "2026-06-09", "Book club")
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("All occurrences").check()
        expect(dialog.get_by_label("Repeats")).to_have_value("monthly-nth")
        expect(dialog.get_by_label("Repeats").locator("option:checked")).to_have_text(
            "Monthly on the second Tuesday"
        )
        expect(dialog.get_by_label("Number of occurrences")).to_have_value("3")
        assert errors == []
    finally:
        context.close()


def test_an_occurrence_moved_with_the_following_ones(browser: Browser, server: str) -> None:
    """Moving an occurrence of a series offers "This and following", as the dialog does:
    the series ends before it, and a new one goes on from its new time."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "fred")
        api = api_client(server, "fred", context)
        standup = make_event(
            api,
            title="Standup",
            start_time="2026-06-08T09:00:00+02:00",
            end_time="2026-06-08T09:30:00+02:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY;COUNT=5",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        expect(page.locator(".calendar")).not_to_have_attribute("aria-busy", "true")
        events_on(page, "2026-06-10", "Standup").focus()
        page.keyboard.press("ArrowDown")
        ask = page.get_by_role("dialog", name="Move “Standup”")
        expect(ask.get_by_role("button")).to_have_text(
            ["×", "Cancel", "All occurrences", "This and following", "Only this occurrence"]
        )
        ask.get_by_role("button", name="This and following").click()
        expect(page.locator("#notice")).to_contain_text("Moved “Standup”")
        for date, time in (("08", "09:00"), ("09", "09:00"), ("10", "09:15"), ("12", "09:15")):
            expect(events_on(page, f"2026-06-{date}", "Standup")).to_contain_text(time)
        expect(events_on(page, "2026-06-10", "Standup")).to_be_focused()  # presses add up
        rest = api.get(
            "/events",
            params={"start_time": "2026-06-08T00:00:00Z", "end_time": "2026-06-13T00:00:00Z"},
        ).json()["items"]
        assert [o["start_time"] for o in rest] == [
            "2026-06-08T07:00:00Z",
            "2026-06-09T07:00:00Z",
            "2026-06-10T07:15:00Z",
            "2026-06-11T07:15:00Z",
            "2026-06-12T07:15:00Z",
        ]
        assert {o["id"] for o in rest[2:]} != {standup["id"]}
        assert errors == []
    finally:
        context.close()
