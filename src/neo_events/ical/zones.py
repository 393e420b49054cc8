"""A calendar file's TZIDs as IANA zones: recurrence needs a named zone, whatever the file says.

A TZID is tried as an IANA name, then as a Windows zone (CLDR's mapping, shipped with
icalendar), then as a "globally unique" `/vendor/Area/City` id, and finally through the
file's own VTIMEZONE: the IANA zone whose UTC offsets agree with it, day by day, over the two
years from the event's start (Outlook's custom zones such as "Canberra, Melbourne, Sydney").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from neo_events.timezones import iana_zone_names

_MATCH_DAYS = 731
_QUICK = (0, 91, 182, 273, 365, 456, 547, 638)  # quarterly samples reject most zones at once


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(iana_zone_names()))


@lru_cache(maxsize=1)
def _golden() -> frozenset[str]:
    """The zone CLDR names first for each Windows zone: the usual choice among equals."""
    return frozenset(WINDOWS_TO_OLSON.values())


@lru_cache(maxsize=1024)
def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iana_name(tzid: str) -> str | None:
    """The tzid itself if it is an IANA zone name, else its Windows zone's IANA name."""
    cleaned = tzid.strip().strip('"').strip()
    names = set(_zone_names())
    if cleaned in names:
        return cleaned
    mapped = WINDOWS_TO_OLSON.get(cleaned)
    return mapped if mapped in names else None


def guessed_name(tzid: str) -> str | None:
    """`Area/City` from a "globally unique" TZID such as `/mozilla.org/20050126_1/America/Boise`
    (RFC 5545 §3.2.19): the longest suffix that names an IANA zone."""
    if not tzid.startswith("/"):
        return None
    parts = tzid.strip("/").split("/")
    names = set(_zone_names())
    for start in range(1, len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in names:
            return candidate
    return None


def _hinted(name: str, tzid: str) -> bool:
    city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
    return city in tzid.lower()


def matching_name(custom: tzinfo, tzid: str, year: int, prefer: str | None = None) -> str | None:
    """The IANA zone with the same UTC offsets as `custom` on every day of two years from
    `year`, preferring one the TZID names, then `prefer`, then CLDR's usual zones."""
    first = datetime(max(1901, min(year, 2197)), 1, 1, 12, tzinfo=UTC)
    days = [first + timedelta(days=d) for d in range(_MATCH_DAYS)]
    try:
        wanted = [day.astimezone(custom).utcoffset() for day in days]
    except (ValueError, OverflowError, TypeError):
        return None
    candidates = list(_zone_names())
    for index in (*_QUICK, *range(_MATCH_DAYS)):
        day, offset = days[index], wanted[index]
        candidates = [n for n in candidates if day.astimezone(_zoneinfo(n)).utcoffset() == offset]
        if not candidates:
            return None

    def rank(name: str) -> tuple[bool, bool, bool, bool, str]:
        return (
            not _hinted(name, tzid),
            name != prefer,
            name not in _golden(),
            "/" not in name or name.startswith("Etc/"),
            name,
        )

    return min(candidates, key=rank)


class ZoneResolver:
    """TZIDs of one calendar stream resolved to IANA names; each answer is kept."""

    def __init__(self, vtimezones: Mapping[str, tzinfo], prefer: str | None = None) -> None:
        self._vtimezones = dict(vtimezones)
        self._prefer = prefer
        self._found: dict[tuple[str, int], tuple[str | None, str | None]] = {}

    def resolve(self, tzid: str, year: int) -> tuple[str | None, str | None]:
        """(IANA name or None, a note for the import report when the name was inferred)."""
        key = (tzid, year)
        if key not in self._found:
            self._found[key] = self._resolve(tzid, year)
        return self._found[key]

    def _resolve(self, tzid: str, year: int) -> tuple[str | None, str | None]:
        name = iana_name(tzid)
        if name is not None:
            return name, None
        guess = guessed_name(tzid)
        if guess is not None:
            return guess, f"time zone {tzid!r} read as {guess!r}"
        custom = self._vtimezones.get(tzid.strip().strip('"'))
        if custom is not None:
            match = matching_name(custom, tzid, year, self._prefer)
            if match is not None:
                return match, f"time zone {tzid!r} read as {match!r} (same offsets)"
        return None, None
