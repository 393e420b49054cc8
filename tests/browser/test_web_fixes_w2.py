"""Sessions across tabs, a session that ends under the user, keyboard shortcuts.

The server of this module issues access tokens for one minute (the least it allows), so a tab
refreshes 45 s after each sign-in; the pages' clocks are fast-forwarded rather than waited for.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.steps import (
    FAST,
    PASSWORD,
    api_client,
    day,
    is_active,
    make_event,
    new_context,
    open_occurrence,
    sign_up,
    watch_errors,
)
from tests.conftest import TEST_REDIS_URL, truncate_all
from tests.live import running_server

REFRESH = "sessionStorage.getItem('neo-events.refresh')"


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As tests/browser/conftest.py's, with access tokens that last a minute."""
    env = dict(FAST) | {"ACCESS_TOKEN_EXPIRE_MINUTES": "1"}
    if database_url.startswith("postgresql") and TEST_REDIS_URL:
        env["REDIS_URL"] = TEST_REDIS_URL
    data_dir = tmp_path_factory.mktemp("server")
    with running_server(database_url=database_url, data_dir=data_dir, extra_env=env) as base:
        yield base
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, truncate_all(database_url)).result()


def refreshed_from(page: Page, spent: str) -> str:
    """The refresh token `page` holds once it no longer holds `spent` (signed out: none)."""
    page.wait_for_function(f"spent => {REFRESH} !== spent", arg=spent)
    token: str = page.evaluate(REFRESH)
    return token


def test_a_tab_opened_from_another_keeps_both_signed_in(browser: Browser, server: str) -> None:
    """window.open copies sessionStorage, so the new tab resumes with the first tab's refresh
    token and rotates it. When the first tab's own timer comes, it adopts the pair the new tab
    left rather than send the spent token (which the API takes for theft: it would end the
    session of both). A spent token presented by anyone else still ends the session."""
    context = new_context(browser)
    context.clock.install()
    first = context.new_page()
    errors = watch_errors(first)
    try:
        sign_up(first, server, "tabby")
        original = first.evaluate(REFRESH)
        with context.expect_page() as opened:
            first.evaluate("window.open(location.href)")
        second = opened.value
        expect(second.get_by_text("Signed in as tabby")).to_be_visible()
        expect(second.locator("#live-status")).to_have_text(re.compile("Live"))
        rotated = second.evaluate(REFRESH)
        assert rotated and rotated != original, "the new tab resumed with a rotated token"
        # The first tab has an event half typed when its refresh comes.
        first.get_by_role("button", name="New event").click()
        draft = first.get_by_role("dialog", name="New event")
        draft.get_by_label("Title").fill("Planning, half typed")
        # Both tabs' timers (45 s of a one-minute token) fire: one adopts the other's pair.
        context.clock.fast_forward("00:50")
        assert refreshed_from(first, original), "the first tab was signed out"
        expect(draft.get_by_label("Title")).to_have_value("Planning, half typed")
        draft.get_by_role("button", name="Create").click()
        expect(draft).to_have_count(0)
        for page in (first, second):
            with page.expect_response(re.compile(r"/api/v1/events\?")) as listing:
                page.get_by_role("button", name=re.compile("Next")).click()
            assert listing.value.status == 200
            expect(page.get_by_text("Signed in as tabby")).to_be_visible()
            expect(page.get_by_role("dialog")).to_have_count(0)
        # A real reuse (the spent token, presented from elsewhere) still revokes the session.
        with httpx.Client(base_url=f"{server}/api/v1") as client:
            reused = client.post("/auth/refresh", json={"refresh_token": original})
        assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
        for page in (first, second):
            expect(page.get_by_role("dialog", name="Sign in to continue")).to_be_visible()
        assert errors == []
    finally:
        context.close()


