"""A calendar app's all-day event falls in its writer's own time zone (`/auth/me/settings`), the
zone CalDAV names as the calendar's `CALDAV:calendar-timezone` (RFC 4791 §5.2.2): an iPhone's
day off written as `VALUE=DATE` (which names no zone) blocked 16:00 to 16:00 for someone in
Los Angeles, its reminders a day early at 16:00. With the `caldav` library, against a real
server process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from caldav.elements import cdav

import caldav
from tests.caldav.live import Person, caldav_server, person

pytestmark = pytest.mark.slow

DAY_OFF = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Client test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261201T000000Z
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261225
SUMMARY:Day off
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR
"""

FLOATING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Client test//EN
BEGIN:VEVENT
UID:floating@example.com
DTSTAMP:20261201T000000Z
DTSTART:20261222T090000
DTEND:20261222T100000
SUMMARY:Floating
END:VEVENT
END:VCALENDAR
"""


ZONE_PATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><C:calendar-timezone>BEGIN:VCALENDAR
END:VCALENDAR</C:calendar-timezone></D:prop></D:set>
</D:propertyupdate>"""


def _events(base: str, who: Person) -> dict[str, dict[str, str]]:
    answer = httpx.get(f"{base}/api/v1/events", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return {e["title"]: e for e in answer.json()["items"]}


def _set_zone(base: str, who: Person, zone: str) -> None:
    answer = httpx.patch(
        f"{base}/api/v1/auth/me/settings", json={"timezone": zone}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text


def _calendar_zone(calendar: caldav.Calendar) -> str | None:
    """The TZID of the calendar's CALDAV:calendar-timezone, None without one."""
    found = calendar.get_properties([cdav.CalendarTimeZone()]).get(cdav.CalendarTimeZone.tag)
    if not found:
        return None
    [zone] = icalendar.Calendar.from_ical(found).walk("VTIMEZONE")
    return str(zone["TZID"])


def test_an_apps_all_day_event_falls_in_its_writers_zone(database_url: str, data_dir: Path) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        _set_zone(base, alice, "America/Los_Angeles")
        with (
            caldav.DAVClient(url=base, username="alice", password=alice.password) as as_alice,
            caldav.DAVClient(url=base, username="bob", password=bob.password) as as_bob,
        ):
            [calendar] = as_alice.principal().calendars()
            assert _calendar_zone(calendar) == "America/Los_Angeles"
            calendar.save_event(DAY_OFF.format(uid="day-off@example.com"))
            calendar.save_event(FLOATING)

            day_off = _events(base, alice)["Day off"]
            assert day_off["timezone"] == "America/Los_Angeles"
            assert day_off["start_date"] == "2026-12-24"
            assert (day_off["start_time"], day_off["end_time"]) == (
                "2026-12-24T08:00:00Z",
                "2026-12-25T08:00:00Z",
            )
            assert _events(base, alice)["Floating"]["start_time"] == "2026-12-22T17:00:00Z"
            # busy from her midnight to her next one, as free/busy tells her app
            busy = calendar.freebusy_request(
                datetime(2026, 12, 23, tzinfo=UTC), datetime(2026, 12, 27, tzinfo=UTC)
            )
            [period] = busy.icalendar_instance.walk("VFREEBUSY")
            assert b":20261224T080000Z/20261225T080000Z" in period.to_ical()

            # the app reads the day back as the day it wrote, and writing it back moves nothing
            [read] = calendar.search(
                start=datetime(2026, 12, 24, 12, tzinfo=UTC),
                end=datetime(2026, 12, 24, 13, tzinfo=UTC),
                event=True,
            )
            assert str(read.icalendar_component["DTSTART"].to_ical(), "ascii") == "20261224"
            read.icalendar_component["SUMMARY"] = "Day off, renamed"
            read.save()
            renamed = _events(base, alice)["Day off, renamed"]
            assert renamed["start_time"] == "2026-12-24T08:00:00Z"

            # the zone is set where the account is, not by PROPPATCH (SPEC §15)
            answer = as_alice.request(str(calendar.url), "PROPPATCH", ZONE_PATCH)
            assert answer.status == 207
            assert "HTTP/1.1 403" in answer.raw and "/api/v1/auth/me/settings" in answer.raw
            assert _calendar_zone(calendar) == "America/Los_Angeles"

            # someone who set none: UTC, as before there was a setting
            [bobs] = as_bob.principal().calendars()
            assert _calendar_zone(bobs) is None
            bobs.save_event(DAY_OFF.format(uid="bobs-day@example.com"))
            assert _events(base, bob)["Day off"]["start_time"] == "2026-12-24T00:00:00Z"


def test_a_readers_searches_and_free_busy_meet_an_all_day_event_on_their_own_days(
    database_url: str, data_dir: Path
) -> None:
    """A day off made in Los Angeles and shared with someone in Tokyo: their app's searches
    and free/busy find it on Tokyo's 24 December (RFC 4791 §9.9: DATE values in the
    calendar-timezone), not on Los Angeles' (which begins at 17:00 there)."""
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        _set_zone(base, alice, "America/Los_Angeles")
        _set_zone(base, bob, "Asia/Tokyo")
        with (
            caldav.DAVClient(url=base, username="alice", password=alice.password) as as_alice,
            caldav.DAVClient(url=base, username="bob", password=bob.password) as as_bob,
        ):
            [calendar] = as_alice.principal().calendars()
            calendar.save_event(DAY_OFF.format(uid="day-off@example.com"))
            day_off = _events(base, alice)["Day off"]
            shared = httpx.post(
                f"{base}/api/v1/events/{day_off['id']}/share",
                json={"users": [{"user_id": _user_id(base, bob), "role": "viewer"}]},
                headers=alice.headers,
            )
            assert shared.status_code == 200, shared.text
            [bobs] = as_bob.principal().calendars()
            assert _calendar_zone(bobs) == "Asia/Tokyo"

            def found(start: datetime, end: datetime, **mode: bool) -> list[str]:
                return [
                    str(e.icalendar_component["SUMMARY"])
                    for e in bobs.search(start=start, end=end, event=True, **mode)
                ]

            # Tokyo's 24 December is 23 Dec 15:00Z to 24 Dec 15:00Z; Los Angeles' begins at
            # 08:00Z on the 24th. The server's own answer (the library's `post_filter=False`;
            # by default it asks a day wider and cuts the answer itself)...
            tokyo, la = (
                datetime(2026, 12, 23, 15, tzinfo=UTC),
                datetime(2026, 12, 24, 8, tzinfo=UTC),
            )
            exact = {"post_filter": False}
            assert found(tokyo, la, **exact) == ["Day off"]
            # ...for Tokyo's 23rd and 25th (still the 24th in Los Angeles) does not meet it
            assert found(tokyo - timedelta(days=1), tokyo, **exact) == []
            assert found(tokyo + timedelta(days=1), la + timedelta(days=1), **exact) == []
            # the app, searching its own days, agrees
            day = datetime(2026, 12, 24, tzinfo=ZoneInfo("Asia/Tokyo"))
            assert found(day, day + timedelta(days=1)) == ["Day off"]
            assert found(day - timedelta(days=1), day) == []
            assert found(day + timedelta(days=1), day + timedelta(days=2)) == []
            busy = bobs.freebusy_request(
                datetime(2026, 12, 23, tzinfo=UTC), datetime(2026, 12, 27, tzinfo=UTC)
            )
            [period] = busy.icalendar_instance.walk("VFREEBUSY")
            assert b":20261223T150000Z/20261224T150000Z" in period.to_ical()


def _user_id(base: str, who: Person) -> int:
    answer = httpx.get(f"{base}/api/v1/auth/me", headers=who.headers)
    assert answer.status_code == 200, answer.text
    user_id: int = answer.json()["id"]
    return user_id
