"""Fixtures for the browser tests: a real server, Debian's Chromium driven by Playwright.

Without Chromium (/usr/bin/chromium, or $CHROMIUM) these tests FAIL, on every machine, with
how to install it: a suite that quietly skips its browser tests looks green while the web
client is untested. `make test` checks the same before it starts; `.ci/run` installs it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from tests.browser.steps import FAST, TIMEOUT
from tests.conftest import TEST_REDIS_URL, truncate_all
from tests.live import ROOT, running_server

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
MISSING_CHROMIUM = (
    f"the browser tests need Chromium at {CHROMIUM}: install it with "
    "`sudo apt-get install chromium` (Debian/Ubuntu), or point CHROMIUM=/path/to/chromium at "
    "one; to run everything else meanwhile: pytest --ignore=tests/browser"
)
# An assertion waits as long as an action (Playwright's own default for `expect` is 5 s): on a
# loaded 2-core CI machine the first WebSocket after a sign-up took longer than that, twice in
# one run. A passing assertion returns as soon as it holds; the checks that time live delivery
# pass LIVE_TIMEOUT themselves.
expect.set_options(timeout=TIMEOUT)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: a gitignored folder, or SCREENSHOTS_DIR (docs/screenshots)."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "artifacts" / "browser")
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def playwright(database_url: str) -> Iterator[Playwright]:
    # Playwright's sync API keeps an event loop running in this thread while it is open, where
    # asyncio.run and async tests then refuse to work: migrate first (`database_url`), and
    # close it with the module so that the rest of the suite runs without it.
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`neo-events serve` on loopback, one per module (its tests use distinct usernames);
    with PostgreSQL also Redis, when configured."""
    tmp_path = tmp_path_factory.mktemp("server")
    env = dict(FAST)
    if database_url.startswith("postgresql") and TEST_REDIS_URL:
        env["REDIS_URL"] = TEST_REDIS_URL
    with running_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as base:
        yield base
    # In a thread of its own: this one has Playwright's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, truncate_all(database_url)).result()
