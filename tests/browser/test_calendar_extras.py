"""My reminders fired as notifications, the settings page (time zone, feed URLs, webhooks), the
history page's readable occurrence edits, an edit made in a calendar app shown as its author's
version, and errors that read as sentences (SPEC §6, §12, §14, §15)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, expect

from tests.browser.steps import (
    ZONE,
    api_client,
    make_event,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)

# Records what the page asks the browser to notify (the real Notification is still shown).
RECORD_NOTIFICATIONS = """
window.__notified = [];
const Real = window.Notification;
window.Notification = class extends Real {
  constructor(title, options) {
    super(title, options);
    window.__notified.push({title, body: options?.body});
  }
};
Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
window.Notification.requestPermission = (...args) => Real.requestPermission(...args);
"""


ALL_DAY_REMINDER = """async () => (await import("/app/reminders.js")).fireReminder({
  type: "reminder.due", event_id: 1, occurrence_start: "2027-01-14T23:00:00Z", title: "Holiday",
  minutes_before: 60, all_day: true, start_date: "2027-01-15", seq: 1,
})"""


def test_my_reminder_fires_as_a_notification(browser: Browser, server: str) -> None:
    context = new_context(browser)
    context.grant_permissions(["notifications"], origin=server)
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "hana")
        api = api_client(server, "hana", context)
        start = (datetime.now(UTC) + timedelta(seconds=25)).replace(microsecond=0)
        event = make_event(
            api,
            title="Stretch",
            start_time=start.isoformat(),
            end_time=(start + timedelta(minutes=10)).isoformat(),
        )
        local = start.astimezone(ZoneInfo(ZONE))
        page.goto(f"{server}/#/day/{local.date().isoformat()}")
        open_occurrence(page, local.date().isoformat(), "Stretch")
        dialog = page.get_by_role("dialog")
        reminders = dialog.get_by_role("group", name="My reminders")
        expect(reminders).to_contain_text("None")
        reminders.get_by_label("New reminder").select_option(label="At the start")
        reminders.get_by_role("button", name="Add reminder").click()
        expect(reminders).to_contain_text("Reminders saved.")
        expect(reminders.get_by_role("list")).to_contain_text("At the start")
        saved = api.get(f"/events/{event['id']}").json()["my_reminders"]
        assert saved == [{"minutes_before": 0}]
        dialog.get_by_role("button", name="Close").click()

        # At the start, the live `reminder.due` becomes a notification and a message.
        expect(page.locator("#notice")).to_contain_text(
            "Reminder: “Stretch” starts now", timeout=45000
        )
        notified = page.evaluate("window.__notified")
        assert [n["title"] for n in notified] == ["Stretch"]

        # An all-day event's `reminder.due` (as tests/api/test_all_day_reminders.py has the
        # server send it) names its day, not a midnight's time.
        page.evaluate(ALL_DAY_REMINDER)
        expect(page.locator("#notice")).to_contain_text(
            "Reminder: “Holiday” is on Fri 15 Jan (all day), in 1 hour."
        )
        assert errors == []
    finally:
        context.close()


def test_settings_feed_urls_and_webhooks(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "ivan")
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Settings")

        feeds = page.locator("section", has=page.get_by_role("heading", name="Calendar feed URLs"))
        feeds.get_by_label("Name of the new feed URL").fill("Phone")
        feeds.get_by_role("button", name="Create feed URL").click()
        url = feeds.get_by_label("Feed URL", exact=True).input_value()
        assert re.search(r"/api/v1/calendar\.ics\?token=", url), url
        expect(feeds.get_by_role("list", name="Feed URLs")).to_contain_text("Phone")
        with httpx.Client() as client:
            feed = client.get(url)
            assert feed.status_code == 200 and feed.text.startswith("BEGIN:VCALENDAR")
            feeds.get_by_role("button", name="Revoke").click()
            page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
            expect(feeds).to_contain_text("No feed URLs yet.")
            assert client.get(url).status_code == 404

        hooks = page.locator("section", has=page.get_by_role("heading", name="Webhooks"))
        hooks.get_by_label("Webhook URL").fill("https://example.com/hooks/neo")
        hooks.get_by_label("Description").fill("Team bot")
        hooks.get_by_role("button", name="Add webhook").click()
        expect(hooks.get_by_label("Signing secret")).not_to_have_value("")
        listed = hooks.get_by_role("list", name="Webhooks")
        expect(listed).to_contain_text("https://example.com/hooks/neo")
        expect(listed).to_contain_text("active")
        listed.get_by_role("button", name="Pause").click()
        expect(listed).to_contain_text("paused")
        listed.get_by_role("button", name="Delete").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
        expect(hooks).to_contain_text("No webhooks yet.")

        # A refused URL reads as a sentence.
        hooks.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hook")
        hooks.get_by_role("button", name="Add webhook").click()
        error = hooks.locator(".form-error")
        expect(error).to_be_visible()
        expect(error).not_to_contain_text("_")
        assert errors == []
    finally:
        context.close()


def _zone_of(client: httpx.Client) -> str | None:
    answer = client.get("/auth/me/settings")
    assert answer.status_code == 200, answer.text
    zone: str | None = answer.json()["timezone"]
    return zone


def test_the_account_takes_the_browsers_zone_then_the_one_chosen(
    browser: Browser, server: str
) -> None:
    """Where a calendar app's all-day events fall (auth/preferences.py): the browser's zone
    from the first sign-in, until the user picks another in Settings."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "zora")
        client = api_client(server, "zora", context)
        deadline = time.monotonic() + 15
        while _zone_of(client) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _zone_of(client) == ZONE

        page.get_by_role("link", name="Settings").click()
        section = page.locator("section", has=page.get_by_role("heading", name="Time zone"))
        field = section.get_by_label("Your time zone")
        expect(field).to_have_value(ZONE)
        field.fill("Nowhere/Else")
        section.get_by_role("button", name="Save time zone").click()
        expect(section.locator(".form-error")).to_be_visible()
        expect(section.locator(".form-error")).not_to_contain_text("_")
        assert _zone_of(client) == ZONE

        field.fill("America/New_York")
        section.get_by_role("button", name="Save time zone").click()
        expect(section).to_contain_text("This browser is in Europe/Berlin")
        assert _zone_of(client) == "America/New_York"
        page.reload()  # a resumed session keeps the zone chosen
        expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
        assert _zone_of(client) == "America/New_York"
        assert errors == []
    finally:
        context.close()


