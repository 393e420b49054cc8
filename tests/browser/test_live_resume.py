"""The client's live connection survives the server going away and coming back (SPEC §8, §12)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests import live
from tests.browser.steps import FAST, LIVE_TIMEOUT, PASSWORD, events_on, new_context, sign_up
from tests.conftest import truncate_all


@pytest.mark.slow  # two server starts
def test_the_week_view_resumes_after_the_connection_drops(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    port = live.free_port()  # the restarted server listens at the same address
    context = new_context(browser)
    page = context.new_page()
    try:
        with live.running_server(
            database_url=database_url, data_dir=tmp_path, extra_env=FAST, port=port
        ) as base:
            sign_up(page, base, "grace")
            with httpx.Client(base_url=base) as client:
                token = client.post(
                    "/api/v1/auth/login", json={"username": "grace", "password": PASSWORD}
                ).json()["access_token"]
            page.goto(f"{base}/#/week/2026-10-22")
            expect(page.locator(".fc-timegrid-col[data-date='2026-10-22']")).to_be_visible()
            expect(events_on(page, "2026-10-22")).to_have_count(0)
        expect(page.locator("#live-status")).to_have_text(re.compile("Reconnecting"))

        with live.running_server(
            database_url=database_url, data_dir=tmp_path, extra_env=FAST, port=port
        ) as base:
            with httpx.Client(base_url=base) as client:
                client.post(
                    "/api/v1/events",
                    json={
                        "title": "Made while you were away",
                        "start_time": "2026-10-22T14:00:00+02:00",
                        "end_time": "2026-10-22T15:00:00+02:00",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()
            # The client retries with backoff (at most 10 s apart); the restart may be slow.
            expect(page.locator("#live-status")).to_have_text(re.compile("Live"), timeout=30000)
            expect(events_on(page, "2026-10-22")).to_have_text(
                re.compile("^14:00–15:00Made while you were away"), timeout=LIVE_TIMEOUT
            )
    finally:
        context.close()
        with ThreadPoolExecutor(1) as pool:  # this thread has Playwright's event loop
            pool.submit(asyncio.run, truncate_all(database_url)).result()
