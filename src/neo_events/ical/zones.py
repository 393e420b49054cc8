"""A calendar file's TZIDs as IANA zones: recurrence needs a named zone, whatever the file says.

A TZID is tried as an IANA name, then as a Windows zone (CLDR's mapping, shipped with
icalendar), then as a "globally unique" `/vendor/Area/City` id, and finally through the
file's own VTIMEZONE: the IANA zone whose UTC offsets agree with it, day by day, over the two
years from the event's start (Outlook's custom zones such as "Canberra, Melbourne, Sydney").

A VTIMEZONE's offsets are worked out here, not by a tzinfo from icalendar (dateutil's
`tzical` walks each observance's rule from its DTSTART at every lookup: 0.3 s for Outlook's
rules from 1601, minutes and gigabytes for a rule repeating every minute): its rules are
expanded by the service's own recurrence engine from 1896 (which jumps there rather than
walk from DTSTART) to 2200, at most `MAX_ONSETS` offset changes a VTIMEZONE; a calendar
stream searches the zone database at most `MAX_SEARCHES` times (see `ZoneResolver`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone, vRecur
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from icalendar.timezone.zoneinfo import ZONEINFO

from neo_events.events import recurrence
from neo_events.ical import tzif
from neo_events.timezones import iana_zone_names, renamed_zones

_MATCH_DAYS = 731
_QUICK = (0, 91, 182, 273, 365, 456, 547, 638)  # quarterly samples reject most zones at once
MAX_ONSETS = 5000  # a VTIMEZONE's from 1896 to 2200: two YEARLY rules (DST) make 610
STREAM_ONSETS = 50_000  # all of a calendar stream's VTIMEZONEs
STREAM_OBSERVANCES = 100  # STANDARD and DAYLIGHTs a stream works out (a few ms each)
MAX_SEARCHES = 16  # a stream's custom zones matched afresh; other years try those answers
MAX_CUSTOM = 100  # (TZID, year) pairs a stream resolves through its VTIMEZONEs (~0.5 ms each)


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    return tuple(sorted(iana_zone_names()))


# Names the tz database removed that CLDR (common/bcp47/timezone.xml) still lists as aliases
# of a zone: calendars written before 2020 name them.
_REMOVED = {"US/Pacific-New": "America/Los_Angeles", "Canada/East-Saskatchewan": "America/Regina"}


def _now_named(name: str) -> str:
    return renamed_zones().get(name, name)


@lru_cache(maxsize=1)
def _golden() -> frozenset[str]:
    """The zone CLDR names first for each Windows zone: the usual choice among equals, by
    its current name (CLDR keeps Asia/Calcutta where the database says Asia/Kolkata)."""
    return frozenset(_now_named(name) for name in WINDOWS_TO_OLSON.values())


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _zone_name_set() -> frozenset[str]:
    return frozenset(zone_names())


class KnownZones(ZONEINFO):
    """icalendar's zone provider for its own reading of a TZID (the codec uses it): a zone
    only for a name the zone database has, looked up in its list, never on the disk.
    icalendar tries every suffix of a slashed TZID at every date-time value that names it,
    and zoneinfo's lookup of a name it has not got walks a package per slash (an outside
    attack's TZID of 200 "/a": 0.25 s a value; 250, a RecursionError). The service reads
    the TZID itself anyway (`times.Clock`, `ZoneResolver`): icalendar's zone is unused."""

    def timezone(self, name: str) -> tzinfo | None:
        return zone_named(name) if name in _zone_name_set() else None


def iana_name(tzid: str) -> str | None:
    """The tzid itself if it is an IANA zone name, else the current name of its Windows
    zone's, or of the zone CLDR lists a removed name under (`US/Pacific-New`)."""
    cleaned = tzid.strip().strip('"').strip()
    names = _zone_name_set()
    if cleaned in names:
        return cleaned
    mapped = WINDOWS_TO_OLSON.get(cleaned) or _REMOVED.get(cleaned)
    return None if mapped is None or mapped not in names else _now_named(mapped)


