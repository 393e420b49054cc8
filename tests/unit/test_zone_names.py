"""One check for zone names (issue #17, 3b): `rrule.zone_named` takes IANA zones only."""

from __future__ import annotations

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
    """The reason the list exists: zoneinfo opens these (where the system ships them)."""
    for name in LOADABLE_BUT_NOT_ZONES:
        try:
            ZoneInfo(name)
        except (OSError, ValueError):  # not on this system: nothing to refuse
            continue
        assert name not in iana_zone_names()


def test_every_listed_zone_loads_and_is_what_imports_accept() -> None:
    names = iana_zone_names()
    assert {"UTC", "Europe/Berlin", "Etc/GMT+12", "America/Argentina/Buenos_Aires"} <= names
    for name in names:
        assert zone_named(name).key == name
        assert iana_name(name) == name
