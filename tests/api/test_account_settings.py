"""An account's own time zone (`/api/v1/auth/me/settings`): where its floating dates fall when
what it writes names no zone. Here the setting itself and an import; CalDAV's side is in
tests/caldav/test_own_zone.py."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, audit_actions, register

pytestmark = pytest.mark.anyio

SETTINGS = "/api/v1/auth/me/settings"
IMPORT = "/api/v1/events/import"
CALENDAR = {"Content-Type": "text/calendar"}

# An all-day day off and a floating meeting, as a file with no X-WR-TIMEZONE names them.
DAY_OFF = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:day-off@example.com\r
DTSTAMP:20261201T000000Z\r
DTSTART;VALUE=DATE:20261224\r
SUMMARY:Day off\r
TRANSP:OPAQUE\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:floating@example.com\r
DTSTAMP:20261201T000000Z\r
DTSTART:20261222T090000\r
DTEND:20261222T100000\r
SUMMARY:Floating meeting\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _file(n: int, header: bytes = b"") -> bytes:
    """DAY_OFF with UIDs of its own (an import of a UID held already is another thing)."""
    text = DAY_OFF.replace(b"@example.com", f"-{n}@example.com".encode())
    return text.replace(b"PRODID:-//test//EN\r\n", b"PRODID:-//test//EN\r\n" + header)


async def _set_zone(client: httpx.AsyncClient, who: Account, zone: str | None) -> httpx.Response:
    return await client.patch(SETTINGS, json={"timezone": zone}, headers=who.headers)


async def _imported(
    client: httpx.AsyncClient, who: Account, data: bytes, **params: str
) -> dict[str, dict[str, str]]:
    answer = await client.post(IMPORT, content=data, params=params, headers=who.headers | CALENDAR)
    assert answer.status_code == 201, answer.text
    return {
        item["title"]: {k: item[k] for k in ("timezone", "start_time", "end_time")}
        for item in answer.json()["items"]
    }


async def test_a_new_account_has_no_zone_and_sets_one(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    first = await client.get(SETTINGS, headers=alice.headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"timezone": None}
    assert (
        await client.get(SETTINGS, headers=alice.headers | {"If-None-Match": first.headers["etag"]})
    ).status_code == 304

    changed = await _set_zone(client, alice, "America/Los_Angeles")
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"timezone": "America/Los_Angeles"}
    after = await client.get(SETTINGS, headers=alice.headers)
    assert after.json() == {"timezone": "America/Los_Angeles"}
    assert after.headers["etag"] == changed.headers["etag"] != first.headers["etag"]
    assert ("settings.changed", "success") in await audit_actions(app)

    # null unsets it; sending nothing changes nothing (and writes no audit row)
    assert (await _set_zone(client, alice, None)).json() == {"timezone": None}
    rows = len(await audit_actions(app))
    same = await client.patch(SETTINGS, json={}, headers=alice.headers)
    assert same.json() == {"timezone": None}
    assert len(await audit_actions(app)) == rows


async def test_a_bad_zone_or_field_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    assert (await _set_zone(client, alice, "Europe/Paris")).status_code == 200
    for body in (
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "x" * 65},
        {"timezone": 7},
        {"timezone": "Europe/Paris", "colour": "red"},
    ):
        answer = await client.patch(SETTINGS, json=body, headers=alice.headers)
        assert_problem(answer, 422, "validation_error")
    assert (await client.get(SETTINGS, headers=alice.headers)).json() == {
        "timezone": "Europe/Paris"
    }


async def test_settings_are_the_callers_own_and_not_shown_to_others(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    assert (await _set_zone(client, alice, "Asia/Tokyo")).status_code == 200
    assert (await client.get(SETTINGS, headers=bob.headers)).json() == {"timezone": None}
    assert_problem(await client.get(SETTINGS), 401, "not_authenticated")
    assert_problem(await client.patch(SETTINGS, json={"timezone": "UTC"}), 401, "not_authenticated")
    # the `user` of SPEC §3 is unchanged: where someone lives is not for whoever finds them
    found = await client.get("/api/v1/users", params={"q": "alice"}, headers=bob.headers)
    assert "timezone" not in found.json()["items"][0]
    me = await client.get("/api/v1/auth/me", headers=alice.headers)
    assert set(me.json()) == {"id", "username", "email", "created_at"}


async def test_an_import_places_floating_dates_in_the_importers_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Without X-WR-TIMEZONE or `?timezone=`, a day off began at UTC's midnight: 16:00 the day
    before in Los Angeles, for the importer who lives there."""
    before = await _imported(client, alice, _file(1))  # no zone set: UTC, as before
    assert before["Day off"] == {
        "timezone": "UTC",
        "start_time": "2026-12-24T00:00:00Z",
        "end_time": "2026-12-25T00:00:00Z",
    }
    assert (await _set_zone(client, alice, "America/Los_Angeles")).status_code == 200
    mine = await _imported(client, alice, _file(2))
    assert mine["Day off"] == {
        "timezone": "America/Los_Angeles",
        "start_time": "2026-12-24T08:00:00Z",
        "end_time": "2026-12-25T08:00:00Z",
    }
    assert mine["Floating meeting"]["start_time"] == "2026-12-22T17:00:00Z"
    # `?timezone=` and the file's X-WR-TIMEZONE still come first
    asked = await _imported(client, alice, _file(3), timezone="Asia/Tokyo")
    assert asked["Day off"]["start_time"] == "2026-12-23T15:00:00Z"
    named = _file(4, b"X-WR-TIMEZONE:Europe/Berlin\r\n")
    assert (await _imported(client, alice, named))["Day off"]["start_time"] == (
        "2026-12-23T23:00:00Z"
    )


async def test_changes_at_once_are_made_one_after_the_other(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Two devices (or a browser adopting its zone while Settings changes it) changing the zone
    at once: on PostgreSQL each took the zone its request began with for the one it replaced,
    so audit rows said `old` was a zone already gone (60 of 91 in 30 rounds of four), and a
    change that made no difference by then was recorded, and moved reminders, as one."""
    import asyncio

    from sqlalchemy import select

    from neo_events.models import AuditEntry

    zones = ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Tokyo", "Europe/Berlin"]
    for _ in range(10):
        answers = await asyncio.gather(*(_set_zone(client, alice, zone) for zone in zones))
        assert [a.status_code for a in answers] == [200] * len(zones)
    async with app.state.sessionmaker() as session:
        changes = list(
            await session.scalars(
                select(AuditEntry.details)
                .where(AuditEntry.action == "settings.changed")
                .order_by(AuditEntry.id)
            )
        )
    was = None
    for change in changes:
        assert change["timezone"]["old"] == was != change["timezone"]["new"], changes
        was = change["timezone"]["new"]
    assert (await client.get(SETTINGS, headers=alice.headers)).json() == {"timezone": was}
