"""A calendar read: the busy occurrences in a window of every event some users hold a role
on (conflict checks, free/busy, find-time, suggestions).

Cost: the keys (event, version, holders, answers) come first, one row per event in the
window (`calendar_keys`: several users' roles are gathered by event first) — on PostgreSQL a
probe of `ix_events_id_calendar` per event the users hold a role on and not deleted (a
deleted event's grants are passed over in the users' index, `live`), answered from the
index alone, never a scan of `events`. The contents (rule, exceptions: the JSON
columns) are read only for the events whose weeks the expansions cache lacks
(`expansions.Weeks`) and whose series it does not keep either (by event and version), so a
window whose weeks are cached reads no content at all, and nor do new weeks of a series
read before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events import answered, calendar_keys, expansions, recurrence, times_of_day
from neo_events.events import calendar_series as _built
from neo_events.events.calendar_cuts import piled_window, shortened
from neo_events.events.calendar_keys import Budget
from neo_events.events.calendar_series import NotLoaded, loaded_series
from neo_events.events.conflicts import Busy, Checked
from neo_events.events.expansions import Expansions, Kept, Weeks
from neo_events.events.listing import (
    MAX_OCCURRENCES,
    MAX_WINDOW_EVENTS,
    too_many_events,
    too_many_occurrences,
)
from neo_events.events.off_loop import off_the_loop
from neo_events.events.series_rows import EXCEPTIONS as _EXCEPTIONS
from neo_events.events.series_rows import contents as _contents

CALENDAR_LIMIT = 5_000  # occurrences of the calendars a write is checked against


class Reach(NamedTuple):
    """Up to when a calendar read is complete: for the users' own events (`own`: created by
    one of them, which nobody else can fill) and for every event it looks at (`whole`)."""

    own: datetime
    whole: datetime


async def calendar(
    session: AsyncSession,
    user_ids: Iterable[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
    strict: bool = False,
    cache: Expansions | None = None,
    near: times_of_day.Near | None = None,
    checked: Checked | None = None,
    keys: calendar_keys.Keys | None = None,
    budget: calendar_keys.Budget | None = None,
    zone: str | None = None,
) -> tuple[list[Busy], dict[int, int], Reach]:
    """Occurrences in the window of every event the users hold a role on (each with which of
    those users hold it), which of those events `viewer_id` may see, each with the version
    read (for the titles of a clash list, `titles`) (None: busy time only, nobody asks, and
    the query skips a subquery a row), and up to when that is complete (`Reach`): the
    users' own events and the others' apart, past CALENDAR_LIMIT occurrences of a kind its
    window is cut short where the limit was reached (each event is expanded once, within
    what is left of the limit), or, if `strict` (a window the caller chose), it is a 422.
    With `cache` (by default the worker's, if the session carries it: `expansions.attach`),
    expansions are kept by (event, version, week) and series by (event, version) (see
    `expansions.Weeks`). `near`: where in the UTC day and week the occurrences a conflict
    check asks about fall (`times_of_day.Near`): a series that is not all cached and none
    of whose occurrences can fall there (other hours, or other weekdays) is passed over
    unexpanded (nothing of it could clash, and it costs no part of the limit). `checked`:
    the times a conflict check asks about; only occurrences that meet them are answered
    (the others could not clash), the limit still counting every one met.

    Two reads: the keys of the events in the window (`calendar_keys`), then the contents of
    those whose weeks are not all cached, by primary key. No titles: a conflict check reads
    those of what clashes (`titles`). `keys`: those of the window, if the caller read them
    (a create reads them with its write: `key_rows.one_user_arrays`). `budget`: how many
    events the read may take (`calendar_keys.Budget`: own and others' apart, the first by
    start of each; by default CHECK_EVENTS each, or MAX_WINDOW_EVENTS in all if `strict`),
    spent by those it takes: past it the window of that kind is cut short where the others
    of it start, or, if `strict`, a 422. `zone`: where all-day events' days begin (a CalDAV
    reader's, `series_types.zoned`; None: each event's own zone)."""
    if cache is None:  # a request's session carries the worker's cache
        cache = expansions.of_session(session)
    lo, hi = window
    if keys is None:
        if budget is None:
            budget = Budget.strict(MAX_WINDOW_EVENTS) if strict else Budget()
        if budget.spent():
            return [], {}, Reach(lo, lo)  # the check's reads took all they may: none complete
        keys = await calendar_keys.read(
            session, set(user_ids), window, viewer_id=viewer_id, budget=budget
        )
    if strict and not keys.complete:
        raise too_many_events()
    ends = [hi if cut is None else max(lo, min(hi, cut)) for cut in (keys.own_cut, keys.others_cut)]
    # One read of every event (own first), as the two reads would answer where both kinds
    # end alike, unless its limit of occurrences cuts it short; then own and others' apart,
    # each to where its read is complete and within a limit of its own (CALENDAR_LIMIT
    # each: nobody else's events make a check stop short of someone's own).
    has_own = len(keys.others) < len(keys.events)
    mixed = has_own and bool(keys.others)
    end = ends[0] if has_own else ends[1]
    plan = [(keys.events, end)]
    for apart in (mixed and ends[0] != ends[1], mixed):
        if apart:
            plan = list(zip(keys.apart(), ends, strict=True))
        reads, busy, reach = await _read_parts(
            session, keys, lo, plan, cache, near, strict, checked, zone
        )
        if len(plan) == 2 or reach[0] >= end or not mixed:
            break
    if len(plan) == 1:  # every event in one read: complete for each kind as far as it is
        reach = [reach[0] if has_own else ends[0], min(reach[0], *ends)]
    visible = keys.visible
    for read in reads:
        for event_id, version in read.renewed.items():  # changed between the two reads
            if event_id in visible:
                visible[event_id] = version
    found = [r.answered for r in reads]
    settled = await answered.settled(session, found, keys.answers, busy, zone)
    return settled, visible, Reach(reach[0], min(reach))


async def _read_parts(
    session: AsyncSession,
    keys: calendar_keys.Keys,
    lo: datetime,
    parts: Sequence[tuple[dict[int, int], datetime]],
    cache: Expansions | None,
    near: times_of_day.Near | None,
    strict: bool,
    checked: Checked | None,
    zone: str | None,
) -> tuple[list[_Read], list[Busy], list[datetime]]:
    """Each part's events (from `lo` to the part's end; all-day ones in `zone`) expanded in
    a read of its own: the reads, what they found, and up to when each is complete."""
    loaded = await _loaded(session, cache, lo, parts, zone)
    reads: list[_Read] = []
    busy: list[Busy] = []
    reach: list[datetime] = []
    for (events, end), (weeks, cached, known, contents) in zip(parts, loaded, strict=True):
        if weeks is None:
            reach.append(max(lo, end))
            continue
        read = _Read(
            events, keys.holders, keys.answers, known, contents, cache, near, strict, checked
        )
        found, until = await _expanded(session, read, weeks, cached)
        reads.append(read)
        busy += found
        reach.append(until)
    return reads, busy, reach


_Cached = dict[int, list[tuple[Kept, ...] | None]]
_Loaded = tuple[Weeks | None, _Cached, dict[int, recurrence.Series | None], dict[int, Any]]


async def _loaded(
    session: AsyncSession,
    cache: Expansions | None,
    lo: datetime,
    parts: Sequence[tuple[dict[int, int], datetime]],
    zone: str | None,
) -> list[_Loaded]:
    """For each kind of event and its window (`lo` to its end): its weeks and what the
    cache holds of them, the series known of the events whose weeks are not all cached (if
    built), and the contents of those whose series is not, read at once for every kind
    (None, and nothing, for no event or an empty window)."""
    found: list[_Loaded] = []
    for events, hi in parts:
        if not events or hi <= lo:
            found.append((None, {}, {}, {}))
            continue
        weeks = Weeks(cache, lo, hi, zone)
        cached = weeks.look_up_all(events)
        known = weeks.known_series(
            (e, events[e]) for e, kept in cached.items() if not weeks.complete(kept)
        )
        found.append((weeks, cached, known, {}))
    unread = [e for _, _, known, _ in found for e, series in known.items() if series is None]
    contents = await _contents(session, unread)
    if len(found) < 2:  # (apart, each read takes the contents of its own events)
        return [(weeks, cached, known, contents) for weeks, cached, known, _ in found]
    return [
        (w, c, known, {e: contents[e] for e in known if e in contents}) for w, c, known, _ in found
    ]


async def _expanded(
    session: AsyncSession, read: _Read, weeks: Weeks, cached: _Cached
) -> tuple[list[Busy], datetime]:
    """The read's events expanded into the window of `weeks`, and up to when complete."""
    try:
        return await read.run(weeks, cached)
    except NotLoaded:
        pass
    # All the weeks of an event were cached, but the read went past its limit: the direct
    # expansion says where. The contents of every such event (neither read nor its series
    # known) are read, and the read starts again (once).
    events, contents, known = read.events, read.contents, read.known
    missing = [e for e in events if e not in contents and known.get(e) is None]
    contents |= await _contents(session, missing)
    read.gone = set(missing) - contents.keys()
    weeks = weeks.over(weeks.start, weeks.end)
    return await read.run(weeks, weeks.look_up_all(events))