def guessed_name(tzid: str) -> str | None:
    """`Area/City` from a "globally unique" TZID such as `/mozilla.org/20050126_1/America/Boise`
    (RFC 5545 §3.2.19): the longest suffix that names an IANA zone."""
    if not tzid.startswith("/"):
        return None
    parts = tzid.strip("/").split("/")
    names = _zone_name_set()
    for start in range(1, len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in names:
            return candidate
    return None


def _mentions(name: str, tzid: str) -> tuple[bool, int]:
    """How much of the zone's name the TZID names, as words ("Eastern Time" names no Easter):
    whether not its city, then the more of its parts, the better (`US-Eastern` names
    US/Eastern more than Canada/Eastern)."""
    text = tzid.lower()
    parts = name.lower().replace("_", " ").split("/")
    found = [re.search(rf"\b{re.escape(part)}\b", text) is not None for part in parts]
    return not found[-1], -sum(found) if found[-1] else 0


_AREAS = frozenset(("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia"))
_AREAS |= {"Europe", "Indian", "Pacific", "Etc"}  # the database's own areas


@lru_cache(maxsize=1024)
def canonical(name: str) -> str:
    """The name to keep a zone picked for a file's times under: a place's old name is its
    current one (`Asia/Katmandu` is Asia/Kathmandu, timezones.renamed_zones); an old alias
    outside the database's areas is CLDR's usual zone (`US/Eastern` is America/New_York:
    the same data); else the name."""
    name = _now_named(name)
    if name in _golden() or name.split("/")[0] in _AREAS:
        return name
    return _golden_by_data().get(tzif.raw(name) or b"", name)


@lru_cache(maxsize=1)
def _golden_by_data() -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for name in sorted(_golden() & _zone_name_set()):
        data = tzif.raw(name)
        if data is not None:
            found.setdefault(data, name)
    return found


def match_days(year: int) -> list[datetime]:
    first = datetime(max(1901, min(year, 2197)), 1, 1, 12, tzinfo=UTC)
    return [first + timedelta(days=d) for d in range(_MATCH_DAYS)]


def matching_name(custom: tzinfo, tzid: str, year: int, prefer: str | None = None) -> str | None:
    """The IANA zone with the same UTC offsets as `custom` on every day of two years from
    `year`, preferring one the TZID names, then `prefer`, then CLDR's usual zones."""
    days = match_days(year)
    try:
        wanted = [day.astimezone(custom).utcoffset() for day in days]
    except (ValueError, OverflowError, TypeError):
        return None
    return _matching(days, wanted, tzid, prefer)


def _agrees(name: str, days: Sequence[datetime], wanted: Sequence[timedelta | None]) -> bool:
    zone = zone_named(name)
    return all(
        day.astimezone(zone).utcoffset() == offset for day, offset in zip(days, wanted, strict=True)
    )


def _matching(
    days: Sequence[datetime],
    wanted: Sequence[timedelta | None],
    tzid: str,
    prefer: str | None,
) -> str | None:
    """The best-ranked zone that agrees on every day: the quarterly samples leave a few
    candidates, tried in rank order, each to its first day of another offset. (Filtering
    every candidate through all 731 days cost 30-35 ms a search where a dozen zones agree,
    as with +00:00: a seventh outside attack's 16 searches a PUT, 0.55 s.)"""
    candidates = list(zone_names())
    for index in _QUICK:
        day, offset = days[index], wanted[index]
        candidates = [n for n in candidates if day.astimezone(zone_named(n)).utcoffset() == offset]
        if not candidates:
            return None

    ranked = sorted(candidates, key=lambda name: rank(name, tzid, prefer))
    found = next((name for name in ranked if _agrees(name, days, wanted)), None)
    return None if found is None else canonical(found)


def rank(name: str, tzid: str, prefer: str | None) -> tuple[object, ...]:
    """The order among zones that fit alike: one the TZID names (`_mentions`), `prefer` (the
    file's X-WR-TIMEZONE), CLDR's usual zones, an `Area/City`, then by name."""
    return (
        _mentions(name, tzid),
        name != prefer,
        canonical(name) not in _golden(),
        "/" not in name or name.startswith("Etc/"),
        name,
    )


class Observed:
    """A VTIMEZONE's UTC offsets, from its observances' onsets (RFC 5545 §3.6.5), worked out
    once up to `_HORIZON` (the last day `_match_days` asks about)."""

    def __init__(self, vtimezone: Timezone) -> None:
        self._vtimezone: Timezone | None = vtimezone
        self._onsets: list[datetime] = []  # UTC instants at which an offset begins
        self._offsets: list[timedelta] = []  # the offset from that onset on
        self._before: timedelta | None = None  # the offset before the first onset

    def offsets(self, days: Sequence[datetime], stream: StreamWork) -> list[timedelta] | None:
        """The offset at each of `days` (ascending UTC instants), the work charged to
        `stream`'s budgets; None if this VTIMEZONE cannot be read within the bounds (then it
        names no zone)."""
        if self._vtimezone is not None:
            self._work_out(self._vtimezone, stream)
            self._vtimezone = None
        if self._before is None:
            return None
        offsets = self._offsets
        return [
            offsets[i - 1] if (i := bisect.bisect_right(self._onsets, day)) else self._before
            for day in days
        ]

    def _work_out(self, vtimezone: Timezone, stream: StreamWork) -> None:
        budget = min(MAX_ONSETS, STREAM_ONSETS - stream.onsets)
        onsets: list[tuple[datetime, timedelta, timedelta]] = []
        for observance in vtimezone.subcomponents:
            if observance.name not in ("STANDARD", "DAYLIGHT"):
                continue
            stream.observances += 1
            if stream.observances > STREAM_OBSERVANCES:
                return
            found = _onsets(observance, budget - len(onsets))
            # a refused observance is counted as the whole budget: it may have cost that
            stream.onsets += budget - len(onsets) if found is None else len(found)
            if found is None:
                return
            onsets.extend(found)
        if onsets:
            onsets.sort(key=lambda onset: onset[0])
            self._onsets = [at for at, _, _ in onsets]
            self._offsets = [to for _, _, to in onsets]
            self._before = onsets[0][1]


_HORIZON = datetime(2200, 1, 1, tzinfo=UTC)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


_FIRST = datetime(1896, 1, 1, tzinfo=UTC)  # onsets before this decide nothing from 1901 on


def _onsets(
    observance: Component, budget: int
) -> list[tuple[datetime, timedelta, timedelta]] | None:
    """(UTC onset, offset before, offset after) of one STANDARD or DAYLIGHT from 1896 to
    `_HORIZON` (and its DTSTART); None past `budget` onsets or for a rule the service's
    recurrence engine refuses. The engine, not dateutil: dateutil walks a rule from its
    DTSTART (Outlook writes 1601) and a rule that never occurs to the year 9999."""
    props: Any = observance  # icalendar types a property as any of its 30 value types
    try:
        start = props["DTSTART"].dt
        before: timedelta = props["TZOFFSETFROM"].td  # a wall time minus this is UTC
        after: timedelta = props["TZOFFSETTO"].td
        if not isinstance(start, datetime):
            start = datetime(start.year, start.month, start.day)
        timezone(before), timezone(after)  # an offset a day or more is refused
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    wall = start.replace(tzinfo=UTC)
    times: list[datetime] = [wall]
    for rule in _listed(props.get("RRULE")):
        try:
            text = _on_the_clock(rule, before).to_ical().decode()
            series = recurrence.Series(start=wall, end=wall, timezone="UTC", rule=text)
            times.extend(islice(recurrence.originals(series, _FIRST, _HORIZON), budget + 1))
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError, LookupError):
            return None
        except recurrence.ExpansionLimitExceeded:
            return None
        if len(times) > budget:
            return None
    for listed in _listed(props.get("RDATE")):
        for value in getattr(listed, "dts", ()):
            if isinstance(at := value.dt, datetime):
                times.append(at.replace(tzinfo=UTC) if at.tzinfo is None else at + before)
                if len(times) > budget:
                    return None
    try:
        return [((at - before).replace(tzinfo=UTC), before, after) for at in dict.fromkeys(times)]
    except (ValueError, OverflowError):
        return None


