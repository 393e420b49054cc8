"""The values recurrence works with (`recurrence.py`): a series, an override of one of its
occurrences, and an expanded occurrence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

from neo_events.events.rrule import utc


@dataclass(frozen=True, slots=True)
class Override:
    """A change to one occurrence, keyed by its original start instant."""

    recurrence_id: datetime
    start: datetime | None = None
    end: datetime | None = None
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Series:
    """An event and its recurrence; `rule` None and no `rdates` means a single event.

    An all-day series is floating: its times are its dates' midnights in UTC (its
    `timezone` is "UTC", so the rule recurs by date) and `all_day_zone` names the zone whose
    midnights `expand` places its occurrences at (see events/days.py).
    """

    start: datetime
    end: datetime
    timezone: str
    rule: str | None
    exdates: tuple[datetime, ...] = ()
    overrides: tuple[Override, ...] = ()
    rdates: tuple[datetime, ...] = ()  # sorted, UTC: occurrences besides the rule's
    all_day_zone: str | None = None
    # The exceptions as an expansion reads them, in UTC, worked out once for the series: a
    # series kept by a worker (`expansions.keep_series`) is expanded into many windows, and
    # 500 series of 500 exceptions spent 0.3 s of every new window converting them again.
    excluded: frozenset[datetime] = field(init=False, repr=False, compare=False)
    skipped: frozenset[datetime] = field(init=False, repr=False, compare=False)  # and moved
    moves: tuple[Move, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        excluded = frozenset(utc(x) for x in self.exdates)
        moves = tuple(
            Move(
                utc(o.recurrence_id),
                None if o.start is None else utc(o.start),
                None if o.end is None else utc(o.end),
                o,
            )
            for o in self.overrides
        )
        object.__setattr__(self, "excluded", excluded)
        object.__setattr__(self, "skipped", excluded.union(m.recurrence_id for m in moves))
        object.__setattr__(self, "moves", moves)


class Move(NamedTuple):
    """An override's instants in UTC (`Series.moves`)."""

    recurrence_id: datetime
    start: datetime | None
    end: datetime | None
    override: Override


class Occurrence(NamedTuple):
    """One expanded occurrence, all datetimes in UTC (a tuple: an expansion makes thousands)."""

    recurrence_id: datetime
    start: datetime
    end: datetime
    override: Override | None


def zoned(series: Series, zone: str | None) -> Series:
    """The series as someone living in `zone` has it (None: the event's own): an all-day
    series' dates begin at their midnights, as SPEC §4's floating dates do for every viewer
    (a listing's `timezone=`, a holder's reminders, a CalDAV reader's time ranges); a timed
    series is the same everywhere."""
    if zone is None or series.all_day_zone is None or zone == series.all_day_zone:
        return series
    return replace(series, all_day_zone=zone)
