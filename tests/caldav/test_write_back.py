"""A CalDAV client that writes back what it read, changing one thing, changes only that thing
(findings of an outside attack: each test says what went wrong)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.caldav.dav import Dav, dav_for
from tests.helpers import create_event

pytestmark = pytest.mark.anyio


async def changed_fields(client: httpx.AsyncClient, dav: Dav, event_id: int) -> list[str]:
    """The fields the event's last change listed."""
    response = await client.get(f"/api/v1/events/{event_id}/changelog", headers=dav.account.headers)
    last: dict[str, Any] = response.json()["items"][-1]
    return [change["field"] for change in last["changes"]]


async def test_an_exception_written_back_untouched_keeps_its_explicit_end(
    client: httpx.AsyncClient,
) -> None:
    """An occurrence moved through the API with an explicit end (10:00-11:00 of a 09:00-10:00
    series): a rename of the series in a calendar app wrote its exception back as it was, and
    the override's `end_time` became null (the DTEND was read as "the series' length"), the
    version listing `overrides` as changed."""
    alice = await dav_for(client, "alice")
    event = await create_event(
        client,
        alice.account,
        title="S",
        start_time="2027-01-04T09:00:00+01:00",
        end_time="2027-01-04T10:00:00+01:00",
        timezone="Europe/Berlin",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;COUNT=5",
    )
    moved = await client.put(
        f"/api/v1/events/{event['id']}/instances/2027-01-11T08:00:00Z",
        json={"start_time": "2027-01-12T10:00:00+01:00", "end_time": "2027-01-12T11:00:00+01:00"},
        headers=alice.account.headers,
    )
    assert moved.status_code == 200, moved.text
    overrides = moved.json()["overrides"]
    assert overrides[0]["end_time"] is not None
    name = f"event-{event['id']}.ics"
    read = await alice.request("GET", alice.calendar + name)
    renamed = read.content.replace(b"SUMMARY:S\r\n", b"SUMMARY:S renamed\r\n", 1)
    response = await alice.put(name, renamed, **{"If-Match": read.headers["etag"]})
    assert response.status_code == 204, response.text
    after = (
        await client.get(f"/api/v1/events/{event['id']}", headers=alice.account.headers)
    ).json()
    assert after["title"] == "S renamed"
    assert after["overrides"] == overrides
    assert await changed_fields(client, alice, event["id"]) == ["title"]


async def test_a_rename_of_a_series_off_its_rule_keeps_its_count(
    client: httpx.AsyncClient,
) -> None:
    """A Monday start of a Tuesday COUNT=3 rule is served as `UNTIL=…;BYDAY=TU` and an RDATE
    (what readers count alike); a rename written back turned the COUNT into that UNTIL, and
    the version listed the rule as changed."""
    alice = await dav_for(client, "alice")
    rule = "FREQ=WEEKLY;BYDAY=TU;COUNT=3"
    event = await create_event(
        client,
        alice.account,
        title="offrule",
        start_time="2027-03-01T09:00:00+01:00",
        end_time="2027-03-01T10:00:00+01:00",
        timezone="Europe/Berlin",
        is_recurring=True,
        recurrence_pattern=rule,
    )
    name = f"event-{event['id']}.ics"
    read = await alice.request("GET", alice.calendar + name)
    assert b"UNTIL=" in read.content and b"COUNT=" not in read.content
    renamed = read.content.replace(b"SUMMARY:offrule\r\n", b"SUMMARY:renamed\r\n", 1)
    response = await alice.put(name, renamed, **{"If-Match": read.headers["etag"]})
    assert response.status_code == 204, response.text
    after = (
        await client.get(f"/api/v1/events/{event['id']}", headers=alice.account.headers)
    ).json()
    assert (after["title"], after["recurrence_pattern"]) == ("renamed", event["recurrence_pattern"])
    assert await changed_fields(client, alice, event["id"]) == ["title"]
