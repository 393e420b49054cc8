"""A CalDAV reader meets an all-day event on its own days (RFC 4791 §9.9; SPEC §4: the same days
for every viewer): a calendar-query's time range, its expand and a free-busy-query place the
event's dates at the reader's midnights — the query's CALDAV:timezone or CALDAV:timezone-id
(RFC 7809), else the calendar-timezone (the account's zone), else the event's own zone.

A holiday on 24 December made in Los Angeles is, for a reader in Tokyo, 23 Dec 15:00Z to 24 Dec
15:00Z; in Los Angeles 24 Dec 08:00Z to 25 Dec 08:00Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neo_events.ical.zones import KnownZones
from tests.api.test_import_cost import rdate_zone
from tests.caldav.dav import Dav, dav_for, responses
from tests.caldav.test_freebusy import QUERY as FREE_BUSY
from tests.caldav.test_freebusy import periods, query
from tests.helpers import Account, cpu_bound, created, share

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
LA, TOKYO = "America/Los_Angeles", "Asia/Tokyo"

QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data>{expand}</c:calendar-data></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="{start}" end="{end}"/>
  </c:comp-filter></c:comp-filter></c:filter>{zone}
</c:calendar-query>"""

VTIMEZONE = """<c:timezone>BEGIN:VCALENDAR
PRODID:-//Client test//EN
VERSION:2.0
BEGIN:VTIMEZONE
TZID:{tzid}
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0900
TZOFFSETTO:+0900
TZNAME:JST
END:STANDARD
END:VTIMEZONE
END:VCALENDAR
</c:timezone>"""