def _on_the_clock(rule: Any, before: timedelta) -> Any:
    """The rule with a UTC UNTIL moved onto the observance's clock: its times are expanded as
    wall clock labelled UTC (`_onsets`), and UNTIL is a true UTC time (RFC 5545 §3.3.10), so
    east of UTC the last onset fell after it and was lost (a zone read +02:00 a winter long)."""
    until = [u for u in rule.get("UNTIL", []) if isinstance(u, datetime) and u.tzinfo is not None]
    if not until:
        return rule
    moved = vRecur(rule)
    moved["UNTIL"] = [(u.astimezone(UTC) + before).replace(tzinfo=UTC) for u in until]
    return moved


@dataclass
class StreamWork:
    """What a calendar stream's TZIDs have cost so far, in all its VCALENDARs (each has a
    ZoneResolver of its own): the budgets below are the stream's. A seventh outside attack's
    import of 25 VCALENDARs, each of 16 custom zones named in 16 years, searched the zone
    database 16 times for each (14.6 s of CPU for 178 KB) when the budget was a VCALENDAR's."""

    searches: int = 0
    custom: int = 0
    onsets: int = 0
    observances: int = 0
    checked: int = 0  # occurrences of series in custom zones checked (custom_zones)


class ZoneResolver:
    """TZIDs of one calendar stream resolved to IANA names; each answer is kept.

    A custom zone costs its onsets once (at most `MAX_ONSETS`; `STREAM_ONSETS` for all of the
    stream's, from at most `STREAM_OBSERVANCES` observances), then for each (TZID, year) 731
    offsets and a check against each earlier answer for that TZID; a stream searches the zone
    database at most `MAX_SEARCHES` times and resolves at most `MAX_CUSTOM` (TZID, year)
    pairs through VTIMEZONEs."""

    def __init__(
        self,
        vtimezones: Mapping[str, Timezone],
        prefer: str | None = None,
        work: StreamWork | None = None,
    ) -> None:
        self._vtimezones = {tzid: Observed(vtimezone) for tzid, vtimezone in vtimezones.items()}
        self.prefer = prefer
        self._found: dict[tuple[str, int], tuple[str | None, str | None]] = {}
        self._matched: dict[str, list[str]] = {}  # a custom TZID's answers for other years
        # a custom TZID no IANA zone matches: the zone kept by (TZID, year, offset), custom_zones
        self.kept: dict[tuple[str, int, timedelta], str] = {}
        self.work = work or StreamWork()  # the stream's, shared by its VCALENDARs' resolvers

    def vtimezone(self, tzid: str) -> Observed | None:
        """The file's own VTIMEZONE of that TZID, if it has one."""
        return self._vtimezones.get(tzid.strip().strip('"'))

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
        key = tzid.strip().strip('"')
        custom = self._vtimezones.get(key)
        if custom is None:
            return None, None
        self.work.custom += 1
        if self.work.custom > MAX_CUSTOM:
            return None, f"time zone {tzid!r}: over {MAX_CUSTOM} custom zones and years to match"
        days = match_days(year)
        wanted = custom.offsets(days, self.work)
        if wanted is None:
            return None, (
                f"time zone {tzid!r}: its VTIMEZONE is not read (unreadable, or over "
                f"{MAX_ONSETS} changes of offset from 1896 to 2200)"
            )
        earlier = self._matched.setdefault(key, [])
        match = next((name for name in earlier if _agrees(name, days, wanted)), None)
        if match is None and self.work.searches < MAX_SEARCHES:
            self.work.searches += 1
            match = _matching(days, wanted, tzid, self.prefer)
            if match is not None:
                earlier.append(match)
        if match is None:
            return None, None
        return match, f"time zone {tzid!r} read as {match!r} (same offsets)"
