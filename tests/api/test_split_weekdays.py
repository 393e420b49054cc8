""" "This and following" moved to another day: the new series' rule recurs on the days it
moved to (a weekly Monday meeting moved to Tuesday recurs on Tuesdays), as calendar apps do.
It kept `BYDAY=MO`, so the new series had one Tuesday and then Mondays again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import Account, create_event, created

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


async def split(
    client: httpx.AsyncClient, who: Account, event_id: int, rid: str, **changes: Any
) -> dict[str, Any]:
    response = await client.put(
        f"{EVENTS}/{event_id}/instances/{rid}",
        params={"scope": "following"},
        json=changes,
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def starts(
    client: httpx.AsyncClient, who: Account, event_id: int, lo: str, hi: str, key: str
) -> list[str]:
    response = await client.get(
        f"{EVENTS}/{event_id}/instances",
        params={"start_time": lo, "end_time": hi},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    return [i[key] for i in response.json()["items"]]


def timed(start: str, end: str, zone: str, rule: str) -> dict[str, Any]:
    return dict(
        title="Meeting", start_time=start, end_time=end, timezone=zone, is_recurring=True,
        recurrence_pattern=rule,
    )  # fmt: skip


async def test_a_timed_series_moved_a_day_recurs_on_the_days_it_moved_to(
    client: httpx.AsyncClient, alice: Account
) -> None:
    # Mondays and Wednesdays 09:00 Berlin; Wednesday 1 April's on moves to Thursday
    event = await create_event(
        client,
        alice,
        **timed(
            "2026-03-16T09:00:00+01:00",
            "2026-03-16T10:00:00+01:00",
            "Europe/Berlin",
            "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8",
        ),  # fmt: skip
    )
    moved = await split(
        client, alice, event["id"], "2026-04-01T07:00:00Z",
        start_time="2026-04-02T07:00:00Z", end_time="2026-04-02T08:00:00Z",
    )  # fmt: skip
    assert moved["recurrence_pattern"] == "FREQ=WEEKLY;COUNT=3;BYDAY=TU,TH"
    assert await starts(
        client, alice, moved["id"], "2026-03-30T00:00:00Z", "2026-05-01T00:00:00Z", "start_time"
    ) == [
        "2026-04-02T07:00:00Z",  # Thursday
        "2026-04-07T07:00:00Z",  # Tuesday
        "2026-04-09T07:00:00Z",  # Thursday: three left of eight
    ]


async def test_the_day_is_the_series_zones_not_utcs(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Monday 23:30 in New York moved an hour later is Tuesday there, Tuesday in UTC both
    times: a day moved on the series' own clock."""
    event = await create_event(
        client,
        alice,
        **timed(
            "2026-06-01T23:30:00-04:00",
            "2026-06-02T00:00:00-04:00",
            "America/New_York",
            "FREQ=WEEKLY;BYDAY=MO",
        ),  # fmt: skip
    )
    moved = await split(
        client, alice, event["id"], "2026-06-16T03:30:00Z",
        start_time="2026-06-16T04:30:00Z", end_time="2026-06-16T05:00:00Z",
    )  # fmt: skip
    assert moved["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=TU"
    # an hour later the same day changes nothing
    same = await split(
        client, alice, moved["id"], "2026-06-23T04:30:00Z",
        start_time="2026-06-23T05:30:00Z", end_time="2026-06-23T06:00:00Z",
    )  # fmt: skip
    assert same["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=TU"


async def test_an_all_day_series_and_a_whole_series_moved_from_its_first_day(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client,
        alice,
        dict(
            title="Market",
            all_day=True,
            start_date="2026-07-04",
            end_date="2026-07-05",
            timezone="Europe/Paris",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;BYDAY=SA",
        ),
    )
    # from its first Saturday: the whole series moves to Sundays, no split
    whole = await split(
        client, alice, event["id"], "2026-07-04", start_date="2026-07-05", end_date="2026-07-06"
    )
    assert whole["id"] == event["id"] and whole["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=SU"
    assert await starts(
        client, alice, event["id"], "2026-07-01T00:00:00Z", "2026-07-20T00:00:00Z", "start_date"
    ) == ["2026-07-05", "2026-07-12", "2026-07-19"]
    # from 19 July on, to Fridays (two days earlier)
    later = await split(
        client, alice, event["id"], "2026-07-19", start_date="2026-07-17", end_date="2026-07-18"
    )
    assert later["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=FR"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYDAY=1MO",  # which Tuesday a first Monday becomes depends on the month
        "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1,2,3,4,5,6,7",  # days picked another way too
        "FREQ=WEEKLY",  # no weekdays named: the start says the day
    ],
)
async def test_rules_that_do_not_name_plain_weekdays_alone_are_kept(
    client: httpx.AsyncClient, alice: Account, rule: str
) -> None:
    event = await create_event(
        client,
        alice,
        **timed("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z", "UTC", rule + ";COUNT=3"),
    )
    moved = await split(
        client, alice, event["id"], "2026-06-01T09:00:00Z",
        start_time="2026-06-02T09:00:00Z", end_time="2026-06-02T10:00:00Z",
    )  # fmt: skip
    assert moved["recurrence_pattern"] == rule.replace(
        "FREQ=MONTHLY;", "FREQ=MONTHLY;COUNT=3;"
    ).replace("FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=3")


async def test_every_other_week_the_week_start_moves_too_and_every_weekday_stays(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Mondays and Sundays every other week (a week from Monday): moved a day later, the
    Monday's Tuesday and the Sunday's Monday are one week's (WKST moves too); every second
    meeting landed a week late (an outside attack). And Monday to Friday stays so."""
    fortnight = await create_event(
        client,
        alice,
        **timed(
            "2027-01-04T09:00:00Z",
            "2027-01-04T10:00:00Z",
            "UTC",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=MO",
        ),  # fmt: skip
    )
    moved = await split(
        client, alice, fortnight["id"], "2027-01-18T09:00:00Z",
        start_time="2027-01-19T09:00:00Z", end_time="2027-01-19T10:00:00Z",
    )  # fmt: skip
    assert moved["recurrence_pattern"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,MO;WKST=TU"
    assert [s[:10] for s in await starts(
        client, alice, moved["id"], "2027-01-18T00:00:00Z", "2027-02-10T00:00:00Z", "start_time"
    )] == ["2027-01-19", "2027-01-25", "2027-02-02", "2027-02-08"]  # fmt: skip
    weekdays = await create_event(
        client,
        alice,
        **timed(
            "2027-01-04T09:00:00Z", "2027-01-04T10:00:00Z", "UTC", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"
        ),  # fmt: skip
    )
    later = await split(
        client, alice, weekdays["id"], "2027-01-11T09:00:00Z",
        start_time="2027-01-12T09:00:00Z", end_time="2027-01-12T10:00:00Z",
    )  # fmt: skip
    assert later["recurrence_pattern"] == "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"