async def _set_zone(client, who: Account, zone: str) -> None:
    answer = await client.patch(
        "/api/v1/auth/me/settings", json={"timezone": zone}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text


async def _found(dav: Dav, start: str, end: str, zone: str = "", expand: str = "") -> list[str]:
    """The calendar-data of what a calendar-query over [start, end) lists."""
    body = QUERY.format(start=start, end=end, zone=zone, expand=expand)
    answer = await dav.request("REPORT", dav.calendar, body, Depth="1")
    assert answer.status_code == 207, answer.text
    return [e["props"][f"{C}calendar-data"].text for e in responses(answer.content).values()]


async def _titles(dav: Dav, start: str, end: str, zone: str = "") -> list[str]:
    texts = await _found(dav, start, end, zone)
    return sorted(line[8:] for t in texts for line in t.splitlines() if line.startswith("SUMMARY:"))


async def _holidays(client) -> tuple[Dav, Dav, Dav]:
    """Alice in Los Angeles makes a holiday on 24 December 2026 and a yearly Christmas Eve
    from 2025, shared with Bob in Tokyo and Carol, who set no zone."""
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    await _set_zone(client, alice.account, LA)
    await _set_zone(client, bob.account, TOKYO)
    for title, day, rule in (
        ("Holiday", "2026-12-24", None),
        ("Christmas Eve", "2025-12-24", "FREQ=YEARLY"),
    ):
        body = {"title": title, "all_day": True, "start_date": day, "timezone": LA}
        body |= {"transparency": "opaque"}
        if rule is not None:
            body |= {"is_recurring": True, "recurrence_pattern": rule}
        made = await created(client, alice.account, body)
        for reader in (bob, carol):
            await share(client, alice.account, made["id"], reader.account, "viewer")
    return alice, bob, carol


BOTH = ["Christmas Eve", "Holiday"]


async def test_a_time_range_meets_an_all_day_event_on_the_readers_own_days(client) -> None:
    alice, bob, carol = await _holidays(client)
    # Tokyo's 24 December: both, for Bob
    assert await _titles(bob, "20261223T150000Z", "20261224T150000Z") == BOTH
    # ...from its first hour, before Los Angeles' day begins (08:00Z)
    assert await _titles(bob, "20261223T150000Z", "20261224T080000Z") == BOTH
    # a range that ends at Tokyo's midnight (23 December there), or begins at the next one
    # (25 December there, still the 24th in Los Angeles), meets neither
    assert await _titles(bob, "20261223T000000Z", "20261223T150000Z") == []
    assert await _titles(bob, "20261224T150000Z", "20261225T080000Z") == []
    # Alice's days are Los Angeles' (her zone, the events' own)
    assert await _titles(alice, "20261223T150000Z", "20261224T080000Z") == []
    assert await _titles(alice, "20261224T150000Z", "20261225T080000Z") == BOTH
    assert await _titles(alice, "20261223T000000Z", "20261223T150000Z") == []
    # Carol set no zone: each event's own, as before there was a setting
    assert await _titles(carol, "20261224T150000Z", "20261225T080000Z") == BOTH
    assert await _titles(carol, "20261223T150000Z", "20261224T080000Z") == []


async def test_the_querys_own_time_zone_goes_first(client) -> None:
    alice, _, _ = await _holidays(client)
    tokyo_morning = ("20261223T150000Z", "20261224T080000Z")
    by_id = f"<c:timezone-id>{TOKYO}</c:timezone-id>"
    assert await _titles(alice, *tokyo_morning, zone=by_id) == BOTH
    # a VTIMEZONE by its TZID, or one of a name nobody knows by its offsets (+09:00 all year)
    for tzid in (TOKYO, "Custom Japan Time"):
        assert await _titles(alice, *tokyo_morning, zone=VTIMEZONE.format(tzid=tzid)) == BOTH
    assert await _titles(alice, "20261224T150000Z", "20261225T080000Z", zone=by_id) == []
    # a Windows name is a zone too
    windows = "<c:timezone-id>Tokyo Standard Time</c:timezone-id>"
    assert await _titles(alice, *tokyo_morning, zone=windows) == BOTH


@pytest.mark.parametrize(
    ("zone", "condition"),
    [
        ("<c:timezone-id>Mars/Olympus_Mons</c:timezone-id>", b"valid-timezone"),
        ("<c:timezone-id>" + "a/" * 5000 + "</c:timezone-id>", b"valid-timezone"),
        ("<c:timezone>BEGIN:VCALENDAR\nEND:VCALENDAR\n</c:timezone>", b"valid-calendar-data"),
        ("<c:timezone>no calendar</c:timezone>", b"valid-calendar-data"),
        (  # a VTIMEZONE of a known name, past 64 KiB: refused before it is split
            VTIMEZONE.format(tzid=TOKYO).replace("VERSION:2.0\n", "X-PAD:x\n" * 9_000),
            b"valid-calendar-data",
        ),
        (
            f"<c:timezone-id>{TOKYO}</c:timezone-id>" + VTIMEZONE.format(tzid=TOKYO),
            b"valid-calendar-data",
        ),
    ],
)
async def test_a_time_zone_the_server_cannot_read_is_refused(client, zone, condition) -> None:
    alice = await dav_for(client, "alice")
    body = QUERY.format(start="20261223T000000Z", end="20261224T000000Z", zone=zone, expand="")
    answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
    assert answer.status_code == 403, answer.text
    assert condition in answer.content


async def test_a_querys_vtimezone_is_read_for_its_offsets_alone(client, monkeypatch) -> None:
    """An outside attack (issue #16): a CALDAV:timezone of 1,998 RDATEs (46 KB, within a
    zone's bound) cost 110-150 ms of CPU for its 403, two thirds of it icalendar making its
    own zone of the VTIMEZONE (dateutil's `tzical`), which nothing reads: the offsets are
    worked out by `zones.Observed`. icalendar makes none now (~50 ms)."""
    made: list[object] = []
    create = KnownZones.create_timezone

    def counted(self: KnownZones, component: object) -> object:
        made.append(component)
        return create(self, component)  # type: ignore[arg-type]

    monkeypatch.setattr(KnownZones, "create_timezone", counted)
    alice = await dav_for(client, "alice")
    written = f"BEGIN:VCALENDAR\r\nPRODID:-//x//y//EN\r\nVERSION:2.0\r\n{rdate_zone('Z0')}"
    zone = f"<c:timezone>{written}END:VCALENDAR\r\n</c:timezone>"
    body = QUERY.format(start="20270105T000000Z", end="20270106T000000Z", zone=zone, expand="")
    with cpu_bound(0.5, "the REPORT"):
        answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
    assert answer.status_code == 403 and b"valid-calendar-data" in answer.content, answer.text
    assert b"No time zone known here has the offsets of" in answer.content
    assert made == []


async def test_an_expanded_all_day_occurrence_is_its_own_date_wherever_it_is_read(client) -> None:
    """A yearly New Year's Day made in Tokyo: expanded, each occurrence is 1 January (it was
    the UTC date of Tokyo's midnight: 31 December)."""
    alice, bob, _ = await _holidays(client)
    new_year = await created(
        client,
        bob.account,
        {
            "title": "New Year",
            "all_day": True,
            "start_date": "2026-01-01",
            "timezone": TOKYO,
            "is_recurring": True,
            "recurrence_pattern": "FREQ=YEARLY",
        },
    )
    await share(client, bob.account, new_year["id"], alice.account, "viewer")
    for reader, (start, end) in (
        (bob, ("20261231T150000Z", "20270101T150000Z")),  # 1 January in Tokyo
        # ...in Los Angeles, from 15:00Z (when Tokyo's ends)
        (alice, ("20270101T150000Z", "20270102T080000Z")),
    ):
        expand = f'<c:expand start="{start}" end="{end}"/>'
        [text] = await _found(reader, start, end, expand=expand)
        assert "DTSTART;VALUE=DATE:20270101" in text, text
        assert "RECURRENCE-ID;VALUE=DATE:20270101" in text
        assert "DTEND;VALUE=DATE:20270102" in text
        # a calendar-multiget's expand too (in the calendar-timezone: it names no other)
        multiget = await reader.request(
            "REPORT",
            reader.calendar,
            '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:prop><c:calendar-data>{expand}</c:calendar-data></d:prop>"
            f"<d:href>{reader.calendar}event-{new_year['id']}.ics</d:href>"
            "</c:calendar-multiget>",
        )
        [entry] = responses(multiget.content).values()
        got = entry["props"][f"{C}calendar-data"].text
        assert got.count("BEGIN:VEVENT") == 1 and "DTSTART;VALUE=DATE:20270101" in got, got


async def test_free_busy_is_the_readers_own_days(client) -> None:
    alice, bob, carol = await _holidays(client)
    window = ("20261223T000000Z", "20261227T000000Z")

    def day(at: datetime, hours: int) -> tuple[datetime, datetime]:
        return at.replace(hour=hours), at.replace(day=at.day + 1, hour=hours)

    eve = datetime(2026, 12, 23, tzinfo=UTC)
    christmas_eve = datetime(2026, 12, 24, tzinfo=UTC)
    for reader, busy in (
        (bob, [day(eve, 15)]),  # Tokyo's 24 December
        (alice, [day(christmas_eve, 8)]),  # Los Angeles'
        (carol, [day(christmas_eve, 8)]),  # no zone: the events' own
    ):
        answer = await reader.request("REPORT", reader.calendar, query(*window), Depth="1")
        assert answer.status_code == 200, answer.text
        assert periods(answer.content)[1] == busy
    # the API's own free/busy still places them in the events' zone (docs/api.md)
    api = await client.get(
        "/api/v1/freebusy",
        params={"start_time": "2026-12-23T00:00:00Z", "end_time": "2026-12-27T00:00:00Z"},
        headers=bob.account.headers,
    )
    assert [b["start"] for b in api.json()["busy"]] == ["2026-12-24T08:00:00Z"]


def _free_busy(zone: str) -> str:
    """A free-busy-query of 20-28 December 2026 naming `zone` (RFC 4791 §7.10, RFC 7809)."""
    window = '<c:time-range start="20261220T000000Z" end="20261228T000000Z"/>'
    return FREE_BUSY.format(range=window + zone)


@pytest.mark.parametrize(
    "zone",
    [
        f"<c:timezone-id>{TOKYO}</c:timezone-id>",
        VTIMEZONE.format(tzid=TOKYO),  # a VTIMEZONE by its TZID
        VTIMEZONE.format(tzid="Custom Japan Time"),  # ...by its offsets (+09:00 all year)
    ],
    ids=["timezone-id", "timezone", "custom-timezone"],
)
@pytest.mark.parametrize("who", ["carol", "alice"])
async def test_free_busy_reads_the_querys_own_time_zone_first(client, who, zone) -> None:
    """As a calendar-query does: Carol (no zone: the events' own, Los Angeles) and Alice (her
    own zone, Los Angeles) asking from Tokyo are busy on Tokyo's 24 December (the opaque
    holiday and the yearly Christmas Eve, merged), the query's zone going before theirs."""
    alice, _, carol = await _holidays(client)
    reader = {"alice": alice, "carol": carol}[who]
    tokyo_day = (datetime(2026, 12, 23, 15, tzinfo=UTC), datetime(2026, 12, 24, 15, tzinfo=UTC))
    los_angeles_day = (datetime(2026, 12, 24, 8, tzinfo=UTC), datetime(2026, 12, 25, 8, tzinfo=UTC))
    for named, busy in (("", los_angeles_day), (zone, tokyo_day)):
        answer = await reader.request("REPORT", reader.calendar, _free_busy(named), Depth="1")
        assert answer.status_code == 200, answer.text
        assert periods(answer.content)[1] == [busy]


@pytest.mark.parametrize(
    ("zone", "condition"),
    [
        ("<c:timezone-id>nope</c:timezone-id>", b"valid-timezone"),
        ("<c:timezone>garbage</c:timezone>", b"valid-calendar-data"),
        (
            f"<c:timezone-id>{TOKYO}</c:timezone-id>" + VTIMEZONE.format(tzid=TOKYO),
            b"valid-calendar-data",
        ),
    ],
)
async def test_free_busy_refuses_a_time_zone_the_server_cannot_read(
    client, zone, condition
) -> None:
    carol = await dav_for(client, "carol")
    answer = await carol.request("REPORT", carol.calendar, _free_busy(zone), Depth="1")
    assert answer.status_code == 403, answer.text
    assert condition in answer.content


async def test_an_all_day_occurrence_declined_is_free_on_the_readers_day(client) -> None:
    """Bob in Tokyo, invited to Alice's three-day retreat (23-25 December, made in Los
    Angeles), declines the 24th: his free/busy is busy his 23rd and 25th only (the answer
    is kept by date: the occurrence found at his midnight is named by his date)."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    await _set_zone(client, alice.account, LA)
    await _set_zone(client, bob.account, TOKYO)
    body = {"title": "Retreat", "all_day": True, "start_date": "2026-12-23", "timezone": LA}
    body |= {"transparency": "opaque", "is_recurring": True}
    retreat = await created(
        client, alice.account, body | {"recurrence_pattern": "FREQ=DAILY;COUNT=3"}
    )
    invited = await client.post(
        f"/api/v1/events/{retreat['id']}/attendees",
        json={"users": [{"user_id": bob.account.id}]},
        headers=alice.account.headers,
    )
    assert invited.status_code == 200, invited.text
    declined = await client.put(
        f"/api/v1/events/{retreat['id']}/instances/2026-12-24/rsvp",
        json={"response": "declined"},
        headers=bob.account.headers,
    )
    assert declined.status_code == 200, declined.text
    answer = await bob.request(
        "REPORT", bob.calendar, query("20261222T000000Z", "20261227T000000Z")
    )
    assert answer.status_code == 200, answer.text
    at = datetime(2026, 12, 22, 15, tzinfo=UTC)
    assert periods(answer.content)[1] == [
        (at, at + timedelta(days=1)),
        (at + timedelta(days=2), at + timedelta(days=3)),
    ]


async def test_the_expansions_cached_for_one_zone_are_not_anothers(client) -> None:
    """The same window, asked from Tokyo, Los Angeles and Tokyo again (the listing's and the
    free/busy read's caches are keyed by zone too)."""
    alice, bob, _ = await _holidays(client)
    tokyo_morning = ("20261223T150000Z", "20261224T080000Z")
    for reader, titles in ((bob, BOTH), (alice, []), (bob, BOTH), (alice, [])):
        assert await _titles(reader, *tokyo_morning) == titles
        answer = await reader.request("REPORT", reader.calendar, query(*tokyo_morning))
        assert bool(periods(answer.content)[1]) == bool(titles)
