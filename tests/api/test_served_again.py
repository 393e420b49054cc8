"""An app object served again starts as a new worker process would (`main.py`: everything a
serving holds is made by its lifespan). The suite serves one app object per settings, test
after test (`tests/conftest.py`), and ids start over after each test: a cache made once per
app object would answer the second serving's event 1 with the first's."""

from __future__ import annotations

import pytest

from neo_events.main import create_app
from neo_events.settings import Settings
from tests.api.test_metrics import scrape, value
from tests.caldav.dav import Dav, app_password
from tests.conftest import http_client, serving
from tests.helpers import create_event, register

pytestmark = pytest.mark.anyio


async def test_a_second_serving_answers_from_its_own_rows_and_counts_from_zero(
    settings: Settings,
) -> None:
    app = create_app(settings)
    for title in ("First", "Second"):
        async with serving(settings, app), http_client(app) as client:
            alice = await register(client, "alice")
            event = await create_event(client, alice, title=title)
            assert event["id"] == 1  # the same id and version both times
            window = {"start_time": "2026-03-01T00:00:00Z", "end_time": "2026-05-01T00:00:00Z"}
            dav = Dav(client, alice, await app_password(client, alice))
            for _ in range(2):  # the second read of each may come from a cache
                one = await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)
                assert one.json()["title"] == title
                listed = await client.get("/api/v1/events", params=window, headers=alice.headers)
                assert [item["title"] for item in listed.json()["items"]] == [title]
                text = await dav.request("GET", f"{dav.calendar}event-{event['id']}.ics")
                assert f"SUMMARY:{title}\r\n".encode() in text.content
            samples = await scrape(client)
            register_route = {"method": "POST", "route": "/api/v1/auth/register"}
            assert value(samples, "neo_http_requests_total", **register_route, status="201") == 1
