"""A file's VTIMEZONE that no IANA zone matches (zones.py found none for its two years): its
wall times are the instants its own offsets give (RFC 5545 §3.2.19), never floating times.

The event is kept in an IANA zone with the VTIMEZONE's UTC offset at the event's start, so its
wall clock reads as the file wrote it: of those, the one that agrees with the VTIMEZONE on the
most weeks of the two years from then (an Eastern zone with the pre-2007 US rules is kept in
America/New_York, not Caracas), then as `zones.rank` orders them. None has that offset (a
fixed +01:17): the event is kept in UTC, at the exact instants. A series recurs on its zone's
wall clock, so where that zone and the VTIMEZONE differ at an occurrence (`first_difference`)
the series cannot be held as written: the import says so, a CalDAV PUT is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice

from neo_events.events import recurrence
from neo_events.ical.losses import Loss
from neo_events.ical.zones import (
    MAX_SEARCHES,
    ZoneResolver,
    canonical,
    match_days,
    rank,
    zone_named,
    zone_names,
)

_WEEKLY = slice(None, None, 7)  # the days of `match_days` a nearest zone is ranked on


def instant_of(zones: ZoneResolver, tzid: str, wall: datetime) -> datetime | None:
    """The instant of a wall time on the file's VTIMEZONE `tzid` (a repeated time its first
    instant, one in a gap the offset before it, RFC 5545 §3.3.5, as `localize` does); None
    without a readable VTIMEZONE of that name."""
    custom = zones.vtimezone(tzid)
    if custom is None:
        return None
    labelled = wall.replace(tzinfo=UTC)
    try:
        day = timedelta(days=1)
        around = custom.offsets([labelled - day, labelled + day], zones.work)
        if around is None:
            return None
        held = [
            labelled - offset
            for offset in dict.fromkeys(around)
            if custom.offsets([labelled - offset], zones.work) == [offset]
        ]
        return min(held) if held else labelled - around[0]
    except OverflowError:
        return None


def kept_zone(zones: ZoneResolver, tzid: str, instant: datetime) -> str:
    """The zone an event starting at `instant` on the VTIMEZONE `tzid` is kept in (see the
    module), "UTC" when no IANA zone has its offset then or the stream's searches are spent."""
    custom = zones.vtimezone(tzid)
    offsets = None if custom is None else custom.offsets([instant], zones.work)
    if offsets is None or custom is None:
        return "UTC"
    key = (tzid, instant.year, offsets[0])
    if key in zones.kept:
        return zones.kept[key]
    if zones.work.searches >= MAX_SEARCHES:
        return "UTC"
    zones.work.searches += 1
    days = match_days(instant.year)[_WEEKLY]
    wanted = custom.offsets(days, zones.work) or []
    candidates = [
        name
        for name in zone_names()
        if instant.astimezone(zone_named(name)).utcoffset() == offsets[0]
    ]

    def fit(name: str) -> tuple[int, tuple[object, ...]]:
        zone = zone_named(name)
        agreed = sum(d.astimezone(zone).utcoffset() == o for d, o in zip(days, wanted, strict=True))
        return -agreed, rank(name, tzid, zones.prefer)

    best = min(candidates, key=fit, default=None)
    found = zones.kept[key] = "UTC" if best is None else canonical(best)
    return found


def first_difference(
    zones: ZoneResolver, tzid: str, zone: str, instants: Sequence[datetime]
) -> datetime | None:
    """The first of `instants` (ascending) at which `zone` has another UTC offset than the
    file's VTIMEZONE `tzid`; None where they agree at all of them."""
    custom = zones.vtimezone(tzid)
    wanted = None if custom is None else custom.offsets(instants, zones.work)
    if wanted is None:
        return instants[0] if instants else None
    named = zone_named(zone)
    return next(
        (
            at
            for at, offset in zip(instants, wanted, strict=True)
            if at.astimezone(named).utcoffset() != offset
        ),
        None,
    )


CHECKED = timedelta(days=731)  # a series' occurrences checked: the two years from its start
MAX_CHECKED = 10_000  # a series' (~25 ms to list); a stream's, all its series together:
STREAM_CHECKED = 100_000


def series_note(zones: ZoneResolver, tzid: str, series: recurrence.Series) -> Loss | None:
    """What is lost when a series whose DTSTART is on the VTIMEZONE `tzid` recurs on its
    zone's clock (`series.timezone`): the first of its occurrences in the two years from its
    start (past MAX_CHECKED, a day apart) at which that zone's offset is not the VTIMEZONE's. A
    stream checks at most STREAM_CHECKED occurrences: a series past them is said unchecked.
    Either is a loss, in the same words for the import and a CalDAV refusal."""
    budget = min(MAX_CHECKED, STREAM_CHECKED - zones.work.checked)
    lo, hi = series.start, series.start + CHECKED
    found = list(islice(recurrence.originals(series, lo, hi), max(budget, 0) + 1))
    zones.work.checked += len(found)
    if len(found) > budget and budget < MAX_CHECKED:
        unchecked = (
            f"time zone {tzid!r}: the series would recur on the clock of {series.timezone!r}, "
            f"not checked against its VTIMEZONE (over {STREAM_CHECKED} occurrences in the file)"
        )
        return Loss(unchecked, unchecked)
    found = found[:MAX_CHECKED]
    if len(found) == MAX_CHECKED:  # a sub-daily rule: the rest of the two years, day by day
        found += [found[-1] + timedelta(days=n) for n in range(1, (hi - found[-1]).days + 1)]
    first = first_difference(zones, tzid, series.timezone, found)
    if first is None:
        return None
    differs = (
        f"time zone {tzid!r}: the series would recur on the clock of {series.timezone!r}, "
        f"whose UTC offset is not its VTIMEZONE's at {first.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    )
    return Loss(differs, differs)
