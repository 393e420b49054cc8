"""The event dialog when someone else changed the same fields meanwhile (Keep theirs / Use
mine, as after a drop); a route with a bare "%"; field errors as sentences (SPEC §12)."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.steps import (
    PASSWORD,
    api_client,
    events_on,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)

DAY = "2027-01-12"


def someone_else(server: str, name: str) -> httpx.Client:
    """A second person, over the API."""
    client = httpx.Client(base_url=f"{server}/api/v1", timeout=15)
    made = client.post(
        "/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    made.raise_for_status()
    client.headers["Authorization"] = f"Bearer {made.json()['access_token']}"
    return client


def shared_at_ten(api: httpx.Client, other: httpx.Client, **fields: object) -> dict[str, Any]:
    """An event at 10:00 Berlin time on DAY, made by `api`'s person and shared with the
    other person as an editor."""
    body = {
        "start_time": f"{DAY}T10:00:00+01:00",
        "end_time": f"{DAY}T11:00:00+01:00",
        "timezone": "Europe/Berlin",
    }
    event: dict[str, Any] = api.post("/events", json=body | fields).json()
    them = other.get("/auth/me").json()["id"]
    api.post(
        f"/events/{event['id']}/share", json={"users": [{"user_id": them, "role": "editor"}]}
    ).raise_for_status()
    return event


def save_over(page: Page, title: str) -> None:
    dialog = page.get_by_role("dialog", name="Edit event")
    dialog.get_by_label("Title").fill(title)
    dialog.get_by_role("button", name="Save").click()


def test_the_dialog_offers_keep_theirs_or_use_mine_on_an_edit_conflict(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "hana")
        api = api_client(server, "hana", context)
        other = someone_else(server, "ivo")
        context.on("close", lambda _: other.close())
        event = shared_at_ten(api, other, title="Plan")
        page.goto(f"{server}/#/week/{DAY}")

        # Ivo renames it (and gives it a room) while my dialog is open; I rename it too.
        open_occurrence(page, DAY, "Plan")
        other.patch(
            f"/events/{event['id']}", json={"title": "Plan (Ivo)", "location": "Room 9"}
        ).raise_for_status()
        save_over(page, "Plan (mine)")
        clash = page.get_by_role("dialog", name="Changed by someone else")
        expect(clash).to_contain_text("ivo also changed title of “Plan”")
        clash.get_by_role("button", name="Use mine").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        after = api.get(f"/events/{event['id']}").json()
        assert after["title"] == "Plan (mine)"  # mine over theirs
        assert after["location"] == "Room 9"  # their other change stays
        expect(events_on(page, DAY, "Plan (mine)")).to_be_visible()

        # Again, and "Keep theirs": nothing of mine is written, their version shows.
        open_occurrence(page, DAY, "Plan (mine)")
        other.patch(f"/events/{event['id']}", json={"title": "Ivo's plan"}).raise_for_status()
        save_over(page, "My plan")
        clash = page.get_by_role("dialog", name="Changed by someone else")
        clash.get_by_role("button", name="Keep theirs").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(events_on(page, DAY, "Ivo's plan")).to_be_visible()
        assert api.get(f"/events/{event['id']}").json()["title"] == "Ivo's plan"
        assert errors == []
    finally:
        context.close()


def test_an_occurrence_edited_in_the_dialog_after_someone_elses_change_asks_first(
    browser: Browser, server: str
) -> None:
    """One occurrence saved from the dialog carries If-Match: a change someone else saved
    since the dialog opened is asked about, not silently overwritten (its edit was the
    last write winning, found by a review)."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "lena")
        api = api_client(server, "lena", context)
        other = someone_else(server, "max")
        context.on("close", lambda _: other.close())
        event = shared_at_ten(
            api, other, title="Sync", is_recurring=True, recurrence_pattern="FREQ=DAILY;COUNT=5"
        )
        page.goto(f"{server}/#/week/{DAY}")
        open_occurrence(page, DAY, "Sync")
        other.patch(f"/events/{event['id']}", json={"location": "Room 2"}).raise_for_status()
        save_over(page, "Sync (moved up)")  # "This occurrence" is the dialog's default
        clash = page.get_by_role("dialog", name="Changed by someone else")
        expect(clash).to_contain_text("max changed “Sync”")
        clash.get_by_role("button", name="Use mine").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        after = api.get(f"/events/{event['id']}").json()
        assert after["location"] == "Room 2"
        assert [o["title"] for o in after["overrides"]] == ["Sync (moved up)"]
        assert errors == []
    finally:
        context.close()


def test_a_search_route_with_a_bare_percent_sign_shows_the_search(
    browser: Browser, server: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "jana")
        page.goto(f"{server}/#/search/50%")
        expect(page.get_by_role("heading", name="Search: “50%”")).to_be_visible()
        expect(page.get_by_role("searchbox")).to_have_value("50%")
        # Escapes that are whole still read as what they stand for, next to a bare "%".
        page.goto(f"{server}/#/search/caf%C3%A9%20100%")
        expect(page.get_by_role("heading", name="Search: “café 100%”")).to_be_visible()
        assert errors == []
    finally:
        context.close()


def test_field_errors_read_as_sentences(browser: Browser, server: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    try:
        sign_up(page, server, "karl")
        page.goto(f"{server}/#/settings")

        # An empty name: not "at least 1 characters long".
        page.get_by_label("Name of the new feed URL").fill("   ")
        page.get_by_role("button", name="Create feed URL").click()
        feeds = page.locator("section", has=page.get_by_role("heading", name="Calendar feed URLs"))
        expect(feeds.locator(".form-error")).to_have_text(
            "The request is not valid. Name must not be empty."
        )

        # A message that names its field itself is not prefixed with the field's name again.
        page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hook")
        page.get_by_role("button", name="Add webhook").click()
        hooks = page.locator("section", has=page.get_by_role("heading", name="Webhooks"))
        expect(hooks.locator(".form-error")).to_have_text(
            "The request is not valid. The URL points at a loopback address."
        )
    finally:
        context.close()
