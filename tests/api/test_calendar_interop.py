"""What the API expands, an independent library reads from the exported file (issue #18).

A few hundred generated series — every frequency down to MINUTELY, all-day ones, rdates,
exdates, COUNT and UNTIL, in zones with DST changes — are created through the API, exported
as `.ics`, and expanded by `recurring-ical-events`; both must list the same starts.
Not generated: BYDAY mixing plain and numbered weekdays, which RFC 5545 unites and dateutil
(under recurring-ical-events) intersects.
"""

from __future__ import annotations

import random
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import recurring_ical_events  # type: ignore[import-untyped]

from tests.helpers import Account

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
RULES = 300


def _rule(rng: random.Random, all_day: bool) -> tuple[str, timedelta]:
    """A random rule and a window length that keeps its expansion within the limits."""
    freqs = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
    if not all_day:
        freqs += ["HOURLY", "MINUTELY"]
    freq = rng.choice(freqs)
    parts = [f"FREQ={freq}"]
    days = {"MINUTELY": 4, "HOURLY": 40, "DAILY": 200, "WEEKLY": 366}.get(freq, 366)
    window = timedelta(days=days)
    if freq == "MINUTELY":
        parts.append(f"INTERVAL={rng.choice([15, 30, 45, 90, 7])}")
    elif rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.randint(2, 4)}")
    kind = rng.choice(["none", "byday", "nth", "monthday", "setpos", "times"])
    if kind == "byday" or (kind == "nth" and freq not in ("MONTHLY", "YEARLY")):
        parts.append("BYDAY=" + ",".join(rng.sample(DAYS, rng.randint(1, 3))))
    elif kind == "nth":
        parts.append(f"BYDAY={rng.choice([1, 2, -1])}{rng.choice(DAYS)}")
    elif kind == "monthday" and freq != "WEEKLY":
        parts.append(f"BYMONTHDAY={rng.choice([1, 13, 28, -1])}")
    elif kind == "setpos" and freq in ("MONTHLY", "YEARLY"):
        parts.append("BYDAY=MO,TU,WE,TH,FR;BYSETPOS=" + rng.choice(["1", "-1", "2,-2"]))
    elif kind == "times" and not all_day and freq not in ("MINUTELY",):
        if freq != "HOURLY":
            parts.append(f"BYHOUR={','.join(map(str, sorted(rng.sample(range(24), 2))))}")
        parts.append(f"BYMINUTE={','.join(map(str, sorted(rng.sample(range(0, 60, 5), 2))))}")
    end = rng.choice(["open", "count", "until"])
    if end == "count":
        parts.append(f"COUNT={rng.randint(1, 40)}")
    elif end == "until":
        until = datetime(2026, 3, 1) + window * rng.random()
        parts.append(f"UNTIL={until:%Y%m%d}" if all_day else f"UNTIL={until:%Y%m%dT%H%M%S}Z")
    return ";".join(parts), window


async def _instances(
    client: httpx.AsyncClient, who: Account, event_id: int, lo: datetime, hi: datetime
) -> list[dict[str, Any]]:
    """Every occurrence `/instances` lists in [lo, hi), following `next_cursor`."""
    items: list[dict[str, Any]] = []
    params = {"start_time": lo.isoformat(), "end_time": hi.isoformat(), "limit": "500"}
    while True:
        listed = await client.get(
            f"{EVENTS}/{event_id}/instances", params=params, headers=who.headers
        )
        assert listed.status_code == 200, listed.text
        items += listed.json()["items"]
        if (cursor := listed.json()["next_cursor"]) is None:
            return items
        params["cursor"] = cursor


def _body(rng: random.Random) -> tuple[dict[str, Any], timedelta]:
    zone = rng.choice(ZONES)
    all_day = rng.random() < 0.25
    rule, window = _rule(rng, all_day)
    first = date(2026, 3, 1) + timedelta(days=rng.randint(0, 40))
    body: dict[str, Any] = {
        "title": "Generated",
        "timezone": zone,
        "is_recurring": True,
        "recurrence_pattern": rule,
    }
    if all_day:
        body |= {"all_day": True, "start_date": first.isoformat()}
        body["end_date"] = (first + timedelta(days=rng.choice([1, 1, 2]))).isoformat()
    else:
        wall = datetime.combine(first, time(rng.choice([0, 1, 9, 13, 22]), rng.choice([0, 30])))
        start = wall.replace(tzinfo=ZoneInfo(zone))
        body["start_time"] = start.isoformat()
        body["end_time"] = (start + timedelta(minutes=rng.choice([5, 10]))).isoformat()
    return body, window


def _reference(ics: bytes, lo: datetime, hi: datetime, zone: str) -> set[datetime]:
    def instant(value: Any) -> datetime:
        if not isinstance(value, datetime):  # a date: that day's midnight in the event's zone
            value = datetime.combine(value, time()).replace(tzinfo=ZoneInfo(zone))
        return value.astimezone(UTC)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calendar = icalendar.Calendar.from_ical(ics)
        found = recurring_ical_events.of(calendar).between(lo, hi)
    return {s for s in (instant(e["DTSTART"].dt) for e in found) if lo <= s < hi}