def test_history_reads_naturally_and_errors_are_sentences(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "jane")
        api = api_client(server, "jane", context)
        long_rule = (
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYHOUR=18;BYMINUTE=0;WKST=MO;COUNT=40"
        )
        yoga = make_event(
            api,
            title="Yoga",
            start_time="2027-03-22T18:00:00+01:00",
            end_time="2027-03-22T19:00:00+01:00",
            timezone=ZONE,
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;COUNT=6",
        )
        base = f"/events/{yoga['id']}/instances"
        api.put(
            f"{base}/2027-03-29T16:00:00Z",
            json={
                "start_time": "2027-03-29T19:00:00+02:00",
                "end_time": "2027-03-29T20:00:00+02:00",
                "title": "Yoga late",
            },
        ).raise_for_status()
        api.delete(f"{base}/2027-04-12T16:00:00Z").raise_for_status()
        api.put(
            f"{base}/2027-04-19T16:00:00Z",
            params={"scope": "following"},
            json={"title": "Yoga in the park"},
        ).raise_for_status()
        api.patch(
            f"/events/{yoga['id']}", json={"recurrence_pattern": long_rule}
        ).raise_for_status()

        page.goto(f"{server}/#/events/{yoga['id']}/history")
        expect(page.get_by_role("heading", level=1)).to_have_text("History of “Yoga”")
        rows = page.locator("table.history")
        expect(rows.locator("tr[data-version='2']")).to_contain_text(
            "The occurrence of Mon 29 Mar, 18:00: moved to 19:00–20:00, title “Yoga late”"
        )
        expect(rows.locator("tr[data-version='3']")).to_contain_text(
            "The occurrence of Mon 12 Apr, 18:00 was cancelled"
        )
        expect(rows.locator("tr[data-version='4']")).to_contain_text("The series now ends")
        expect(rows.locator("tr[data-version='5']")).to_contain_text(
            "Repeats every week on Mon, Tue, Wed, Thu, Fri, 40 times"
        )

        # Compare, then roll back: the comparison shown is the rollback's, not the old one.
        page.get_by_role("button", name="Compare selected versions").click()
        expect(page.locator("#diff-title")).to_have_text("Version 4 → version 5")
        page.locator("tr[data-version='2']").get_by_role("button", name="Roll back").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Roll back to version 2").click()
        expect(page.locator("tr[data-version='6']")).to_contain_text("rolled back")
        expect(page.locator("#diff-title")).to_have_text("Version 5 → version 6")

        # At 360 px a long rule wraps instead of widening the page.
        page.set_viewport_size({"width": 360, "height": 740})
        page.get_by_role("radio", name="Compare from version 4").check()
        page.get_by_role("radio", name="Compare to version 5").check()
        page.get_by_role("button", name="Compare selected versions").click()
        expect(page.locator("table.diff")).to_contain_text("BYDAY=MO,TU,WE,TH,FR;WKST=MO")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the history page is {width} px wide at 360 px"

        # The form: the title stops at the API's limit; errors never show field names.
        page.set_viewport_size({"width": 1280, "height": 860})
        page.goto(f"{server}/#/week/2027-03-22")
        page.get_by_role("button", name="New event").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Title").fill("x" * 250)
        expect(dialog.get_by_label("Title")).to_have_value("x" * 200)
        dialog.get_by_label("Title").fill("Broken rule")
        dialog.get_by_label("Repeats", exact=True).select_option("custom")
        dialog.get_by_label("Rule (RFC 5545 RRULE)").fill("FREQ=SOMETIMES")
        dialog.get_by_role("button", name="Create").click()
        error = dialog.locator(".form-error")
        expect(error).to_be_visible()
        for leak in ("_", "Value error", "{", "recurrence pattern"):
            expect(error).not_to_contain_text(leak)
        dialog.get_by_label("Repeats", exact=True).select_option("none")
        dialog.get_by_label("Starts").fill("2027-03-23T10:00")
        dialog.get_by_label("Ends").fill("2027-03-23T09:00")
        dialog.get_by_role("button", name="Create").click()
        expect(error).to_have_text("The end must be after the start.")
        assert errors == []
    finally:
        context.close()


