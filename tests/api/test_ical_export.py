"""iCalendar out (SPEC §10): an event as .ics, feed tokens, and the subscription feed — whose
occurrences, read by a standard iCalendar library, are exactly those our API lists."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import recurring_ical_events  # type: ignore[import-untyped]
from dateutil import tz
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import select

from neo_events import timezones
from neo_events.ical import feeds
from neo_events.models import AuditEntry, FeedToken
from tests.helpers import (
    Account,
    assert_problem,
    audit_actions,
    count_rows,
    create_event,
    register,
    share,
)

pytestmark = pytest.mark.anyio

ICS_1 = f'"ics-1-{timezones.RULES_VERSION}"'  # version 1, with the zone rules' release

API = "/api/v1"


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await register(client, "bob")


def weekly_berlin(**overrides: Any) -> dict[str, Any]:
    """Mondays 09:00–10:00 Berlin from 2026-03-16, across the 2026-03-29 and 10-25 changes."""
    body: dict[str, Any] = {
        "title": "Weekly",
        "start_time": "2026-03-16T09:00:00+01:00",
        "end_time": "2026-03-16T10:00:00+01:00",
        "timezone": "Europe/Berlin",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",
    }
    return body | overrides


async def new_feed(client: httpx.AsyncClient, who: Account, name: str | None = None) -> str:
    response = await client.post(
        f"{API}/feed-tokens", json={"name": name} if name else None, headers=who.headers
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def feed(client: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    return await client.get(f"{API}/calendar.ics", params={"token": token}, headers=headers)


# One event as .ics


async def test_an_event_exports_as_icalendar_for_every_role_and_404_for_strangers(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    carol, dave = await register(client, "carol"), await register(client, "dave")
    await share(client, alice, event["id"], bob, "editor")
    await share(client, alice, event["id"], carol, "viewer")
    for who in (alice, bob, carol):
        response = await client.get(f"{API}/events/{event['id']}.ics", headers=who.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert response.headers["etag"] == ICS_1
        [vevent] = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(vevent["UID"]) == f"event-{event['id']}@neo-events"
    stranger = await client.get(f"{API}/events/{event['id']}.ics", headers=dave.headers)
    assert_problem(stranger, 404, "event_not_found")
    missing = await client.get(f"{API}/events/999999.ics", headers=alice.headers)
    assert_problem(missing, 404, "event_not_found")
    assert_problem(await client.get(f"{API}/events/{event['id']}.ics"), 401, "not_authenticated")


async def test_the_ics_path_does_not_shadow_the_json_one(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice)
    as_json = await client.get(f"{API}/events/{event['id']}", headers=alice.headers)
    assert as_json.headers["content-type"] == "application/json"
    for path in (f"{API}/events/{event['id']}.ics", f"/api/events/{event['id']}.ics"):
        response = await client.get(path, headers=alice.headers)
        assert response.status_code == 200 and response.text.startswith("BEGIN:VCALENDAR")
    assert_problem(
        await client.get(f"{API}/events/abc.ics", headers=alice.headers), 422, "validation_error"
    )


async def test_the_ics_export_has_an_etag_that_follows_the_version(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    path = f"{API}/events/{event['id']}.ics"
    first = await client.get(path, headers=alice.headers)
    cached = await client.get(path, headers=alice.headers | {"If-None-Match": ICS_1})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == first.headers["etag"] == ICS_1
    moved = await client.delete(
        f"{API}/events/{event['id']}/instances/2026-03-23T08:00:00Z", headers=alice.headers
    )
    assert moved.status_code == 204, moved.text
    second = await client.get(path, headers=alice.headers | {"If-None-Match": ICS_1})
    assert (
        second.status_code == 200 and second.headers["etag"] == f'"ics-2-{timezones.RULES_VERSION}"'
    )
    [vevent] = Calendar.from_ical(second.content).walk("VEVENT")
    assert vevent["SEQUENCE"] == 1
    assert "EXDATE;TZID=Europe/Berlin:20260323T090000" in second.text


# Feed tokens


async def test_feed_tokens_are_created_listed_and_revoked_with_an_audit_trail(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    created = await client.post(f"{API}/feed-tokens", json={"name": "Phone"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "name", "token", "url", "created_at"}
    token = body["token"]
    assert token.startswith("nef_") and len(token) > 40
    assert body["url"] == f"http://testserver{API}/calendar.ics?token={token}"
    listed = await client.get(f"{API}/feed-tokens", headers=alice.headers)
    assert listed.json() == {
        "items": [{"id": body["id"], "name": "Phone", "created_at": body["created_at"]}]
    }
    async with app.state.sessionmaker() as session:
        stored = (await session.execute(select(FeedToken))).scalar_one()
        details = [str(e.details) for e in (await session.scalars(select(AuditEntry))).all()]
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in d for d in details)

    assert (await feed(client, token)).status_code == 200
    revoked = await client.delete(f"{API}/feed-tokens/{body['id']}", headers=alice.headers)
    assert revoked.status_code == 204
    assert_problem(await feed(client, token), 404, "feed_not_found")
    again = await client.delete(f"{API}/feed-tokens/{body['id']}", headers=alice.headers)
    assert_problem(again, 404, "feed_token_not_found")
    gone = await client.get(f"{API}/feed-tokens/{body['id']}", headers=alice.headers)
    assert_problem(gone, 404, "feed_token_not_found")
    assert (await client.get(f"{API}/feed-tokens", headers=alice.headers)).json() == {"items": []}
    assert [a for a in await audit_actions(app) if a[0].startswith("feed_token")] == [
        ("feed_token.created", "success"),
        ("feed_token.revoked", "success"),
    ]


async def test_a_feed_token_opens_the_feed_and_nothing_else(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    token = await new_feed(client, alice)
    as_bearer = {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", "/auth/me"), ("GET", "/events"), ("GET", "/feed-tokens"),
                         ("POST", "/feed-tokens")):  # fmt: skip
        response = await client.request(method, f"{API}{path}", headers=as_bearer)
        assert_problem(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == "Bearer"
    # someone else's token cannot be read or revoked, and looks like no token at all
    token_id = (await client.get(f"{API}/feed-tokens", headers=alice.headers)).json()["items"][0]
    unseen = await client.get(f"{API}/feed-tokens/{token_id['id']}", headers=bob.headers)
    assert_problem(unseen, 404, "feed_token_not_found")
    refused = await client.delete(f"{API}/feed-tokens/{token_id['id']}", headers=bob.headers)
    assert_problem(refused, 404, "feed_token_not_found")
    assert (await feed(client, token)).status_code == 200


async def test_unknown_and_revoked_tokens_look_the_same(
    client: httpx.AsyncClient, alice: Account
) -> None:
    token = await new_feed(client, alice)
    token_id = (await client.get(f"{API}/feed-tokens", headers=alice.headers)).json()["items"][0]
    await client.delete(f"{API}/feed-tokens/{token_id['id']}", headers=alice.headers)
    revoked, unknown = await feed(client, token), await feed(client, "nef_" + "x" * 43)
    assert_problem(revoked, 404, "feed_not_found")
    assert_problem(unknown, 404, "feed_not_found")
    assert revoked.json()["detail"] == unknown.json()["detail"]
    assert_problem(await client.get(f"{API}/calendar.ics"), 422, "validation_error")


async def test_feed_token_names_are_optional_and_bounded(
    client: httpx.AsyncClient, alice: Account
) -> None:
    unnamed = await client.post(f"{API}/feed-tokens", headers=alice.headers)
    assert unnamed.status_code == 201 and unnamed.json()["name"] is None
    long = await client.post(f"{API}/feed-tokens", json={"name": "x" * 101}, headers=alice.headers)
    assert_problem(long, 422, "validation_error")
    assert_problem(await client.post(f"{API}/feed-tokens"), 401, "not_authenticated")


async def test_a_user_holds_a_bounded_number_of_feed_tokens(
    client: httpx.AsyncClient, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "FEED_TOKENS", dataclasses.replace(feeds.FEED_TOKENS, limit=2))
    for _ in range(2):
        await new_feed(client, alice)
    refused = await client.post(f"{API}/feed-tokens", headers=alice.headers)
    assert_problem(refused, 409, "too_many_feed_tokens")
    await new_feed(client, bob)  # a budget per user


# The feed


async def test_the_feed_holds_every_live_event_the_owner_has_a_role_on(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    mine = await create_event(client, bob, title="Bob's own")
    shared = await create_event(client, alice, title="Shared with Bob")
    await create_event(client, alice, title="Alice only")
    gone = await create_event(client, bob, title="Deleted")
    await share(client, alice, shared["id"], bob, "viewer")
    await client.delete(f"{API}/events/{gone['id']}", headers=bob.headers)
    response = await feed(client, await new_feed(client, bob))
    calendar = Calendar.from_ical(response.content)
    assert sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT")) == [
        "Bob's own",
        "Shared with Bob",
    ]
    assert sorted(str(e["UID"]) for e in calendar.walk("VEVENT")) == sorted(
        f"event-{e['id']}@neo-events" for e in (mine, shared)
    )
    assert str(calendar["X-WR-CALNAME"]) == "Neo Events (bob)"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nX-PUBLISHED-TTL:PT1H\r\n" in response.text
    assert [str(t["TZID"]) for t in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


async def test_the_feed_etag_changes_whenever_its_content_does(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    token = await new_feed(client, bob)
    event = await create_event(client, alice)

    async def etag_after(change: Any = None) -> str:
        if change is not None:
            response = await change
            assert response.status_code < 300, response.text
        first = await feed(client, token)
        cached = await feed(client, token, **{"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["etag"] == first.headers["etag"]
        return str(first.headers["etag"])

    tags = [await etag_after()]
    share_body = {"users": [{"user_id": bob.id, "role": "viewer"}]}
    path = f"{API}/events/{event['id']}"
    for change in (
        client.post(f"{path}/share", json=share_body, headers=alice.headers),
        client.patch(path, json={"title": "Renamed"}, headers=alice.headers),
        client.delete(f"{path}/permissions/{bob.id}", headers=alice.headers),
        client.post(f"{path}/share", json=share_body, headers=alice.headers),
        client.delete(path, headers=alice.headers),
    ):
        tags.append(await etag_after(change))
    # The tag names the content: the unshare and the delete give the empty feed's tag back,
    # sharing again the same event at the same version gives its tag back.
    empty, shared, renamed = tags[0], tags[1], tags[2]
    assert len({empty, shared, renamed}) == 3
    assert tags == [empty, shared, renamed, empty, renamed, empty]


WINDOWS = [  # each crosses a daylight-saving change in Berlin or New York
    ("2026-03-20T00:00:00Z", "2026-04-20T00:00:00Z"),
    ("2026-10-15T00:00:00Z", "2026-11-15T00:00:00Z"),
    ("2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z"),
]


async def _listed(
    client: httpx.AsyncClient, who: Account, start: str, end: str
) -> list[tuple[datetime, datetime, str]]:
    found, cursor = [], None
    while True:
        params = {"start_time": start, "end_time": end, "limit": 500}
        response = await client.get(
            f"{API}/events", params=params | ({"cursor": cursor} if cursor else {}),
            headers=who.headers,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        page = response.json()
        found += [
            (
                datetime.fromisoformat(i["start_time"]),
                datetime.fromisoformat(i["end_time"]),
                i["title"],
            )
            for i in page["items"]
        ]
        if not (cursor := page["next_cursor"]):
            return sorted(found)


def _expanded(body: bytes, start: str, end: str) -> list[tuple[datetime, datetime, str]]:
    calendar = Calendar.from_ical(body)
    window = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    return sorted(
        (
            e["DTSTART"].dt.astimezone(UTC),
            e["DTEND"].dt.astimezone(UTC),
            str(e["SUMMARY"]),
        )
        for e in recurring_ical_events.of(calendar).between(*window)
    )


async def create_sample_calendar(client: httpx.AsyncClient, who: Account) -> None:
    """A single event, a weekly series across DST with an exdate and a moved occurrence, and
    a monthly last-Friday series in New York."""
    await create_event(
        client, who, title="Dentist", start_time="2026-03-25T10:00:00Z",
        end_time="2026-03-25T11:00:00Z", timezone="UTC",
    )  # fmt: skip
    weekly = await create_event(client, who, **weekly_berlin())
    await create_event(
        client, who, title="Last Friday", start_time="2026-01-30T15:00:00-05:00",
        end_time="2026-01-30T16:30:00-05:00", timezone="America/New_York", is_recurring=True,
        recurrence_pattern="FREQ=MONTHLY;BYDAY=-1FR",
    )  # fmt: skip
    occurrences = f"{API}/events/{weekly['id']}/instances"
    cancelled = await client.delete(f"{occurrences}/2026-04-06T07:00:00Z", headers=who.headers)
    assert cancelled.status_code == 204, cancelled.text
    moved = await client.put(
        f"{occurrences}/2026-03-30T07:00:00Z",
        json={"start_time": "2026-03-31T14:00:00+02:00", "end_time": "2026-03-31T15:30:00+02:00",
              "title": "Weekly (moved)"},
        headers=who.headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    renamed = await client.put(
        f"{occurrences}/2026-10-26T08:00:00Z", json={"title": "After the change"},
        headers=who.headers,
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.text


@pytest.mark.parametrize(("start", "end"), WINDOWS, ids=["spring", "autumn", "year"])
async def test_a_feed_read_by_an_icalendar_library_gives_exactly_the_listed_occurrences(
    client: httpx.AsyncClient, alice: Account, start: str, end: str
) -> None:
    await create_sample_calendar(client, alice)
    body = (await feed(client, await new_feed(client, alice))).content
    listed = await _listed(client, alice, start, end)
    assert len({title for *_, title in listed}) >= 3
    assert _expanded(body, start, end) == listed
    assert len(Calendar.from_ical(body).walk("VEVENT")) == 5  # 3 events and 2 overrides


async def test_the_feed_of_a_user_without_events_is_an_empty_calendar(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    response = await feed(client, await new_feed(client, alice))
    calendar = Calendar.from_ical(response.content)
    assert calendar.walk("VEVENT") == [] and str(calendar["VERSION"]) == "2.0"
    assert await count_rows(app, "feed_tokens", user_id=alice.id) == 1


async def test_the_exported_vtimezone_holds_for_a_never_ending_series(
    client: httpx.AsyncClient, alice: Account
) -> None:
    zone = "Australia/Lord_Howe"  # half-hour DST, southern hemisphere
    event = await create_event(
        client, alice, title="Standup", start_time="2026-01-05T09:00:00+11:00",
        end_time="2026-01-05T09:15:00+11:00", timezone=zone, is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY",
    )  # fmt: skip
    body = (await client.get(f"{API}/events/{event['id']}.ics", headers=alice.headers)).content
    [vtimezone] = Calendar.from_ical(body).walk("VTIMEZONE")
    reader = tz.tzical(io.StringIO(vtimezone.to_ical().decode())).get(zone)
    # 09:00 on every Monday of 2040 and 2100, read through the VTIMEZONE alone
    for year in (2040, 2100):
        monday = datetime(year, 1, 2, 9) + timedelta(days=(7 - datetime(year, 1, 2).weekday()) % 7)
        for week in range(53):
            wall = monday + timedelta(weeks=week)
            assert wall.replace(tzinfo=reader).utcoffset() == (
                wall.replace(tzinfo=ZoneInfo(zone)).utcoffset()
            ), wall


@pytest.mark.parametrize(
    ("start", "minutes", "rule"),
    [
        ("2026-03-16T09:00:00+01:00", 60, "FREQ=WEEKLY;BYDAY=TU;COUNT=2"),  # a Monday start
        ("2026-10-25T02:30:00+01:00", 90, "FREQ=DAILY;COUNT=3"),  # the second 02:30
        ("2026-10-25T02:30:00+01:00", 30, "FREQ=WEEKLY;BYDAY=MO;COUNT=2"),  # both
    ],
    ids=["count-start-off-rule", "second-0230", "second-0230-off-rule"],
)
async def test_an_exported_series_reads_as_the_api_lists_it(
    client: httpx.AsyncClient, alice: Account, start: str, minutes: int, rule: str
) -> None:
    end = (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()
    event = await create_event(
        client, alice, title="Series", start_time=start, end_time=end,
        timezone="Europe/Berlin", is_recurring=True, recurrence_pattern=rule,
    )  # fmt: skip
    body = (await client.get(f"{API}/events/{event['id']}.ics", headers=alice.headers)).content
    window = ("2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z")
    listed = await _listed(client, alice, *window)
    assert listed[0][0] == datetime.fromisoformat(start)
    assert _expanded(body, *window) == listed


# Reminders as VALARMs (SPEC §14)


def alarms_of(body: bytes) -> list[tuple[str, timedelta, str, str]]:
    """(VEVENT RECURRENCE-ID or '', TRIGGER, ACTION, DESCRIPTION) of every VALARM, as the
    icalendar library reads them."""
    found = []
    for vevent in Calendar.from_ical(body).walk("VEVENT"):
        rid = vevent.get("RECURRENCE-ID")
        for alarm in vevent.walk("VALARM"):
            found.append(
                (
                    rid.dt.isoformat() if rid else "",
                    alarm["TRIGGER"].dt,
                    str(alarm["ACTION"]),
                    str(alarm["DESCRIPTION"]),
                )
            )
    return sorted(found)


async def test_my_export_and_feed_carry_my_reminders_as_valarms_and_nobody_elses(
    client: httpx.AsyncClient, alice: Account, bob: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin(title="Standup"))
    plain = await create_event(client, alice, title="Lunch")
    await share(client, alice, event["id"], bob, "viewer")
    moved = await client.put(
        f"{API}/events/{event['id']}/instances/2026-03-23T08:00:00Z",
        json={"title": "Standup (moved)", "start_time": "2026-03-23T10:00:00Z",
              "end_time": "2026-03-23T11:00:00Z"},
        headers=alice.headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    path = f"{API}/events/{event['id']}.ics"
    before = await client.get(path, headers=alice.headers)
    assert alarms_of(before.content) == []
    for who, minutes in ((alice, [10, 0]), (bob, [30])):
        response = await client.put(
            f"{API}/events/{event['id']}/reminders",
            json={"reminders": [{"minutes_before": m} for m in minutes]},
            headers=who.headers,
        )
        assert response.status_code == 200, response.text

    # My .ics: my reminders on the series and on its moved occurrence, named after each.
    mine = await client.get(path, headers=alice.headers | {"If-None-Match": before.headers["etag"]})
    assert mine.status_code == 200  # reminders change no version, but change the file
    rid = "2026-03-23T09:00:00+01:00"
    assert alarms_of(mine.content) == [
        ("", timedelta(minutes=-10), "DISPLAY", "Standup"),
        ("", timedelta(0), "DISPLAY", "Standup"),
        (rid, timedelta(minutes=-10), "DISPLAY", "Standup (moved)"),
        (rid, timedelta(0), "DISPLAY", "Standup (moved)"),
    ]
    assert "TRIGGER:-PT10M" in mine.text
    # Bob's export of alice's event holds bob's reminder only, and alice's never shows there.
    bobs = await client.get(path, headers=bob.headers)
    assert [a[1] for a in alarms_of(bobs.content)] == [timedelta(minutes=-30)] * 2
    assert bobs.headers["etag"] != mine.headers["etag"]

    # The feeds: each owner's reminders, on the events they set them on.
    for who, triggers in ((alice, {-10, 0}), (bob, {-30})):
        body = (await feed(client, await new_feed(client, who))).content
        by_uid: dict[str, set[int]] = {}
        for vevent in Calendar.from_ical(body).walk("VEVENT"):
            by_uid.setdefault(str(vevent["UID"]), set()).update(
                int(a["TRIGGER"].dt / timedelta(minutes=1)) for a in vevent.walk("VALARM")
            )
        assert by_uid[f"event-{event['id']}@neo-events"] == triggers
        assert by_uid.get(f"event-{plain['id']}@neo-events", set()) == set()

    # Removing my reminders changes the feed and the file again.
    token = await new_feed(client, alice)
    etag = (await feed(client, token)).headers["etag"]
    await client.put(f"{API}/events/{event['id']}/reminders", json={"reminders": []},
                     headers=alice.headers)  # fmt: skip
    again = await feed(client, token, **{"If-None-Match": etag})
    assert again.status_code == 200 and alarms_of(again.content) == []


async def test_texts_with_backslashes_read_back_as_typed_on_every_vevent_and_alarm(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A backslash and `N` typed by a user are text, not iCalendar's line break (icalendar's
    vText turns them into one): the series, each override (the later ones are written from
    a stencil) and each alarm read back, by icalendar, exactly as typed."""
    title, place = r"C:\New folder", "a\\N; b, c\\\\N"
    event = await create_event(
        client, alice, title=title, description="one\ntwo \\n", location=place,
        timezone="UTC", start_time="2026-03-02T09:00:00Z", end_time="2026-03-02T10:00:00Z",
        is_recurring=True, recurrence_pattern="FREQ=DAILY;COUNT=5",
    )  # fmt: skip
    changed = {}
    for day in (3, 4, 5):
        rid = f"2026-03-0{day}T09:00:00Z"
        changed[rid] = {"title": f"\\N{day}", "location": f"D:\\Next\\{day}"}
        response = await client.put(
            f"{API}/events/{event['id']}/instances/{rid}", json=changed[rid], headers=alice.headers
        )
        assert response.status_code == 200, response.text
    reminders = await client.put(
        f"{API}/events/{event['id']}/reminders",
        json={"reminders": [{"minutes_before": 10}]},
        headers=alice.headers,
    )
    assert reminders.status_code == 200, reminders.text

    exported = await client.get(f"{API}/events/{event['id']}.ics", headers=alice.headers)
    vevents = Calendar.from_ical(exported.content).walk("VEVENT")
    assert len(vevents) == 4
    for vevent in vevents:
        rid = vevent.get("RECURRENCE-ID")
        expected = changed[rid.dt.strftime("%Y-%m-%dT%H:%M:%SZ")] if rid else {}
        assert str(vevent["SUMMARY"]) == expected.get("title", title)
        assert str(vevent["LOCATION"]) == expected.get("location", place)
        assert str(vevent["DESCRIPTION"]) == "one\ntwo \\n"
        [alarm] = vevent.walk("VALARM")
        assert str(alarm["DESCRIPTION"]) == expected.get("title", title)


async def test_line_breaks_and_a_byte_order_mark_are_stored_as_icalendar_carries_them(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """iCalendar has one line break (`\\n`) and readers drop a leading U+FEFF: texts are
    stored so, and every export reads back as the API shows them (an outside attack found
    `a\\rb` read back as `a\\nb`)."""
    event = await create_event(
        client, alice, title="\ufeff \ufeffPlan\r\nB", description="\ufeff\ufeffa\rb\r\nc\n",
        location="\ufeff\ufeffRoom",
    )  # fmt: skip
    assert (event["title"], event["description"], event["location"]) == (
        "Plan\nB", "a\nb\nc\n", "Room",
    )  # fmt: skip
    exported = await client.get(f"{API}/events/{event['id']}.ics", headers=alice.headers)
    [vevent] = Calendar.from_ical(exported.content).walk("VEVENT")
    assert [str(vevent[n]) for n in ("SUMMARY", "DESCRIPTION", "LOCATION")] == [
        event["title"], event["description"], event["location"],
    ]  # fmt: skip