async def test_generated_rules_agree_with_recurring_ical_events_on_the_export(
    client: httpx.AsyncClient, alice: Account
) -> None:
    rng = random.Random(18)
    checked = refused = 0
    for _ in range(RULES):
        body, length = _body(rng)
        response = await client.post(
            EVENTS, params={"conflicts": "ignore"}, json=body, headers=alice.headers
        )
        if response.status_code == 422:  # a rule that never occurs, say: said, not expanded
            assert response.json()["code"] == "validation_error", response.text
            refused += 1
            continue
        assert response.status_code == 201, response.text
        event = response.json()
        lo = datetime.fromisoformat(event["start_time"]) - timedelta(days=1)
        hi = lo + length
        listed = await _instances(client, alice, event["id"], lo, hi)
        ours = {
            s for s in (datetime.fromisoformat(i["start_time"]) for i in listed) if lo <= s < hi
        }
        exported = await client.get(f"{EVENTS}/{event['id']}.ics", headers=alice.headers)
        theirs = _reference(exported.content, lo, hi, body["timezone"])
        assert ours == theirs, (body, sorted(ours ^ theirs)[:5])
        checked += 1
    assert checked > RULES * 0.9 and refused < RULES * 0.1


async def test_the_four_calendars_of_issue_18_round_trip(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A multi-day holiday, a 29 February birthday, medication every 4 hours and an
    RDATE-only series: made through the API, listed from Tokyo and Los Angeles, exported,
    and read back by an independent library as the same occurrences."""
    made = []
    for body in (
        {"title": "Holidays", "all_day": True, "start_date": "2026-12-24",
         "end_date": "2026-12-27", "timezone": "Europe/Berlin"},
        {"title": "Birthday", "all_day": True, "start_date": "2028-02-29",
         "is_recurring": True, "recurrence_pattern": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"},
        {"title": "Medication", "start_time": "2026-12-20T08:00:00+01:00",
         "end_time": "2026-12-20T08:05:00+01:00", "timezone": "Europe/Berlin",
         "is_recurring": True, "recurrence_pattern": "FREQ=HOURLY;INTERVAL=4;COUNT=40"},
        {"title": "Sessions", "start_time": "2026-12-21T17:00:00Z",
         "end_time": "2026-12-21T18:00:00Z", "timezone": "UTC",
         "rdates": ["2026-12-23T09:00:00Z", "2026-12-29T17:00:00Z"]},
    ):  # fmt: skip
        response = await client.post(
            EVENTS, params={"conflicts": "ignore"}, json=body, headers=alice.headers
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    lo, hi = datetime(2026, 12, 1, tzinfo=UTC), datetime(2029, 3, 31, tzinfo=UTC)
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        listed = await client.get(
            EVENTS,
            params={"start_time": "2026-12-01T00:00:00Z", "end_time": "2027-12-01T00:00:00Z",
                    "timezone": zone, "limit": 500},
            headers=alice.headers,
        )  # fmt: skip
        items = listed.json()["items"]
        holiday = [i for i in items if i["title"] == "Holidays"]
        assert [(i["start_date"], i["end_date"]) for i in holiday] == [("2026-12-24", "2026-12-27")]
        assert datetime.fromisoformat(holiday[0]["start_time"]).astimezone(
            ZoneInfo(zone)
        ).time() == time(0)
        assert len([i for i in items if i["title"] == "Medication"]) == 40
        assert len([i for i in items if i["title"] == "Sessions"]) == 3
    for event in made:
        exported = await client.get(f"{EVENTS}/{event['id']}.ics", headers=alice.headers)
        ours: set[datetime] = set()
        year_lo = lo
        while year_lo < hi:  # windows of at most 366 days
            year_hi = min(hi, year_lo + timedelta(days=366))
            listed = await _instances(client, alice, event["id"], year_lo, year_hi)
            ours |= {datetime.fromisoformat(i["start_time"]) for i in listed}
            year_lo = year_hi
        theirs = _reference(exported.content, lo, hi, event["timezone"])
        ours = {s for s in ours if lo <= s < hi}
        assert ours == theirs, event["title"]
        # and our own import reads the export back as the same event
        again = await client.post(
            f"{EVENTS}/import",
            content=exported.content,
            headers=alice.headers | {"content-type": "text/calendar"},
            params={"conflicts": "ignore"},
        )
        assert again.status_code == 201, again.text
        [copy] = again.json()["items"]
        # dates are floating: an all-day event's own zone is not in the file (its times,
        # those dates' midnights there, are then the importer's zone's)
        times = () if event["all_day"] else ("start_time", "end_time")
        for field in ("all_day", "start_date", "end_date", "recurrence_pattern", "rdates",
                      "transparency", *times):  # fmt: skip
            assert copy[field] == event[field], (event["title"], field)
