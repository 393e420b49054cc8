"""Invitations and answers between two people, "find a time" for two, app passwords in the
settings, and a suggested free time picked after a clash (SPEC §12, §13, §7, §15)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.steps import (
    api_client,
    drag_by,
    events_on,
    make_event,
    minutes_px,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)

WEEK = "2027-05-10"  # a Monday; Berlin is on summer time (UTC+2)


def invitations_link(page: Page) -> Locator:
    return page.locator("#invitations-link")


def fits(page: Page, what: Locator) -> None:
    """Nothing in `what` is wider than it (readable at 360 px without scrolling sideways)."""
    wide = what.evaluate(
        """el => [...el.querySelectorAll('*')]
            .filter((c) => c.getBoundingClientRect().right > el.getBoundingClientRect().right + 1)
            .map((c) => `${c.tagName}.${c.className}: ${c.getBoundingClientRect().right}`)"""
    )
    assert wide == [] and what.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), wide


def test_bob_is_invited_answers_and_alice_sees_it(
    browser: Browser, server: str, screenshots: Path
) -> None:
    alice_ctx, bob_ctx = new_context(browser), new_context(browser)
    alice, bob = alice_ctx.new_page(), bob_ctx.new_page()
    alice_errors, bob_errors = watch_errors(alice), watch_errors(bob)
    try:
        sign_up(alice, server, "alice")
        sign_up(bob, server, "bob")
        api = api_client(server, "alice", alice_ctx)
        make_event(
            api,
            title="Standup",
            start_time="2027-05-10T09:00:00+02:00",
            end_time="2027-05-10T09:30:00+02:00",
            timezone="Europe/Berlin",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;COUNT=4",
        )
        expect(invitations_link(bob)).to_have_accessible_name("Invitations")

        # Alice invites bob from the event's dialog.
        alice.goto(f"{server}/#/week/{WEEK}")
        open_occurrence(alice, "2027-05-10", "Standup")
        people = alice.get_by_role("dialog").get_by_role("group", name="People invited")
        people.get_by_label("Invite people").fill("bob")
        people.get_by_role("button", name="Invite").click()
        expect(people).to_contain_text("Invited bob.")
        expect(people.get_by_role("listitem").filter(has_text="bob")).to_contain_text(
            "no answer yet"
        )
        expect(people.get_by_role("listitem").filter(has_text="alice")).to_contain_text("organizer")
        alice.keyboard.press("Escape")
        expect(alice.get_by_role("dialog")).to_have_count(0)

        # Bob sees it waiting (live, without a reload), and accepts the series from the list.
        expect(invitations_link(bob)).to_have_accessible_name(
            "Invitations, 1 waiting for an answer"
        )
        # On his grid it is outlined and said to be unanswered.
        bob.goto(f"{server}/#/week/{WEEK}")
        standup = events_on(bob, "2027-05-10", "Standup")
        expect(standup).to_have_class(re.compile(r"\bne-unanswered\b"))
        expect(standup).to_have_attribute("aria-label", re.compile("invitation not answered yet"))
        standup.screenshot(path=screenshots / "invitation-unanswered.png")
        invitations_link(bob).click()
        waiting = bob.get_by_role("list", name="Invitations waiting for an answer")
        expect(waiting).to_contain_text("Standup")
        expect(waiting).to_contain_text("from alice")
        waiting.get_by_role("button", name="Accept “Standup”").click()
        expect(waiting).to_contain_text("No invitations waiting for an answer.")
        expect(invitations_link(bob)).to_have_accessible_name("Invitations")

        # … and declines just the second week, in that occurrence's dialog.
        bob.goto(f"{server}/#/week/2027-05-17")
        expect(events_on(bob, "2027-05-17", "Standup")).not_to_have_class(
            re.compile(r"\bne-unanswered\b")
        )
        open_occurrence(bob, "2027-05-17", "Standup")
        mine = bob.get_by_role("dialog").get_by_role("group", name="People invited")
        expect(mine).to_contain_text("Your answer for the series: accepted.")
        mine.get_by_label("Answer for this occurrence only").check()
        mine.get_by_role("button", name="Decline").click()
        expect(mine).to_contain_text("You declined this occurrence.")
        expect(mine).to_contain_text("Your answer for the series: accepted.")
        bob.set_viewport_size({"width": 360, "height": 780})
        fits(bob, bob.get_by_role("dialog"))
        mine.scroll_into_view_if_needed()
        bob.get_by_role("dialog").screenshot(path=screenshots / "invitation-360.png")

        # Alice sees bob's answers: the series in the dialog, the occurrence in the history.
        alice.reload()
        open_occurrence(alice, "2027-05-10", "Standup")
        people = alice.get_by_role("dialog").get_by_role("group", name="People invited")
        expect(people.get_by_role("listitem").filter(has_text="bob")).to_contain_text("accepted")
        expect(people).to_contain_text("Answers for single occurrences are in the history")
        alice.get_by_role("dialog").get_by_role("link", name="History", exact=True).click()
        expect(alice.locator("main")).to_contain_text(
            re.compile(r"bob declined for the occurrence of Mon,? 17 May")
        )
        expect(alice.locator("main")).to_contain_text("bob accepted for the whole series")

        # Alice takes bob off the invitation (he keeps his role, as the API says).
        alice.goto(f"{server}/#/week/{WEEK}")
        open_occurrence(alice, "2027-05-10", "Standup")
        people = alice.get_by_role("dialog").get_by_role("group", name="People invited")
        people.get_by_role("button", name="Remove bob from the invitation").click()
        expect(people).to_contain_text("bob is no longer invited.")
        expect(people.get_by_role("listitem").filter(has_text="bob")).to_have_count(0)
        assert alice_errors == [] and bob_errors == []
    finally:
        alice_ctx.close()
        bob_ctx.close()


def test_find_a_time_for_two_creates_and_invites(
    browser: Browser, server: str, screenshots: Path
) -> None:
    carol_ctx, dan_ctx = new_context(browser), new_context(browser)
    carol, dan = carol_ctx.new_page(), dan_ctx.new_page()
    errors = watch_errors(carol)
    try:
        sign_up(carol, server, "carol")
        sign_up(dan, server, "dan")
        api = api_client(server, "carol", carol_ctx)
        dan_api = api_client(server, "dan", dan_ctx)
        # Contacts (find-time is for people who share an event), and busy mornings:
        # carol until 10:00 on Tuesday, dan until 11:00.
        shared = make_event(
            api,
            title="Kick-off",
            start_time="2027-05-11T08:00:00+02:00",
            end_time="2027-05-11T10:00:00+02:00",
        )
        dan_id = dan_api.get("/auth/me").json()["id"]
        ok = api.post(
            f"/events/{shared['id']}/share",
            json={"users": [{"user_id": dan_id, "role": "viewer"}]},
        )
        assert ok.status_code == 200, ok.text
        make_event(
            dan_api,
            title="Dentist",
            start_time="2027-05-11T10:00:00+02:00",
            end_time="2027-05-11T11:00:00+02:00",
        )
        # Monday is taken for both (all day, busy).
        make_event(
            api,
            title="Workshop",
            start_time="2027-05-10T08:00:00+02:00",
            end_time="2027-05-10T18:00:00+02:00",
        )

        carol.goto(f"{server}/#/week/{WEEK}")
        carol.get_by_role("button", name="New event").click()
        dialog = carol.get_by_role("dialog", name="New event")
        dialog.get_by_label("Title").fill("Planning")
        dialog.get_by_text("Find a time with others").click()
        # Someone who shares nothing with carol is named, not numbered, and nothing is said
        # about their calendar.
        dialog.get_by_label("People", exact=True).fill("dan, 99999")
        dialog.get_by_role("button", name="Find times").click()
        refused = dialog.get_by_role("alert").filter(has_text="does not share")
        expect(refused).to_contain_text("user 99999 does not share any event with you")
        expect(refused).not_to_contain_text("_")
        dialog.get_by_label("People", exact=True).fill("dan")
        dialog.get_by_label("Length").select_option(label="1 hour")
        dialog.get_by_label("From", exact=True).fill(WEEK)
        dialog.get_by_role("button", name="Find times").click()
        expect(dialog).to_contain_text("Everyone (you, dan) is free at:")
        first = dialog.locator(".find-time .suggestions button").first
        # The earliest common hour: Tuesday 11:00 (Monday's workshop, Tuesday's mornings).
        expect(first).to_have_text(re.compile(r"Tue,? 11 May, 11:00–12:00"))
        dialog.screenshot(path=screenshots / "find-time.png")
        carol.set_viewport_size({"width": 360, "height": 780})
        fits(carol, dialog)
        # By keyboard: the first slot has the focus; Enter creates the event there.
        expect(first).to_be_focused()
        carol.keyboard.press("Enter")
        expect(carol.locator("#notice")).to_contain_text("Event created. Invited dan.")
        carol.set_viewport_size({"width": 1280, "height": 860})
        expect(events_on(carol, "2027-05-11", "Planning")).to_contain_text("11:00–12:00")

        made = [
            e
            for e in api.get("/events", params={"limit": 50}).json()["items"]
            if e["title"] == "Planning"
        ]
        assert len(made) == 1
        assert made[0]["start_time"] == "2027-05-11T09:00:00Z"
        assert [(a["username"], a["response"]) for a in made[0]["attendees"]] == [
            ("carol", "accepted"),
            ("dan", "needs_action"),
        ]
        waiting = dan_api.get("/invitations", params={"response": "needs_action"}).json()
        assert [e["title"] for e in waiting["items"]] == ["Planning"]
        assert errors == []
    finally:
        carol_ctx.close()
        dan_ctx.close()


def test_app_passwords_and_a_suggested_time_after_a_clash(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "erin")
        api = api_client(server, "erin", context)

        # App passwords: made (shown once, with Copy), listed, revoked.
        page.goto(f"{server}/#/settings")
        apps = page.get_by_role("region", name="App passwords (CalDAV)")
        apps.get_by_label("Name of the app").fill("Thunderbird")
        apps.get_by_role("button", name="Create app password").click()
        secret = apps.get_by_role("textbox", name="App password", exact=True)
        expect(secret).to_have_value(re.compile(r"^neap_"))
        expect(apps).to_contain_text("shown only now")
        expect(apps.get_by_role("button", name="Copy")).to_be_visible()
        password = secret.input_value()
        listed = apps.get_by_role("list", name="App passwords")
        expect(listed).to_contain_text("Thunderbird")
        dav = api.request(
            "PROPFIND", f"{server}/dav/", auth=("erin", password), headers={"Depth": "0"}
        )
        assert dav.status_code == 207, dav.text
        apps.get_by_role("button", name="Revoke Thunderbird").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
        expect(listed).to_contain_text("No app passwords yet.")
        expect(apps.get_by_role("textbox", name="App password", exact=True)).to_have_count(0)
        assert api.get("/app-passwords").json()["items"] == []
        gone = api.request(
            "PROPFIND", f"{server}/dav/", auth=("erin", password), headers={"Depth": "0"}
        )
        assert gone.status_code == 401

        # A drop onto another event: the clash offers free times; picking one moves it there.
        make_event(
            api,
            title="Lunch",
            start_time="2027-05-13T12:00:00+02:00",
            end_time="2027-05-13T13:00:00+02:00",
        )
        call = make_event(
            api,
            title="Call",
            start_time="2027-05-13T09:00:00+02:00",
            end_time="2027-05-13T10:00:00+02:00",
        )
        page.goto(f"{server}/#/week/{WEEK}")
        drag_by(page, events_on(page, "2027-05-13", "Call"), 0, minutes_px(page, 180))
        clash = page.get_by_role("dialog", name="“Call” would overlap")
        expect(clash).to_contain_text("Lunch")
        offered = clash.locator(".suggestions button")
        # From the clash on, 15-minute steps, free for me: right after lunch.
        expect(offered.first).to_have_text(re.compile(r"13:00–14:00$"))
        offered.first.click()
        expect(page.locator("#notice")).to_contain_text("Moved “Call”")
        expect(events_on(page, "2027-05-13", "Call")).to_contain_text("13:00–14:00")
        assert api.get(f"/events/{call['id']}").json()["start_time"] == "2027-05-13T11:00:00Z"
        assert errors == []
    finally:
        context.close()
