"""Times at the edges of what a datetime can hold never become a 500 (issue #17, item 5).

Every time-typed input of the API (query, path, body, a rule's UNTIL, a cursor, an imported
file) is tried at years 1, 2, 1899/1900, 2199/2200, 9998 and 9999, with offsets up to ±23:59
and microseconds: each answer is a 422 problem or a correct success, never a server error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import Account, assert_problem, create_event, register

pytestmark = pytest.mark.anyio

API = "/api/v1"
EVENTS = f"{API}/events"
LOW = "0001-01-01T00:00:00+23:59"  # before datetime.min once in UTC
HIGH = "9999-12-31T23:59:59-23:59"  # after datetime.max once in UTC
LOW_Z = "0001-01-01T00:00:00Z"
HIGH_Z = "9999-12-31T23:59:59.999999Z"


def q(value: str) -> str:
    return quote(value, safe="")


async def _series(client: httpx.AsyncClient, owner: Account) -> dict[str, Any]:
    return await create_event(
        client,
        owner,
        start_time="2026-03-02T09:00:00+01:00",
        end_time="2026-03-02T10:00:00+01:00",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO",
    )


@pytest.fixture
async def series(client: httpx.AsyncClient, alice: Account) -> dict[str, Any]:
    return await _series(client, alice)


# (method, path, json body) with {id} for a recurring event of the caller's.
EDGE_CASES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"{EVENTS}/{{id}}?as_of={q(LOW)}", None),
    ("GET", f"{EVENTS}/{{id}}?as_of={q(HIGH)}", None),
    ("GET", f"{EVENTS}?as_of={q(LOW)}", None),
    ("GET", f"{EVENTS}?as_of={q(HIGH)}", None),
    ("GET", f"{EVENTS}?as_of={q(HIGH)}&start_time=2026-03-01T00:00:00Z"
            f"&end_time=2026-03-31T00:00:00Z", None),
    ("GET", f"{API}/audit?since={q(HIGH)}", None),
    ("GET", f"{API}/audit?since={q(LOW)}", None),
    ("PUT", f"{EVENTS}/{{id}}/instances/{q(LOW)}", {"title": "x"}),
    ("PUT", f"{EVENTS}/{{id}}/instances/{q(HIGH)}", {"title": "x"}),
    ("DELETE", f"{EVENTS}/{{id}}/instances/{q(LOW)}", None),
    ("DELETE", f"{EVENTS}/{{id}}/instances/{q(HIGH)}", None),
    ("DELETE", f"{EVENTS}/{{id}}/instances/{q(HIGH_Z)}?scope=following", None),
    ("GET", f"{EVENTS}?start_time={q(LOW)}&end_time={q(LOW_Z)}", None),
    ("GET", f"{EVENTS}?start_time={q(HIGH_Z)}&end_time={q(HIGH)}", None),
    ("GET", f"{EVENTS}?startTime={q(LOW)}&endTime={q(LOW_Z)}", None),
    ("GET", f"{EVENTS}/{{id}}/instances?start_time={q(LOW)}&end_time={q(LOW_Z)}", None),
    ("GET", f"{EVENTS}/{{id}}/instances?start_time={q(HIGH_Z)}&end_time={q(HIGH)}", None),
    ("GET", f"{API}/freebusy?start_time={q(LOW)}&end_time={q(LOW_Z)}", None),
    ("GET", f"{API}/freebusy?start_time={q(HIGH_Z)}&end_time={q(HIGH)}", None),
    ("GET", f"{EVENTS}/{{id}}/conflicts?start_time={q(LOW)}&end_time={q(LOW_Z)}", None),
    ("GET", f"{EVENTS}/{{id}}/conflicts?start_time={q(HIGH_Z)}&end_time={q(HIGH)}", None),
    ("POST", EVENTS, {"title": "t", "start_time": "2026-03-02T09:00:00Z",
                      "end_time": "2026-03-02T10:00:00Z", "timezone": "Etc/GMT+12",
                      "is_recurring": True,
                      "recurrence_pattern": "FREQ=DAILY;UNTIL=99991231T235959"}),
    ("POST", EVENTS, {"title": "t", "start_time": "2026-03-02T09:00:00Z",
                      "end_time": "2026-03-02T10:00:00Z", "timezone": "Etc/GMT+12",
                      "is_recurring": True, "recurrence_pattern": "FREQ=DAILY;UNTIL=99991231"}),
    ("POST", EVENTS, {"title": "t", "start_time": "2026-03-02T09:00:00Z",
                      "end_time": "2026-03-02T10:00:00Z", "timezone": "Etc/GMT-14",
                      "is_recurring": True,
                      "recurrence_pattern": "FREQ=DAILY;UNTIL=00010101T000000"}),
    ("POST", EVENTS, {"title": "t", "start_time": HIGH, "end_time": HIGH}),
    ("POST", EVENTS, {"title": "t", "start_time": LOW, "end_time": LOW_Z}),
    ("POST", EVENTS, {"title": "t", "start_time": "2026-03-02T09:00:00Z",
                      "end_time": "2026-03-02T10:00:00Z", "exdates": [HIGH]}),
    ("POST", EVENTS, {"title": "t", "start_time": "2026-03-02T09:00:00Z",
                      "end_time": "2026-03-02T10:00:00Z", "overrides": [{"recurrence_id": LOW}]}),
    ("PATCH", f"{EVENTS}/{{id}}", {"end_time": HIGH}),
    ("PUT", f"{EVENTS}/{{id}}/instances/2026-03-09T08:00:00Z", {"start_time": HIGH}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), EDGE_CASES)
async def test_extreme_times_are_422_not_500(
    client: httpx.AsyncClient,
    alice: Account,
    series: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(
        method, path.format(id=series["id"]), json=body, headers=alice.headers
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, 422, response.json()["code"])


# Hypothesis over every time input: edge years, offsets to ±23:59, microseconds.
EDGE_YEARS = [(1, 2), (1899, 1900), (2199, 2200), (9998, 9999)]
OFFSETS = ["Z", "+00:00", "+23:59", "-23:59", "+14:00", "-12:00", "+00:01", "-00:01", "+05:45"]
ZONES = ["UTC", "Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "America/St_Johns"]

# The very edges (where moving across an offset overflows), the supported range's edges,
# and anything in the edge years.
EDGES = [
    datetime.min, datetime(1, 1, 1, 23, 59, 59, 999999), datetime(1, 1, 2),
    datetime(1899, 12, 31, 23, 59, 59, 999999), datetime(1900, 1, 1),
    datetime(2199, 12, 31, 23, 59, 59, 999999), datetime(2200, 1, 1), datetime(2200, 1, 1, 0, 1),
    datetime(9999, 12, 31), datetime(9999, 12, 30, 23, 59, 59), datetime.max,
]  # fmt: skip
walls = st.one_of(
    st.sampled_from(EDGES),
    *[
        st.datetimes(min_value=datetime(lo, 1, 1), max_value=datetime(hi, 12, 31, 23, 59, 59))
        for lo, hi in EDGE_YEARS
    ],
)


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    wall = draw(walls)
    spec = "microseconds" if draw(st.booleans()) else "seconds"
    return wall.isoformat(timespec=spec) + draw(st.sampled_from(OFFSETS))


@st.composite
def ical_time(draw: st.DrawFn) -> str:
    """An iCalendar DATE-TIME (UTC, or floating/zoned) or DATE at the edges."""
    wall = draw(walls)
    date = f"{wall.year:04d}{wall.month:02d}{wall.day:02d}"
    kind = draw(st.sampled_from(["date", "floating", "utc"]))
    if kind == "date":
        return date
    return f"{date}T{wall.hour:02d}{wall.minute:02d}{wall.second:02d}" + (
        "Z" if kind == "utc" else ""
    )


def cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _event(a: str, b: str, z: str, **extra: Any) -> dict[str, Any]:
    return {"title": "t", "start_time": a, "end_time": b, "timezone": z, **extra}


MARCH = {"start_time": "2026-03-01T00:00:00Z", "end_time": "2026-04-01T00:00:00Z"}
RID = "2026-03-09T08:00:00Z"  # the series' second occurrence

# name: (method, path with {id} and {a}, query params, json body), from the times a, b and
# the zone z.
Request = tuple[str, str, dict[str, str] | None, Any]
TARGETS: dict[str, Callable[[str, str, str], Request]] = {
    "list as_of": lambda a, b, z: ("GET", EVENTS, {"as_of": a}, None),
    "list window as_of": lambda a, b, z: ("GET", EVENTS, {"as_of": a, **MARCH}, None),
    "event as_of": lambda a, b, z: ("GET", f"{EVENTS}/{{id}}", {"as_of": a}, None),
    "audit since": lambda a, b, z: ("GET", f"{API}/audit", {"since": a}, None),
    "list window": lambda a, b, z: ("GET", EVENTS, {"start_time": a, "end_time": b}, None),
    "list window alias": lambda a, b, z: ("GET", EVENTS, {"startTime": a, "endTime": b}, None),
    "instances window": lambda a, b, z: (
        "GET", f"{EVENTS}/{{id}}/instances", {"start_time": a, "end_time": b}, None),
    "freebusy window": lambda a, b, z: (
        "GET", f"{API}/freebusy", {"start_time": a, "end_time": b}, None),
    "conflicts window": lambda a, b, z: (
        "GET", f"{EVENTS}/{{id}}/conflicts", {"start_time": a, "end_time": b}, None),
    "list cursor": lambda a, b, z: ("GET", EVENTS, {"cursor": cursor({"s": a, "i": 1})}, None),
    "window cursor": lambda a, b, z: (
        "GET", EVENTS, {"cursor": cursor({"s": a, "i": 1, "r": b}), **MARCH}, None),
    "changelog cursor": lambda a, b, z: (
        "GET", f"{EVENTS}/{{id}}/changelog", {"cursor": cursor({"t": a, "k": 0, "i": 1})}, None),
    "occurrence put, path": lambda a, b, z: (
        "PUT", f"{EVENTS}/{{id}}/instances/{{a}}", None, {"title": "x"}),
    "occurrence put, body": lambda a, b, z: (
        "PUT", f"{EVENTS}/{{id}}/instances/{RID}", None, {"start_time": a, "end_time": b}),
    "occurrence put following": lambda a, b, z: (
        "PUT", f"{EVENTS}/{{id}}/instances/{{a}}", {"scope": "following"}, {"end_time": b}),
    "occurrence delete": lambda a, b, z: ("DELETE", f"{EVENTS}/{{id}}/instances/{{a}}", None, None),
    "create": lambda a, b, z: ("POST", EVENTS, None, _event(a, b, z)),
    "create exdates overrides": lambda a, b, z: ("POST", EVENTS, None, _event(
        "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", z, is_recurring=True,
        recurrence_pattern="FREQ=DAILY", exdates=[a],
        overrides=[{"recurrence_id": b, "start_time": a, "end_time": b}])),
    "batch": lambda a, b, z: ("POST", f"{EVENTS}/batch", None, {"events": [_event(a, b, z)]}),
    "patch": lambda a, b, z: ("PATCH", f"{EVENTS}/{{id}}", None, {
        "start_time": a, "end_time": b, "exdates": [a], "timezone": z}),
    "put overrides": lambda a, b, z: ("PUT", f"{EVENTS}/{{id}}", None, {
        "overrides": [{"recurrence_id": a, "title": "o"}], "timezone": z}),
}  # fmt: skip


def _expect_no_server_error(response: httpx.Response) -> None:
    sent = response.request.content.decode(errors="replace")
    assert response.status_code < 500, f"{response.request.url}\n{sent}\n{response.text}"
    if response.status_code >= 400:
        assert response.status_code in (404, 409, 422), response.text
        assert_problem(response, response.status_code, response.json()["code"])


EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("target", list(TARGETS))
@EXAMPLES
@given(a=rfc3339(), b=rfc3339(), zone=st.sampled_from(ZONES))
@example(a=LOW, b=LOW_Z, zone="Etc/GMT-14")
@example(a=HIGH_Z, b=HIGH, zone="Etc/GMT+12")
@example(a=HIGH, b=LOW, zone="UTC")
async def test_no_time_input_is_a_server_error(
    client: httpx.AsyncClient,
    alice: Account,
    series: dict[str, Any],
    target: str,
    a: str,
    b: str,
    zone: str,
) -> None:
    method, path, params, body = TARGETS[target](a, b, zone)
    response = await client.request(
        method,
        path.format(id=series["id"], a=q(a)),
        params=params,
        json=body,
        headers=alice.headers,
    )
    _expect_no_server_error(response)


@EXAMPLES
@given(dtstart=ical_time(), until=ical_time(), other=ical_time(), zone=st.sampled_from(ZONES))
@example(dtstart="99991231T235959", until="99991231", other="99991231T235959", zone="Etc/GMT+12")
@example(dtstart="00010101", until="00010101T000000", other="00010101", zone="Etc/GMT-14")
async def test_no_time_in_an_imported_file_is_a_server_error(
    client: httpx.AsyncClient, alice: Account, dtstart: str, until: str, other: str, zone: str
) -> None:
    def prop(name: str, value: str) -> str:
        if len(value) == 8:
            return f"{name};VALUE=DATE:{value}"
        return f"{name}:{value}" if value.endswith("Z") else f"{name};TZID={zone}:{value}"

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
        "BEGIN:VEVENT", "UID:a", prop("DTSTART", dtstart), prop("DTEND", other),
        f"RRULE:FREQ=DAILY;UNTIL={until}", prop("EXDATE", other), "SUMMARY:a", "END:VEVENT",
        "BEGIN:VEVENT", "UID:a", prop("RECURRENCE-ID", other), prop("DTSTART", until),
        "SUMMARY:b", "END:VEVENT",
        "END:VCALENDAR",
    ]  # fmt: skip
    response = await client.post(
        f"{EVENTS}/import",
        params={"timezone": zone},
        content="\r\n".join(lines) + "\r\n",
        headers={**alice.headers, "content-type": "text/calendar"},
    )
    _expect_no_server_error(response)


@EXAMPLES
@given(until=ical_time(), zone=st.sampled_from(ZONES), z=st.booleans())
@example(until="00010101T000000", zone="Etc/GMT-14", z=True)
@example(until="99991231T235959", zone="Etc/GMT+12", z=False)
async def test_an_until_at_the_edges_is_stored_so_that_it_reads_back(
    client: httpx.AsyncClient, alice: Account, until: str, zone: str, z: bool
) -> None:
    """A rule's UNTIL is a time input too: a series created with one near year 1 or 9999 (with
    or without Z, in a zone far from UTC) reads back, lists and edits without a server error."""
    if z and len(until) > 8:
        until += "Z"
    body = _event("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", zone, is_recurring=True,
                   recurrence_pattern=f"FREQ=DAILY;UNTIL={until}")  # fmt: skip
    created = await client.post(EVENTS, json=body, headers=alice.headers)
    _expect_no_server_error(created)
    if created.status_code != 201:
        return
    event = f"{EVENTS}/{created.json()['id']}"
    for response in [
        await client.get(event, headers=alice.headers),
        await client.get(f"{event}/instances", params=MARCH, headers=alice.headers),
        await client.get(EVENTS, params=MARCH, headers=alice.headers),
        await client.get(f"{event}.ics", headers=alice.headers),
        await client.patch(event, json={"title": "again"}, headers=alice.headers),
    ]:
        _expect_no_server_error(response)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Tokyo"])
async def test_an_all_day_event_on_the_first_accepted_day_can_be_created(
    client: httpx.AsyncClient, zone: str
) -> None:
    """A review: a range check on an all-day event's midnights refused its first day in any
    zone east of UTC (1900-01-01 00:00 in Berlin is 1899-12-31 in UTC)."""
    alice = await register(client, "alice")
    body = {
        "title": "first day",
        "all_day": True,
        "start_date": "1900-01-01",
        "end_date": "1900-01-02",
        "timezone": zone,
    }
    response = await client.post("/api/v1/events", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("value", [1798000000, 1798000000.5, "1798000000", "0", True])
async def test_a_number_is_not_a_time(client: httpx.AsyncClient, value: Any) -> None:
    """SPEC §2: times are RFC 3339 with an offset. pydantic took a number, or digits, for
    seconds since 1970: a body's start_time, a window, `as_of`, the audit's `since` and an
    occurrence's recurrence id were each accepted that way (an outside attack)."""
    alice = await register(client, "alice")
    event = await _series(client, alice)
    text = q(str(value).lower() if isinstance(value, bool) else str(value))
    body = {"title": "t", "start_time": value, "end_time": "2027-01-01T10:00:00Z"}
    created = await client.post(EVENTS, json=body, headers=alice.headers)
    assert_problem(created, 422, "validation_error")
    for path in (
        f"{EVENTS}?start_time={text}&end_time=2027-01-01T00:00:00Z",
        f"{EVENTS}?as_of={text}",
        f"{API}/audit?since={text}",
    ):
        assert_problem(await client.get(path, headers=alice.headers), 422, "validation_error")
    edit = await client.put(
        f"{EVENTS}/{event['id']}/instances/{text}", json={"title": "x"}, headers=alice.headers
    )
    assert_problem(edit, 422, "validation_error")  # not an occurrence looked up by number
