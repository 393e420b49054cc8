"""Who the occurrences of invited events keep busy, in a calendar read (`calendars.calendar`).

A calendar read first finds every occurrence in its window, each busy for all who hold its
event; those of events some of the users are invited to are noted here (`Answered.add`).
Then the per-occurrence answers are read for the recurrence ids found only
(`Answered.within`: their range, and any moved occurrence's from far outside it), not every
answer the invitees keep (up to MAX_OCCURRENCE_ANSWERS a series each: 50 people's 86,000
that change their busy-ness cost a find-time 1.1-1.4 s, the loop held 0.5-0.75 s), and
each occurrence is settled: busy for all but those who declined it (`BusyPeople`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events import days
from neo_events.events.conflicts import Busy
from neo_events.events.off_loop import off_the_loop
from neo_events.events.rrule import zone_named
from neo_events.invitations.responses import BusyPeople, occurrence_answers
from neo_events.models import Event

# Recurrence ids of moved occurrences (an override put them in the window from elsewhere)
# read by name; past this many, the range read is widened to them instead.
MAX_MOVED = 200
SETTLE_ON_LOOP = 2_000  # busy occurrences past which `settle` runs in a worker thread

_Found = tuple[datetime, datetime, datetime, object]  # (recurrence id, start, end, override)


class Answered:
    """The occurrences a calendar read found of its invited events, by (event, start, end):
    their recurrence ids, in the order the read found them."""

    __slots__ = ("_hi", "_lo", "_moved", "_rids")

    def __init__(self) -> None:
        self._rids: dict[tuple[int, datetime, datetime], list[datetime]] = {}
        self._lo: datetime | None = None
        self._hi: datetime | None = None
        self._moved: set[datetime] = set()

    def add(self, event_id: int, found: Iterable[_Found]) -> None:
        rids = self._rids
        pairs = []
        for rid, start, end, _ in found:
            rids.setdefault((event_id, start, end), []).append(rid)
            pairs.append((rid, start))
        self._bound(pairs)

    def extend(self, other: Answered) -> None:
        """What another read found too (of other events: a calendar read's others')."""
        self._rids |= other._rids
        self._moved |= other._moved
        if other._lo is not None and other._hi is not None:
            self._bound([(other._lo, other._lo), (other._hi, other._hi)])

    def _bound(self, pairs: Iterable[tuple[datetime, datetime]]) -> None:
        """Widen the range to the recurrence ids of occurrences where they belong, and note
        those moved here by an override (`rid` not `first`, the unmoved one's own id)."""
        lo, hi, moved = self._lo, self._hi, self._moved
        for rid, first in pairs:
            if rid != first:  # moved here by an override: its id may lie anywhere
                moved.add(rid)
            elif lo is None or hi is None:
                lo = hi = rid
            elif rid < lo:
                lo = rid
            elif rid > hi:
                hi = rid
        self._lo, self._hi = lo, hi

    def on_dates(self, zones: Mapping[int, ZoneInfo]) -> None:
        """The occurrences found of the all-day events among them (`zones`: each one's
        zone) named as their answers are kept: by the floating instant of their date
        (`days.key_of`), not by their midnight in the zone, where they were placed."""
        if not zones:
            return
        self._lo = self._hi = None
        self._moved = set()
        for (event_id, start, _), rids in self._rids.items():
            zone = zones.get(event_id)
            first = start if zone is None else days.key_of(start, zone)
            if zone is not None:
                rids[:] = [days.key_of(rid, zone) for rid in rids]
            self._bound((rid, first) for rid in rids)

    def events(self) -> set[int]:
        return {event_id for event_id, _, _ in self._rids}

    def within(self) -> tuple[datetime, datetime, set[datetime]] | None:
        """The recurrence ids whose answers settle what was found: a range (inclusive) and
        those of moved occurrences outside it; None if nothing was found."""
        moved = self._moved
        lo, hi = self._lo, self._hi
        if lo is None or hi is None:
            if not moved:
                return None
            lo, hi = min(moved), max(moved)
        outside = {rid for rid in moved if not lo <= rid <= hi}
        if len(outside) > MAX_MOVED:
            return min(lo, *outside), max(hi, *outside), set()
        return lo, hi, outside

    def settle(
        self,
        busy: Sequence[Busy],
        answers: Mapping[int, Mapping[int, str | None]],
        per_occurrence: Mapping[tuple[int, int], Mapping[datetime, str]],
    ) -> list[Busy]:
        """`busy` with each occurrence of an invited event busy for those it keeps busy only,
        and dropped where that is nobody; the rest as they are, in the same order."""
        deciding: dict[int, BusyPeople] = {}
        taken: dict[tuple[int, datetime, datetime], int] = {}
        settled: list[Busy] = []
        for b in busy:
            series = answers.get(b.event_id)
            if series is None:
                settled.append(b)
                continue
            key = (b.event_id, b.start, b.end)
            nth = taken.get(key, 0)
            taken[key] = nth + 1
            busy_for = deciding.get(b.event_id)
            if busy_for is None:
                mine = {u: per_occurrence.get((b.event_id, u), {}) for u in b.holders}
                busy_for = deciding[b.event_id] = BusyPeople(b.holders, series, mine)
            who = busy_for(self._rids[key][nth])
            if who:
                settled.append(b if who == b.holders else Busy(b.start, b.end, b.event_id, who))
        return settled


async def settled(
    session: AsyncSession,
    found: Sequence[Answered],
    answers: Mapping[int, Mapping[int, str | None]],
    busy: list[Busy],
    zone: str | None = None,
) -> list[Busy]:
    """Declined invitations are free time (SPEC §13), per occurrence too: the occurrences of
    invited events a calendar read found (`found`: of each of its reads, own events' and
    others', at once), settled by the answers given for them (`answers`: the series'). An
    all-day event's were placed in `zone` if the read has one (else in its own)."""
    if not found:
        return busy
    found_by = found[0]
    for more in found[1:]:
        found_by.extend(more)
    if found_by.within() is None:
        return busy
    events = found_by.events()
    # an all-day series' answers are kept by date: its occurrences found are named so
    all_day = await session.execute(
        select(Event.id, Event.timezone).where(Event.id.in_(events), Event.all_day.is_(True))
    )
    found_by.on_dates({row.id: zone_named(zone or row.timezone) for row in all_day})
    within = found_by.within()
    assert within is not None
    per_occurrence = await occurrence_answers(
        session, ((e, u) for e in events for u in answers[e]), differing=True, within=within
    )
    settle = partial(found_by.settle, busy, answers, per_occurrence)
    return await off_the_loop(len(busy) > SETTLE_ON_LOOP, settle)
