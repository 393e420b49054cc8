"""The web client in a real browser against a real server (SPEC §12).

One story with two people, each in their own browser context: sign up, a daily series across
the end of daylight-saving time, sharing, an edit seen live by the other person, the history
page with a side-by-side comparison, rollback.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Locator, expect

from tests.browser.steps import (
    LIVE_TIMEOUT,
    PASSWORD,
    ZONE,
    api_client,
    events_on,
    new_context,
    open_occurrence,
    quiet,
    sign_up,
    watch_errors,
)


def test_two_people_plan_share_edit_live_and_roll_back(
    browser: Browser, server: str, screenshots: Path
) -> None:
    alice_context = new_context(browser)
    bob_context = new_context(browser)
    alice = alice_context.new_page()
    bob = bob_context.new_page()
    alice_errors = watch_errors(alice)
    bob_errors = watch_errors(bob)
    try:
        sign_up(alice, server, "alice")

        # A daily 09:00 series from Thursday to the next Wednesday, across the end of DST.
        alice.goto(f"{server}/#/week/2026-10-22")
        expect(alice.get_by_role("heading", level=1)).to_have_text("Week of 19 October 2026")
        alice.get_by_role("button", name="New event").click()
        dialog = alice.get_by_role("dialog")
        dialog.get_by_label("Title").fill("Team standup")
        dialog.get_by_label("Starts").fill("2026-10-22T09:00")
        dialog.get_by_label("Ends").fill("2026-10-22T09:30")
        dialog.get_by_label("Description").fill("Daily sync with the team")
        dialog.get_by_label("Repeats", exact=True).select_option("daily")
        dialog.get_by_label("Number of occurrences").fill("7")
        expect(dialog.get_by_label("Time zone")).to_have_value(ZONE)
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()
        for date in ("2026-10-22", "2026-10-23", "2026-10-24", "2026-10-25"):  # 25th: CET
            expect(events_on(alice, date)).to_have_text(re.compile(r"^09:00–09:30Team standup"))
        expect(events_on(alice, "2026-10-21")).to_have_count(0)
        quiet(alice)
        alice.screenshot(path=screenshots / "week-dst.png")
        alice.get_by_role("button", name="Next week").click()
        expect(alice.get_by_role("heading", level=1)).to_have_text("Week of 26 October 2026")
        for date in ("2026-10-26", "2026-10-27", "2026-10-28"):
            expect(events_on(alice, date)).to_have_text(re.compile(r"^09:00–09:30Team standup"))
        expect(events_on(alice, "2026-10-29")).to_have_count(0)
        alice.get_by_role("button", name="Previous week").click()

        # Bob signs up in his own browser; Alice shares the series with him as an editor.
        sign_up(bob, server, "bob")
        open_occurrence(alice, "2026-10-22")
        alice.get_by_role("button", name="Share…").click()
        share = alice.locator("dialog.share")
        share.get_by_label("Username or email").fill("BOB@example.com")
        share.get_by_label("Role", exact=True).select_option("editor")
        share.get_by_role("button", name="Share", exact=True).click()
        expect(share.get_by_label("Role for bob")).to_have_value("editor")
        share.get_by_role("button", name="Close").click()
        alice.get_by_role("dialog").get_by_role("button", name="Close").click()
        expect(alice.get_by_role("dialog")).to_have_count(0)

        # Bob edits the whole series; Alice sees it without reloading.
        bob.goto(f"{server}/#/week/2026-10-22")
        open_occurrence(bob, "2026-10-23")
        edit = bob.get_by_role("dialog")
        edit.get_by_label("All occurrences").check()
        edit.get_by_label("Title").fill("Team sync")
        edit.get_by_label("Description").fill("Daily sync with the whole team")
        edit.get_by_role("button", name="Save").click()
        expect(edit).to_be_hidden()
        expect(events_on(alice, "2026-10-24")).to_have_text(
            re.compile("^09:00–09:30Team sync"), timeout=LIVE_TIMEOUT
        )

        # The history page: both versions and the sharing change, compared side by side.
        open_occurrence(alice, "2026-10-22")
        alice.get_by_role("dialog").get_by_role("link", name="History").click()
        expect(alice.get_by_role("heading", level=1)).to_have_text("History of “Team sync”")
        rows = alice.locator("table.history tbody tr")
        expect(rows).to_have_count(3)
        expect(alice.locator("tr.sharing")).to_contain_text("shared with bob as editor")
        expect(alice.locator("tr[data-version='2']")).to_contain_text("bob")
        alice.get_by_role("button", name="Compare selected versions").click()
        diff = alice.locator("table.diff")
        expect(diff.locator("tr[data-field='description'] ins")).to_have_text("whole ")
        expect(diff.locator("tr[data-field='title'] td.old del")).to_have_text("standup")
        expect(diff.locator("tr[data-field='title'] td.new ins")).to_have_text("sync")
        quiet(alice)
        alice.screenshot(path=screenshots / "history-diff.png", full_page=True)

        # Bob changes it again: the open history page gains the version live.
        open_occurrence(bob, "2026-10-22")
        edit = bob.get_by_role("dialog")
        edit.get_by_label("All occurrences").check()
        edit.get_by_label("Location").fill("Room 4")
        edit.get_by_role("button", name="Save").click()
        expect(edit).to_be_hidden()
        expect(alice.locator("tr[data-version='3']")).to_contain_text(
            "location", timeout=LIVE_TIMEOUT
        )

        # Roll back to version 1, confirming first: a new version 4, nothing rewritten.
        alice.locator("tr[data-version='1']").get_by_role("button", name="Roll back").click()
        confirm = alice.get_by_role("alertdialog")
        expect(confirm).to_contain_text("Roll back “Team sync” to version 1?")
        confirm.get_by_role("button", name="Roll back to version 1").click()
        expect(alice.locator("tr[data-version='4']")).to_contain_text("rolled back")
        expect(alice.get_by_role("heading", level=1)).to_have_text("History of “Team standup”")
        # Bob's week view follows the rollback live too.
        expect(events_on(bob, "2026-10-24")).to_have_text(
            re.compile(r"^09:00–09:30Team standup↻"), timeout=LIVE_TIMEOUT
        )
        assert alice_errors == [] and bob_errors == []
    finally:
        alice_context.close()
        bob_context.close()


def test_one_occurrence_this_and_following_conflicts_and_delete(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)

    def create(title: str, start: str, end: str, repeats: str = "none", count: str = "") -> None:
        page.get_by_role("button", name="New event").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Title").fill(title)
        dialog.get_by_label("Starts").fill(start)
        dialog.get_by_label("Ends").fill(end)
        dialog.get_by_label("Repeats", exact=True).select_option(repeats)
        if count:
            dialog.get_by_label("Number of occurrences").fill(count)
        dialog.get_by_role("button", name="Create").click()

    def occurrence(date: str, title: str) -> Locator:
        return events_on(page, date, title)

    def edit(date: str, title: str, scope: str, **fields: str) -> None:
        occurrence(date, title).click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label(scope).check()
        for label, value in fields.items():
            dialog.get_by_label(label).fill(value)
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()

    def delete(date: str, title: str, scope: str | None, button: str) -> None:
        occurrence(date, title).click()
        dialog = page.get_by_role("dialog", name=re.compile("Edit event"))
        if scope:
            dialog.get_by_label(scope).check()
        dialog.get_by_role("button", name=button).click()
        page.get_by_role("alertdialog").get_by_role("button", name=button).click()
        expect(dialog).to_be_hidden()

    try:
        sign_up(page, server, "frank")
        # Weekly on Mondays at 18:00 across the start of summer time (Sunday 2027-03-28).
        page.goto(f"{server}/#/week/2027-03-22")
        create("Yoga", "2027-03-22T18:00", "2027-03-22T19:00", "weekly", "4")
        expect(occurrence("2027-03-22", "Yoga")).to_contain_text("18:00–19:00")
        page.get_by_role("button", name="Next week").click()
        expect(occurrence("2027-03-29", "Yoga")).to_contain_text("18:00–19:00")

        # A clash is shown before anything is saved; "Save anyway" saves it.
        create("Dentist", "2027-03-29T18:30", "2027-03-29T19:00")
        clash = page.get_by_role("dialog").locator(".conflicts")
        expect(clash).to_contain_text("This overlaps other events")
        expect(clash).to_contain_text("Yoga")
        expect(occurrence("2027-03-29", "Dentist")).to_have_count(0)
        clash.get_by_role("button", name="Save anyway").click()
        expect(occurrence("2027-03-29", "Dentist")).to_contain_text("18:30–19:00")

        # One occurrence moves; the others stay.
        edit(
            "2027-03-29",
            "Yoga",
            "This occurrence",
            Starts="2027-03-29T19:00",
            Ends="2027-03-29T20:00",
        )
        expect(occurrence("2027-03-29", "Yoga")).to_contain_text("19:00–20:00")
        page.get_by_role("button", name="Next week").click()
        expect(occurrence("2027-04-05", "Yoga")).to_contain_text("18:00–19:00Yoga")

        # This and following: the series splits there.
        edit("2027-04-05", "Yoga", "This and following", Title="Yoga in the park")
        expect(occurrence("2027-04-05", "Yoga")).to_contain_text("Yoga in the park")
        page.get_by_role("button", name="Next week").click()
        expect(occurrence("2027-04-12", "Yoga")).to_contain_text("Yoga in the park")
        # The new series' history says where it came from, and links to the old one's.
        api = api_client(server, "frank", context)
        split = api.get("/events", params={"q": "Yoga in the park"}).json()["items"][0]
        assert split["split_from"] is not None
        page.goto(f"{server}/#/events/{split['id']}/history")
        note = page.get_by_text("A new series began here")
        expect(note).to_be_visible()
        note.get_by_role("link", name="the series it was split from").click()
        expect(page).to_have_url(re.compile(rf"#/events/{split['split_from']}/history$"))
        expect(page.locator("table.history")).to_contain_text("The series now ends")
        page.goto(f"{server}/#/week/2027-03-22")
        expect(occurrence("2027-03-22", "Yoga")).to_have_text(re.compile(r"^18:00–19:00Yoga↻"))

        # Cancel one occurrence of a series, and delete a single event.
        delete("2027-03-22", "Yoga", "This occurrence", "Cancel this occurrence")
        expect(occurrence("2027-03-22", "Yoga")).to_have_count(0)
        page.get_by_role("button", name="Next week").click()
        delete("2027-03-29", "Dentist", None, "Delete")
        expect(occurrence("2027-03-29", "Dentist")).to_have_count(0)
        expect(occurrence("2027-03-29", "Yoga")).to_contain_text("19:00–20:00")
        assert errors == []
    finally:
        context.close()


def test_errors_read_as_sentences_and_a_viewer_is_offered_no_edits(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        page.goto(f"{server}/")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Username or email").fill("nobody")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        error = page.locator(".form-error")
        expect(error).to_be_visible()
        expect(error).not_to_contain_text("{")

        # 429: the message says when to try again.
        page.route(
            "**/api/v1/auth/login",
            lambda route: route.fulfill(
                status=429,
                headers={"Retry-After": "30", "Content-Type": "application/problem+json"},
                body='{"type":"about:blank","title":"Too many requests","status":429,'
                '"code":"rate_limited"}',
            ),
        )
        page.get_by_role("button", name="Sign in").click()
        expect(error).to_have_text("Too many requests. Please try again in 30 seconds.")
        page.unroute("**/api/v1/auth/login")

        # A viewer sees the event but is offered neither editing nor deleting nor sharing.
        with httpx.Client(base_url=server) as client:
            owner = client.post(
                "/api/v1/auth/register",
                json={"username": "carol", "email": "carol@example.com", "password": PASSWORD},
            ).json()
            headers = {"Authorization": f"Bearer {owner['access_token']}"}
            viewer = client.post(
                "/api/v1/auth/register",
                json={"username": "dan", "email": "dan@example.com", "password": PASSWORD},
            ).json()
            event = client.post(
                "/api/v1/events",
                json={
                    "title": "<b>Board</b> review",
                    "start_time": "2027-03-29T10:00:00+02:00",
                    "end_time": "2027-03-29T11:00:00+02:00",
                },
                headers=headers,
            ).json()
            client.post(
                f"/api/v1/events/{event['id']}/share",
                json={"users": [{"user_id": viewer["user"]["id"], "role": "viewer"}]},
                headers=headers,
            ).raise_for_status()
        page.get_by_label("Username or email").fill("dan")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as dan")).to_be_visible()
        page.goto(f"{server}/#/week/2027-03-29")
        occurrence = events_on(page, "2027-03-29")
        expect(occurrence).to_contain_text("10:00–11:00<b>Board</b> review")  # text, not markup
        occurrence.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_label("Title")).to_be_disabled()
        for label in ("Save", "Delete", "Share…"):
            expect(dialog.get_by_role("button", name=label, exact=True)).to_have_count(0)
        dialog.get_by_role("button", name="People").click()
        expect(page.locator("dialog.share")).to_contain_text("Only an owner can share")
        expect(page.locator("dialog.share select")).to_have_count(0)
        page.keyboard.press("Escape")
        # ...but may take it out of their own calendar (leave it), as calendar apps allow
        leave = dialog.get_by_role("button", name="Remove from my calendar")
        leave.click()
        page.get_by_role("alertdialog").get_by_role(
            "button", name="Remove from my calendar"
        ).click()
        expect(page.locator("#notice")).to_contain_text("Removed “<b>Board</b> review”")
        expect(events_on(page, "2027-03-29")).to_have_count(0)
        with httpx.Client(base_url=server) as client:
            held = client.get(f"/api/v1/events/{event['id']}/permissions", headers=headers)
            assert [p["username"] for p in held.json()["items"]] == ["carol"]

        # A session revoked elsewhere (its refresh token spent) returns to the sign-in page.
        spent = page.evaluate("sessionStorage.getItem('neo-events.refresh')")
        with httpx.Client(base_url=server) as client:
            client.post("/api/v1/auth/refresh", json={"refresh_token": spent}).raise_for_status()
        page.reload()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.locator("#notice")).to_contain_text("Your session has ended")
    finally:
        context.close()


def test_readable_at_360_px_and_a_strict_policy(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    errors = watch_errors(page)
    try:
        response = page.goto(f"{server}/")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        sign_up(page, server, "erin")  # the live connection opens under that policy
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the week view is {width} px wide at 360 px"
        expect(page.locator(":focus")).to_have_text(re.compile("^Week of"))  # after sign-up
        page.reload()
        expect(page.get_by_text("Signed in as erin")).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Skip to content")
        assert errors == []
    finally:
        context.close()


def test_the_session_is_refreshed_before_the_access_token_expires(
    browser: Browser, server: str
) -> None:
    """The client trades its refresh token a minute before the access token (15 minutes)
    runs out, on its own timer: the page's clock is fast-forwarded, not waited for. The new
    pair is adopted (the stored refresh token rotates) and the next API call uses it."""
    context = new_context(browser)
    page = context.new_page()
    page.clock.install()
    try:
        sign_up(page, server, "rita")
        before = page.evaluate("sessionStorage.getItem('neo-events.refresh')")
        refreshes: list[str] = []
        page.on("request", lambda r: refreshes.append(r.url) if "/auth/refresh" in r.url else None)
        page.clock.fast_forward("13:50")
        page.wait_for_timeout(300)
        assert refreshes == [], "refreshed long before the access token runs out"
        with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/refresh")) as refreshed:
            page.clock.fast_forward("00:15")  # 14:05: a minute before expiry has passed
        assert refreshed.value.status == 200
        # The page stores the new pair once it has read the response's body: wait for that.
        page.wait_for_function(
            "before => sessionStorage.getItem('neo-events.refresh') !== before", arg=before
        )
        after = page.evaluate("sessionStorage.getItem('neo-events.refresh')")
        assert after and after != before
        new_access = refreshed.value.json()["access_token"]
        with page.expect_request(re.compile(r"/api/v1/events\?")) as listing:
            page.get_by_role("button", name=re.compile("Next")).click()
        assert listing.value.headers["authorization"] == f"Bearer {new_access}"
        expect(page.get_by_text("Signed in as rita")).to_be_visible()
    finally:
        context.close()


def test_the_diff_page_is_highlighted_under_its_policy(browser: Browser, server: str) -> None:
    """The API's side-by-side page (`Accept: text/html`, as a browser asks for a page) styles
    itself inline: its policy must let Chromium apply that style, or removals and additions
    lose their red and green."""
    with httpx.Client(base_url=f"{server}/api/v1") as client:
        token = client.post(
            "/auth/register",
            json={"username": "gina", "email": "gina@example.com", "password": PASSWORD},
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        event = client.post(
            "/events",
            json={
                "title": "Weekly standup",
                "start_time": "2027-04-05T09:00:00+02:00",
                "end_time": "2027-04-05T09:15:00+02:00",
            },
        ).json()
        client.patch(f"/events/{event['id']}", json={"title": "Weekly sync"}).raise_for_status()
    context = new_context(browser)
    context.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    page = context.new_page()
    errors = watch_errors(page)  # a style the policy refuses is a console error
    try:
        response = page.goto(f"{server}/api/v1/events/{event['id']}/diff/1/2")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        removed = page.locator("tr td.old del")
        added = page.locator("tr td.new ins")
        expect(removed).to_have_text("standup")
        expect(added).to_have_text("sync")
        transparent = "rgba(0, 0, 0, 0)"
        assert removed.evaluate("e => getComputedStyle(e).backgroundColor") != transparent
        assert added.evaluate("e => getComputedStyle(e).backgroundColor") != transparent
        # Chromium underlines <ins> by default; the page's style takes that away.
        assert added.evaluate("e => getComputedStyle(e).textDecorationLine") == "none"
        assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # layout
        assert errors == []
    finally:
        context.close()