def test_signing_out_signs_out_the_tabs_of_that_sign_in_and_no_other(
    browser: Browser, server: str
) -> None:
    """Sign out on purpose in one of two tabs sharing a sign-in: the other goes to the sign-in
    page at once, its calendar off the screen (not a "sign in to continue" over it). A tab
    signed in on its own (another session) stays signed in."""
    context = new_context(browser)
    first = context.new_page()
    try:
        sign_up(first, server, "otto")
        with context.expect_page() as opened:
            first.evaluate("window.open(location.href)")
        second = opened.value
        expect(second.get_by_text("Signed in as otto")).to_be_visible()
        third = context.new_page()  # a tab of its own: sessionStorage starts empty
        third.goto(f"{server}/#/signin")
        third.get_by_label("Username or email").fill("otto")
        third.get_by_label("Password").fill(PASSWORD)
        third.get_by_role("button", name="Sign in").click()
        expect(third.get_by_text("Signed in as otto")).to_be_visible()

        first.get_by_role("button", name="Sign out").click()
        expect(first.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(second.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(second.locator(".calendar")).to_have_count(0)
        expect(second.get_by_role("dialog")).to_have_count(0)
        assert second.evaluate(REFRESH) is None
        with third.expect_response(re.compile(r"/api/v1/events\?")) as listing:
            third.get_by_role("button", name=re.compile("Next")).click()
        assert listing.value.status == 200
        expect(third.get_by_text("Signed in as otto")).to_be_visible()
    finally:
        context.close()


def test_a_session_ended_under_the_user_keeps_the_page_and_the_typed_text(
    browser: Browser, server: str
) -> None:
    """The session is revoked from elsewhere while an edit dialog holds typed text: a sign-in
    comes over the page; signed in again, the dialog, its text and the week are still there,
    and Save saves them. "Sign out" instead leads to the sign-in page, which returns to the
    week afterwards."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "dora")
        owner = api_client(server, "dora", context)
        event = make_event(
            owner,
            title="Quarterly plan",
            start_time="2027-03-10T10:00:00+01:00",
            end_time="2027-03-10T11:00:00+01:00",
        )
        page.goto(f"{server}/#/week/2027-03-10")
        open_occurrence(page, "2027-03-10", "Quarterly plan")
        edit = page.get_by_role("dialog", name="Edit event")
        agenda = "1) budget 2) hiring 3) roadmap"
        edit.get_by_label("Description").fill(agenda)
        owner.post("/auth/logout", json={"refresh_token": page.evaluate(REFRESH)})

        prompt = page.get_by_role("dialog", name="Sign in to continue")
        expect(prompt).to_be_visible()
        expect(prompt).to_contain_text("Your session has ended")
        expect(prompt.get_by_label("Username or email")).to_have_value("dora")
        for _ in range(4):  # would leave a page that can do nothing (Chromium closes at the 3rd)
            page.keyboard.press("Escape")
            expect(prompt).to_be_visible()
        prompt.get_by_label("Password").fill(PASSWORD)
        prompt.get_by_role("button", name="Sign in").click()
        expect(prompt).to_have_count(0)
        expect(edit.get_by_label("Description")).to_have_value(agenda)
        assert page.evaluate("location.hash") == "#/week/2027-03-10"
        expect(page.locator("#live-status")).to_have_text(re.compile("Live"))
        edit.get_by_role("button", name="Save").click()
        expect(edit).to_have_count(0)
        client = api_client(server, "dora", context)
        assert client.get(f"/events/{event['id']}").json()["description"] == agenda

        # Given up: the sign-in page, and back to this week after signing in.
        client.post("/auth/logout", json={"refresh_token": page.evaluate(REFRESH)})
        prompt.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Username or email").fill("dora")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as dora")).to_be_visible()
        expect(page).to_have_url(re.compile(r"#/week/2027-03-10$"))
        assert errors == []
    finally:
        context.close()


def test_google_calendar_keyboard_shortcuts(browser: Browser, server: str) -> None:
    """c, t, d/w/m, j/k and n/p, g, / and ? as in Google Calendar; never while typing in a
    field, nor with a modifier key held, nor under an open dialog."""
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        sign_up(page, server, "kiki")
        page.goto(f"{server}/#/week/2027-03-10")
        title = page.locator("#view-title")
        expect(title).to_be_visible()
        page.locator("body").click(position={"x": 5, "y": 5})  # no field has focus

        def shown(route: str) -> None:
            """At `route`, drawn: the next key acts on its toolbar, not the last one's."""
            expect(page).to_have_url(re.compile(re.escape(route) + "$"))
            kind, date = route.split("/")[1:]
            expect(
                page.locator(f".calendar[data-view='{kind}']").locator(day(page, date))
            ).to_be_visible()

        page.keyboard.press("j")
        shown("#/week/2027-03-17")
        page.keyboard.press("k")
        shown("#/week/2027-03-10")
        page.keyboard.press("n")
        shown("#/week/2027-03-17")
        page.keyboard.press("p")
        shown("#/week/2027-03-10")
        page.keyboard.press("d")
        shown("#/day/2027-03-10")
        page.keyboard.press("n")
        shown("#/day/2027-03-11")
        page.keyboard.press("m")
        shown("#/month/2027-03-11")
        page.keyboard.press("w")
        shown("#/week/2027-03-11")
        today = page.evaluate(
            "(() => { const d = new Date(); const p = (n) => String(n).padStart(2, '0');"
            " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; })()"
        )
        page.keyboard.press("t")
        shown(f"#/week/{today}")

        # g: a date field, and the view shown at that date.
        page.keyboard.press("g")
        go = page.get_by_role("dialog", name="Go to date")
        is_active(go.get_by_label("Date"))
        go.get_by_label("Date").fill("2027-06-02")
        go.get_by_role("button", name="Go").click()
        shown("#/week/2027-06-02")
        expect(go).to_have_count(0)

        # Not with a modifier, nor while a dialog is open, nor while typing.
        page.keyboard.press("Control+j")
        page.keyboard.press("Alt+j")
        shown("#/week/2027-06-02")
        page.keyboard.press("c")
        editor = page.get_by_role("dialog", name="New event")
        expect(editor).to_be_visible()
        editor.get_by_label("Title").press_sequentially("jam with kiki")
        expect(editor.get_by_label("Title")).to_have_value("jam with kiki")
        shown("#/week/2027-06-02")
        page.keyboard.press("Escape")
        expect(editor).to_have_count(0)
        is_active(title)  # the focus is back where `c` was pressed

        # /: the search field, without a "/" typed into it; keys typed there stay text. (Right
        # after Escape: the closed editor's focus is settled in the task that closed it.)
        page.keyboard.press("/")
        search = page.get_by_role("searchbox")
        is_active(search)
        expect(search).to_have_value("")
        search.press_sequentially("dmw")
        expect(search).to_have_value("dmw")
        shown("#/week/2027-06-02")
        search.press("Escape")
        search.evaluate("el => el.blur()")

        # ?: the list, also from the top bar's button; Escape closes it.
        page.keyboard.press("?")
        help_ = page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(help_).to_contain_text("Go to a date")
        expect(help_.locator("kbd")).to_contain_text(["c", "t", "d", "w", "m", "j", "n"])
        page.keyboard.press("j")  # under the dialog: nothing
        page.keyboard.press("Escape")
        expect(help_).to_have_count(0)
        shown("#/week/2027-06-02")
        page.get_by_role("button", name="Keyboard shortcuts").click()
        expect(help_).to_be_visible()
        page.keyboard.press("Escape")
        expect(help_).to_have_count(0)
        assert errors == []
    finally:
        context.close()
