"""Shared steps of the browser tests: contexts, sign-up, finding a day of the week view."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

PASSWORD = "correct horse battery"
ZONE = "Europe/Berlin"  # summer time ends on Sunday 2026-10-25
LIVE_TIMEOUT = 5000  # SPEC asks for a second; generous for a loaded CI machine
TIMEOUT = 15000
# Server settings: fast heartbeats, so a revoked token or a dropped client is noticed quickly.
FAST = {"LIVE_HEARTBEAT_S": "0.5", "LIVE_POLL_S": "0.5"}


def new_context(browser: Browser) -> BrowserContext:
    """A person's browser: its own storage, Berlin time, British English dates."""
    context = browser.new_context(
        timezone_id=ZONE, locale="en-GB", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(TIMEOUT)
    return context


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions (a CSP violation is one); an HTTP error the
    client handles (Chromium logs each 4xx as "Failed to load resource") is not one."""
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    return errors


def sign_up(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/#/signup")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text(re.compile("Live"))


def quiet(page: Page) -> None:
    """Hide a confirmation that would otherwise be in the screenshot (they fade after 6 s)."""
    page.evaluate("document.getElementById('notice').hidden = true")


def day(page: Page, date: str) -> Locator:
    return page.locator(f"section.day[data-date='{date}']")


def open_occurrence(page: Page, date: str) -> None:
    day(page, date).locator("button.occurrence").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