ON_LOOP_EVENTS = 200  # a calendar read of more events expands them in a worker thread
ON_LOOP_STRICT_EVENTS = 20  # the same for a window the caller chose (free/busy, find-time)
EXCEPTIONS_PER_EVENT = 10  # overrides, exdates or rdates that weigh as much as an event (`weight`)
EXCEPTION_BYTES = 30  # ...of JSON not yet decoded: an exdate's 13 to 24, an override's more


class _Read:
    """What a calendar read has read of its events, and the expansion of them into its window
    (`collect`): CPU only, in a worker thread for a read of many events."""

    def __init__(
        self,
        events: dict[int, int],
        holders: Mapping[int, frozenset[int]],
        answers: Mapping[int, Mapping[int, str | None]],
        known: dict[int, recurrence.Series | None],
        contents: dict[int, tuple[int, Mapping[Any, Any]]],
        cache: Expansions | None,
        near: times_of_day.Near | None,
        strict: bool,
        checked: Checked | None = None,
    ) -> None:
        self.events, self.holders, self.answers = events, holders, answers
        self.known, self.contents = known, contents
        self.cache, self.near, self.strict = cache, near, strict
        self.checked = checked
        self.gone: set[int] = set()  # deleted between the reads: no occurrences
        self.renewed: dict[int, int] = {}  # changed between the reads: the version read
        # What a collect given `checked` expanded, before it kept what meets them, by (event,
        # version), and the window: a later collect of the same window (the whole read after
        # one past its limit, or a read started again after `NotLoaded`) takes them again
        # rather than expanding those events a second time (`collect`).
        self.met: dict[tuple[int, int], Sequence[Kept]] = {}
        self.met_window: tuple[datetime, datetime] | None = None
        # The expansion that went past the limit, by what it was asked (`_expanded`).
        self.exceeded: tuple[tuple[Any, ...], recurrence.ExpansionLimitExceeded] | None = None
        # what was found of invited events, busy for every holder until settled (`_settled`)
        self.answered = answered.Answered()

    async def run(
        self, weeks: Weeks, cached: dict[int, list[tuple[Kept, ...] | None]]
    ) -> tuple[list[Busy], datetime]:
        """`collect`; for many events (20,000 yearly series: 1.5 s), or a window the caller
        chose (free/busy, find-time) of more than a few (fifty people's dense series, up to
        MAX_OCCURRENCES, held the loop 0.12-0.5 s), in a worker thread, so that the event
        loop keeps serving meanwhile. A write's check and a small free/busy stay on the loop:
        the hop costs more, and they need not queue behind others' large reads."""
        many = ON_LOOP_STRICT_EVENTS if self.strict else ON_LOOP_EVENTS
        heavy = self.weight() > many
        try:
            return await off_the_loop(heavy, partial(self.collect, weeks, cached))
        except _PastTheLimit:
            pass
        # The window is cut short where every occurrence, not only those near the times
        # checked, reaches the limit: read as without them, then filtered. The events met
        # before the limit are taken as expanded then (`met`), not expanded again: a weekly
        # series checked against 2,000 events paid its year twice. (A read that starts
        # again, `NotLoaded`, starts with the times checked again.)
        checked, self.checked = self.checked, None
        assert checked is not None
        try:
            weeks = weeks.over(weeks.start, weeks.end)
            cached = weeks.look_up_all(self.events)
            busy, hi = await off_the_loop(heavy, partial(self.collect, weeks, cached))
        finally:
            self.checked = checked
        return [b for b in busy if checked.meets(b.start, b.end)], hi

    def weight(self) -> int:
        """The events read, in events: each exception (override, exdate, rdate) of a series
        to be built or expanded counts a tenth of one, those still JSON text by its bytes
        (`EXCEPTION_BYTES` each) (a check past 18 series of 1,000 overrides cost 0.14 s on
        the loop, as ~2,000 yearly series would)."""
        read = sum(len(c[name] or "") for _, c in self.contents.values() for name in _EXCEPTIONS)
        exceptions = sum(
            len(s.overrides) + len(s.exdates) + len(s.rdates)
            for s in self.known.values()
            if s is not None
        )
        return len(self.events) + (exceptions + read // EXCEPTION_BYTES) // EXCEPTIONS_PER_EVENT

    def collect(
        self, weeks: Weeks, cached: dict[int, list[tuple[Kept, ...] | None]]
    ) -> tuple[list[Busy], datetime]:
        """The busy occurrences in the window of `weeks`, and up to when that is complete;
        raises NotLoaded for an event whose content is needed and was not read."""
        events, known, contents, near = self.events, self.known, self.contents, self.near
        for event_id, (version, _) in contents.items():
            if events[event_id] != version:  # changed between the two reads: as it is now
                events[event_id] = self.renewed[event_id] = version
                cached[event_id] = weeks.look_up((event_id, version))
                known[event_id] = None  # a series known is of the version the keys read
        lo, hi = weeks.start, weeks.end
        self.answered = answered.Answered()  # (a read started again finds them again)
        limit = MAX_OCCURRENCES if self.strict else CALENDAR_LIMIT
        checked = self.checked
        met_before = self.met if self.met_window == (lo, hi) else {}
        if checked is not None:
            self.met, self.met_window = {}, (lo, hi)
        busy: list[Busy] = []
        met = 0  # occurrences met: `busy`'s, and those `checked` passed over
        budget = times_of_day.Budget()  # zones' offsets this read may work out afresh
        for event_id, version in events.items():
            if event_id in self.gone:
                continue
            if near is not None and not weeks.complete(cached[event_id]):
                series = loaded_series(weeks, known, contents, (event_id, version))
                if series is not None:
                    known[event_id] = series  # built once: the expansion below takes it
                    if not near.meets(series, lo, hi, budget):
                        continue
            found = met_before.get((event_id, version))
            if found is not None and len(found) > limit - met:
                found = None  # past what is left of the limit: the expansion below says where
            while found is None:
                try:
                    key = (event_id, version)
                    found = self._expanded(weeks, key, cached[event_id], limit - met)
                except recurrence.ExpansionLimitExceeded as exc:
                    if self.strict:
                        raise too_many_occurrences() from None
                    if checked is not None:
                        raise _PastTheLimit from None
                    piled = None
                    if exc.reached is not None and exc.reached <= lo:
                        series = _built.series(weeks, known, contents, (event_id, version))
                        piled = piled_window(series, busy, lo, hi, limit)
                    before, hi = piled if piled is not None else shortened(exc, lo, hi)
                    weeks = weeks.over(lo, hi)
                    cached = weeks.look_up_all(events)
                    met_before = {}  # (expanded into the longer window)
                    busy = [b for b in busy if b.start < hi]
                    met = len(busy)
                    # a pile's window fits by construction
                    if before is not None and len(busy) + len(before) <= limit:
                        found = before
            met += len(found)
            if checked is not None:
                self.met[event_id, version] = found
                found = checked.among(found)
            people = self.holders[event_id]
            # each o is (recurrence_id, start, end, override): kept weeks are plain tuples
            busy.extend(Busy(o[1], o[2], event_id, people) for o in found)
            if event_id in self.answers:  # busy for all, until the answers settle it
                self.answered.add(event_id, found)
        return busy, hi

    def _expanded(
        self, weeks: Weeks, key: tuple[int, int], parts: list[tuple[Kept, ...] | None], limit: int
    ) -> Sequence[Kept]:
        """`weeks.expand` of the event `key`. Past the limit, the exception is kept: the read
        without the times checked (`run`) meets the same event with the same window and
        limit (what it takes of the events before comes from `met`), where the expansion,
        the window's direct one whatever the cache holds, would only walk to it again (an
        every-minute series: ~5,000 occurrences, 17 ms)."""
        asked = (key, weeks.start, weeks.end, weeks.zone, limit)
        if self.exceeded is not None and self.exceeded[0] == asked:
            raise self.exceeded[1]
        series = partial(_built.series, weeks, self.known, self.contents, key)
        try:
            return weeks.expand(key, series, parts, limit=limit)
        except recurrence.ExpansionLimitExceeded as exc:
            self.exceeded = (asked, exc)
            raise


class _PastTheLimit(Exception):
    """A read that answers only what meets the times checked went past its limit."""
