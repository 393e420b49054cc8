"""IANA time zones: where their rules come from, and the one list every zone name the API
takes is checked against.

The rules are those of the `tzdata` package uv.lock pins, on every host: `zoneinfo` looks in
the host's zone files first (its TZPATH), and those are as old as the host's OS (Debian
bookworm's said 2025b when the lock said 2026f: weekly events in Vancouver, Edmonton,
Winnipeg, Havana and Casablanca came out an hour off, an outside attack, 2026-12-07), and
two hosts could disagree. Importing `neo_events` empties TZPATH before any zone is read
(`neo_events/__init__.py`). A new release of the rules is a dependency bump; the texts
rendered from them (VTIMEZONEs, CalDAV ETags, the .ics ETags and feed) carry RULES_VERSION.

A zone name stored under earlier rules that a newer release no longer holds (the database's
names are kept as links when places merge or are renamed, but a few were dropped outright:
`US/Pacific-New` in 2020b) is read as UTC (`stored_zone`), logged once a name: what it
named cannot be worked out from the name alone, and an event whose zone is unknown must
still be listed, shown, exported and edited, not answered with a 500. A write of such an
event stores UTC.

`zoneinfo` opens more than zones: `localtime` (the host's zone, whatever it is), `Factory`
(a placeholder zone meaning "not set"), `posixrules`, `posix/…` and `right/…` copies, files
under the zone directory. None of them names a place, so none is accepted (issue #17).
"""

from __future__ import annotations

import logging
import zoneinfo
from functools import lru_cache
from importlib import resources
from zoneinfo import available_timezones

import tzdata  # type: ignore[import-untyped]  # (no stubs: one string read)

zoneinfo.reset_tzpath(to=[])  # the package's rules alone (see above)
zoneinfo.ZoneInfo.clear_cache()  # a zone read before this (none should be) is read again

RULES_VERSION: str = tzdata.IANA_VERSION  # e.g. "2026f"
PSEUDO_ZONES = frozenset({"Factory", "localtime", "posixrules"})
# The zone a stored name these rules no longer hold is read as (`stored_zone`).
UNKNOWN_STORED_ZONE = "UTC"

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def iana_zone_names() -> frozenset[str]:
    """The zones of the IANA database: `available_timezones()` (which already skips
    `posix/`, `right/` and files that are not zones) without the pseudo-zones beside them."""
    return frozenset(available_timezones()) - PSEUDO_ZONES


class DroppedZone(str):
    """UNKNOWN_STORED_ZONE, read in place of a stored name these rules dropped (`stored`).
    What was worked out under that name and stored beside it (where an event's COUNT rule
    ends, its span) is of the old zone, not of this one: a reader does not trust it
    (`content.remembered`), and an edit works it out again (`content.apply_content`)."""

    stored: str


def stored_zone(name: str) -> str:
    """A zone name read from the database (an event's zone, an account's), as these rules
    know it: the name itself, or, if they no longer hold it, UNKNOWN_STORED_ZONE as a
    DroppedZone (see above). A set lookup a row (`models.types.ZoneName` calls it for every
    row read)."""
    return name if name in iana_zone_names() else _dropped(name)


@lru_cache(maxsize=256)
def _dropped(name: str) -> DroppedZone:
    logger.warning(
        "stored time zone %r is not in the zone rules %s: read as %s until rewritten",
        name,
        RULES_VERSION,
        UNKNOWN_STORED_ZONE,
    )
    zone = DroppedZone(UNKNOWN_STORED_ZONE)
    zone.stored = name
    return zone


# the database's areas of places
_AREAS: tuple[str, ...] = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/")
_AREAS += ("Australia/", "Europe/", "Indian/", "Pacific/")


@lru_cache(maxsize=1)
def renamed_zones() -> dict[str, str]:
    """Old names of places' zones and the zone each names now: `Asia/Katmandu` is
    Asia/Kathmandu, `Europe/Kiev` Europe/Kyiv. These are the package's links (`L` lines of its
    tzdata.zi, which hold the database's `backward` file) whose name zone.tab, the list of each
    country's zones, no longer holds; a link it holds names a country's zone of its own
    (Europe/Oslo, a link to Europe/Berlin since 2022b) and is no old name. Read once (~250
    lines)."""
    package = resources.files("tzdata.zoneinfo")
    listed = {
        line.split("\t")[2]
        for line in package.joinpath("zone.tab").read_text().splitlines()
        if line and not line.startswith("#")
    }
    found: dict[str, str] = {}
    for line in package.joinpath("tzdata.zi").read_text().splitlines():
        if line.startswith("L "):
            _, target, name = line.split()[:3]
            if name.startswith(_AREAS) and name not in listed and target in iana_zone_names():
                found[name] = target
    return found
