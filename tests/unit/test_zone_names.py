"""One check for zone names (issue #17, 3b): `rrule.zone_named` takes IANA zones only."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from neo_events.events.rrule import RecurrenceError, zone_named
from neo_events.ical.zones import iana_name
from neo_events.timezones import iana_zone_names

LOADABLE_BUT_NOT_ZONES = ["localtime", "Factory", "posix/Europe/Berlin", "right/UTC"]


@pytest.mark.parametrize(
    "name", [*LOADABLE_BUT_NOT_ZONES, "posixrules", "../zoneinfo/UTC", "/etc/localtime", "", "X"]
)
def test_what_is_no_iana_zone_is_refused(name: str) -> None:
    with pytest.raises(RecurrenceError, match="unknown time zone"):
        zone_named(name)


def test_the_refused_names_are_really_loadable() -> None:
    """The reason the list exists: zoneinfo opens these (where the system ships them, and
    its TZPATH is not emptied as `neo_events.timezones` does)."""
    for name in LOADABLE_BUT_NOT_ZONES:
        try:
            ZoneInfo(name)
        except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):  # nothing to refuse
            continue
        assert name not in iana_zone_names()


def test_every_listed_zone_loads_and_is_what_imports_accept() -> None:
    names = iana_zone_names()
    assert {"UTC", "Europe/Berlin", "Etc/GMT+12", "America/Argentina/Buenos_Aires"} <= names
    for name in names:
        assert zone_named(name).key == name
        assert iana_name(name) == name


def test_the_rules_are_the_pinned_packages_not_the_hosts() -> None:
    """Every zone's offsets, each month from 2020 to 2031, are those of the `tzdata`
    package's own file (`neo_events/timezones.py`): the host's files are never read."""
    assert zoneinfo.TZPATH == ()
    package = resources.files("tzdata.zoneinfo")
    months = [
        datetime(year, month, 15, tzinfo=UTC)
        for year in range(2020, 2032)
        for month in range(1, 13)
    ]
    for name in iana_zone_names():
        with package.joinpath(name).open("rb") as file:
            pinned = ZoneInfo.from_file(file, key=name)
        zone = ZoneInfo(name)
        assert [m.astimezone(zone).utcoffset() for m in months] == [
            m.astimezone(pinned).utcoffset() for m in months
        ], name
