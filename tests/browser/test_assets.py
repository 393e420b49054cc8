"""How the app serves the web client's files (no browser needed)."""

from __future__ import annotations

import httpx
import pytest

from neo_events.webclient.router import STATIC, VENDOR

pytestmark = pytest.mark.anyio


async def test_the_page_and_its_files_carry_a_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe" not in policy and "frame-ancestors 'none'" in policy
    # FullCalendar's stylesheet is an empty <style> filled through the CSSOM: only the hash
    # of the empty string is allowed inline, never style text.
    assert "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-cache" and page.headers["etag"]
    module = await client.get("/app/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"] == "text/javascript; charset=utf-8"
    assert module.headers["content-security-policy"] == policy
    again = await client.get("/app/main.js", headers={"If-None-Match": module.headers["etag"]})
    assert again.status_code == 304


async def test_every_file_the_page_names_is_served(client: httpx.AsyncClient) -> None:
    for path in ("/app/app.css", "/app/icon.svg", "/app/main.js"):
        assert (await client.get(path)).status_code == 200
    for module in STATIC.glob("*.js"):
        response = await client.get(f"/app/{module.name}")
        assert response.status_code == 200, module.name


async def test_the_vendored_calendar_is_served_with_its_licence_beside_it(
    client: httpx.AsyncClient,
) -> None:
    assert set(VENDOR) == {"fullcalendar.js"}
    page = (await client.get("/")).text
    assert '<script defer src="/app/vendor/fullcalendar.js"></script>' in page
    response = await client.get("/app/vendor/fullcalendar.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.text.startswith("/*!\nFullCalendar Standard Bundle v6.")
    licence = (STATIC / "vendor" / "fullcalendar-license.txt").read_text()
    assert "MIT" in licence or "Permission is hereby granted" in licence


@pytest.mark.parametrize(
    "path",
    [
        "/app/nope.js",
        "/app/..%2Frouter.py",
        "/app/%2e%2e/__init__.py",
        "/app/index.html",
        "/app/vendor/README.md",
        "/app/vendor/..%2Fapp.css",
        "/app/vendor/nope.js",
    ],
)
async def test_nothing_else_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "default-src 'none'" in response.headers["content-security-policy"]