def test_an_edit_made_in_a_calendar_app_is_a_version_by_its_author(
    browser: Browser, server: str
) -> None:
    """Issue #21's "done when": an edit made over CalDAV with an app password shows in the
    web client's history page as a new version by that user."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "lena")
        api = api_client(server, "lena", context)
        secret = api.post("/app-passwords", json={"name": "Phone"}).json()["password"]
        dav = httpx.Client(base_url=server, auth=("lena", secret), timeout=15)
        context.on("close", lambda _: dav.close())
        path = "/dav/calendars/lena/events/swim.ics"
        body = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//EN\r\nBEGIN:VEVENT\r\n"
            "UID:swim-1\r\nDTSTAMP:20270301T000000Z\r\nDTSTART;TZID=Europe/Berlin:20270310T070000\r\n"
            "DTEND;TZID=Europe/Berlin:20270310T080000\r\nSUMMARY:{title}\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n"
        )
        headers = {"Content-Type": "text/calendar"}
        made = dav.put(path, content=body.format(title="Swim"), headers=headers)
        assert made.status_code == 201, made.text
        edited = dav.put(path, content=body.format(title="Swim at the lake"), headers=headers)
        assert edited.status_code == 204, edited.text
        [event] = api.get("/events").json()["items"]

        page.goto(f"{server}/#/events/{event['id']}/history")
        expect(page.get_by_role("heading", level=1)).to_have_text("History of “Swim at the lake”")
        row = page.locator("table.history tr[data-version='2']")
        expect(row).to_contain_text("v2 (current)")
        expect(row.locator("td").nth(4)).to_have_text("lena")
        expect(row).to_contain_text("Swim at the lake")
        assert errors == []
    finally:
        context.close()
