"""Schedule conflicts: do the occurrences a write adds overlap the calendars concerned?

A user's calendar is every live event they hold any role on. A write is checked for what it
changes: the occurrences its event has afterwards and did not have before (a title edit
checks nothing, moving one occurrence checks that one, and a clash that existed before is
never the write's own), in the windows events/added.py gives: a horizon of 366 days from
the series' first occurrence (from yesterday for a series begun earlier that runs on), so a
clash on the 40th week is found, and around each occurrence the write moves beyond it. A
batch is checked against the calendar and against itself in one sweep
(`conflicts.sweep_conflicts`).

Bounds: a series is checked up to CHECK_LIMIT occurrences (a batch's share BATCH_CHECK_LIMIT),
and at most CALENDAR_LIMIT occurrences of the calendars are loaded (past that the window
checked ends where the limit is reached, or is halved until it fits; an expansion stopped by a
limit hands over what it met, so nothing is expanded twice): tens of ms, whatever the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import Conflict
from neo_events.events import prior_clashes, times_of_day
from neo_events.events.access import get_event_for
from neo_events.events.calendar_keys import Budget, Keys
from neo_events.events.calendars import calendar
from neo_events.events.check_windows import (
    CHECK_LIMIT,
    Candidate,
    Span,
    added_by,
    added_occurrences,
    apart,
    distinct_added,
    occurrences,
    spanned,
    windows,
)
from neo_events.events.conflicts import Busy, Checked, merge, sweep_conflicts
from neo_events.events.contacts import checked_people, contacts_of
from neo_events.events.content import content_of, iso, series_of
from neo_events.events.expansions import Expansions
from neo_events.events.off_loop import off_the_loop
from neo_events.events.suggestions import suggested
from neo_events.events.titles import titles
from neo_events.infra import locks
from neo_events.models import User

LISTED = 100  # clashes an item lists at most


class ConflictPolicy(StrEnum):
    WARN = "warn"
    REJECT = "reject"
    SUGGEST = "suggest"  # reject, with the nearest slots where everyone concerned is free
    IGNORE = "ignore"


class ScheduleConflict(Conflict):
    code = "schedule_conflict"
    title = "This overlaps other events"


BATCH_ITEM = "another event in this batch"  # a refused batch's clash between two of its items


class Clash(NamedTuple):
    """A conflicting occurrence as the caller may see it: details only of events they see,
    times only of their contacts' calendars; a stranger is just `user_id` and busy. (A
    tuple: a batch's answer lists up to 50,000.)"""

    event_id: int | None
    title: str
    start: datetime | None
    end: datetime | None
    user_id: int | None = None
    # another candidate of the same call (a batch's item), by its index: nothing is written
    # yet when it is found (`creation.create_built` names the event once it is)
    item: int | None = None


async def _calendar_for(
    session: AsyncSession,
    user_ids: set[int],
    added: list[list[Span]],
    viewer_id: int,
    keys: Keys | None = None,
    budget: Budget | None = None,
) -> tuple[list[Busy], dict[int, int], list[list[Span]]]:
    """The calendars over the spans of the occurrences to check (`window_of`, read in runs
    `apart` unless there are more than CHECK_LIMIT; with `keys`, those of that window,
    already read: a superset of each run's), and those occurrences that fall where the
    users' own events are complete (see `calendar`: all of them, unless the calendars hold
    more than CALENDAR_LIMIT occurrences of own events in a run's span, or their reads
    together more than CHECK_EVENTS own events: `budget`, that of the `keys` if given).
    Where others' events were not all read (the same bounds, apart), what was read of them
    is still checked against, and own events all are: a clash found there is one, and
    however many events others share with someone, their own still stop a `reject`."""
    budget = budget or Budget()
    distinct = distinct_added(added)
    window = spanned(distinct)
    if window is None:
        return [], {}, added
    # The times of day they fall at, for the read to pass over series that never meet them
    # (a check of at most CHECK_LIMIT occurrences: a batch's 183,000 are not walked here).
    many = sum(len(occ) for occ in distinct) > CHECK_LIMIT
    busy: list[Busy] = []
    visible: dict[int, int] = {}
    ends: list[tuple[datetime, datetime]] = []  # (run's end, where its read is complete)
    for run in [window] if many else apart(distinct):
        mine = [] if many else [o for occ in distinct for o in occ if run[0] <= o[0] <= run[1]]
        near = None if many else times_of_day.Near(mine)
        # ...and the times themselves: only what meets them is answered, to be swept
        checked = None if many else Checked(mine)
        found, seen, reach = await calendar(
            session,
            user_ids,
            run,
            viewer_id=viewer_id,
            near=near,
            checked=checked,
            keys=keys,
            budget=budget,
        )
        if busy:  # an occurrence of a month or more may reach two runs: once is enough
            earlier = set(busy)
            found = [b for b in found if b not in earlier]
        busy += found
        visible |= seen
        if reach.own < run[1]:
            ends.append((run[1], reach.own))
    if ends:
        shown = added

        def complete(start: datetime) -> bool:
            return not any(until <= start <= end for end, until in ends)

        def cut() -> list[list[Span]]:  # each shared list cut once
            kept: dict[int, list[Span]] = {}
            for occ in shown:
                if id(occ) not in kept:
                    kept[id(occ)] = [o for o in occ if complete(o[0])]
            return [kept[id(occ)] for occ in shown]

        added = await off_the_loop(many, cut)
    return busy, visible, added


async def check(
    session: AsyncSession,
    *,
    policy: ConflictPolicy,
    candidates: Sequence[Candidate],
    user_ids: Iterable[int],
    viewer_id: int,
    concerned: Iterable[int] | None = None,
    added: list[list[Span]] | None = None,
    keys: Keys | None = None,
    budget: Budget | None = None,
    items: bool = False,
) -> list[list[Clash]]:
    """For each candidate, what the occurrences it adds clash with.

    `reject` raises ScheduleConflict when anything clashes; `suggest` too, with the nearest
    free slots of everyone `concerned` (default: the users checked and the viewer) who is
    the viewer or their contact (SPEC §7: a stranger is only ever said to be busy then);
    `ignore` checks nothing. Of many people, CHECKED_PEOPLE calendars are read
    (`contacts.checked_people`). Other candidates of the same call count too, so a batch
    that overlaps itself is caught.

    `added`: the candidates' `added_by`, if the caller worked them out; `keys`: the
    calendar's keys over their `window_of`, if it read them (a create under `warn` reads
    them with its write, `creation.create_event`), and the `budget` they spent. `items`:
    the candidates are a batch's items, whose refusal names the item of each clash (a batch
    of one too).
    """
    nothing: list[list[Clash]] = [[] for _ in candidates]
    if policy is ConflictPolicy.IGNORE:
        return nothing
    batch = len(candidates) > 1
    if added is None:
        added = await added_by(candidates)
    if not any(added):
        return nothing
    checked = checked_people(viewer_id, user_ids)
    if policy in (ConflictPolicy.REJECT, ConflictPolicy.SUGGEST):
        # what it finds free must stay free until it is written: another checked write of
        # these calendars waits for this one's transaction (`infra.locks`)
        await locks.hold(session, locks.CALENDAR, checked)
    busy, visible, added = await _calendar_for(session, checked, added, viewer_id, keys, budget)
    excluded = [c.event_id for c in candidates]

    def sweep() -> tuple[list[list[Busy]], set[int]]:
        moves = [(c.series, c.before, windows(c) if c.before else []) for c in candidates]
        found = prior_clashes.sweep(moves, added, busy, excluded, LISTED, CHECK_LIMIT)
        return found, {
            u for clashes in found for b in clashes if b.event_id not in visible for u in b.holders
        }

    found, hidden = await off_the_loop(batch, sweep)
    contacts = await contacts_of(session, viewer_id, hidden)
    named = await _titles(session, found, visible)
    results = await off_the_loop(
        batch, lambda: [_clashes(c, visible, contacts, named) for c in found]
    )
    if policy in (ConflictPolicy.REJECT, ConflictPolicy.SUGGEST) and any(results):
        # a batch's clashes each name the item they concern (`item`: its index in the
        # request's `events`), and one with another item names that one (`other_item`)
        flat = [(i if items else None, c) for i, clashes in enumerate(results) for c in clashes]
        extra: dict[str, Any] = {}
        if policy is ConflictPolicy.SUGGEST:
            people = set(concerned) if concerned is not None else set(user_ids) | {viewer_id}
            # of the caller's and contacts' calendars: a stranger's free time is not theirs to learn
            people = checked_people(viewer_id, await contacts_of(session, viewer_id, people))
            index, extra["suggestions"] = await suggested(session, candidates, added, found, people)
            if len(candidates) > 1:
                extra["suggestions_for"] = index
        raise ScheduleConflict(
            f"{len(flat)} overlapping occurrence(s); ?conflicts=warn or ignore saves anyway.",
            conflicts=await off_the_loop(batch, lambda: [clash_json(c, item=i) for i, c in flat]),
            **extra,
        )
    return results


async def _titles(
    session: AsyncSession, found: Sequence[Sequence[Busy]], visible: Mapping[int, int]
) -> dict[int, str]:
    """The titles a clash list shows: of the clashing events the viewer may see."""
    shown = {
        b.event_id: visible[b.event_id]
        for clashes in found
        for b in clashes
        if b.event_id in visible
    }
    return await titles(session, shown) if shown else {}


def _clashes(
    found: Sequence[Busy], visible: Mapping[int, int], contacts: set[int], named: Mapping[int, str]
) -> list[Clash]:
    clashes: list[Clash] = []
    strangers: set[int] = set()
    for busy in found:
        if busy.event_id < 0:
            item = -busy.event_id - 1  # `conflicts.sweep_conflicts`' own numbering
            clashes.append(Clash(None, BATCH_ITEM, busy.start, busy.end, item=item))
        elif busy.event_id in visible:
            clashes.append(Clash(busy.event_id, named[busy.event_id], busy.start, busy.end))
        elif busy.holders & contacts:  # a contact's private event: busy, when
            clashes.append(Clash(None, "busy", busy.start, busy.end))
        else:  # only strangers hold it: that they are busy, nothing more
            strangers |= busy.holders
    return clashes + [Clash(None, "busy", None, None, user_id=u) for u in sorted(strangers)]


def clash_json(
    clash: Clash, instant: Callable[[datetime], object] = iso, *, item: int | None = None
) -> dict[str, object]:
    """A clash as the API shows it; its times as `instant` writes them (ISO 8601 text for a
    problem body, or left as datetimes for orjson to write: `events.answers`). `item`: the
    index of the batch item it concerns, for a refused batch's one list."""
    shown: dict[str, object]
    if clash.start is None or clash.end is None:
        shown = {"user_id": clash.user_id, "busy": True}
    else:
        shown = {
            "event_id": clash.event_id,
            "title": clash.title,
            "start_time": instant(clash.start),
            "end_time": instant(clash.end),
        }
    if clash.item is not None:
        shown["other_item"] = clash.item
    if item is not None:
        shown["item"] = item
    return shown


async def busy_intervals(
    session: AsyncSession,
    *,
    user_id: int,
    window: Span,
    cache: Expansions | None = None,
    zone: str | None = None,
) -> list[Span]:
    """The user's calendar in the window as merged busy intervals, clipped to the window; an
    all-day event's days from `zone`'s midnights (a CalDAV reader's; None: its own zone's)."""
    busy, _, _ = await calendar(
        session, [user_id], window, viewer_id=None, strict=True, cache=cache, zone=zone
    )
    clipped = (
        (max(b.start, window[0]), min(b.end, window[1]))
        for b in busy
        if b.start < window[1] and b.end > window[0]
    )
    return merge(clipped)


async def event_conflicts(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    window: Span | None,
) -> list[Clash]:
    """What in the caller's own calendar overlaps an event's occurrences: in the window if
    given (strictly: 422 past MAX_OCCURRENCES), else where a write of it checks (its
    horizon, and around the occurrences it moves beyond: `check_windows.windows`)."""
    event, _ = await get_event_for(session, actor.id, event_id)
    if event.transparency == "transparent":
        return []  # free time conflicts with nothing
    series = series_of(content_of(event))
    if window is not None:
        mine = occurrences(series, window, strict=True)
        busy, visible, _ = await calendar(
            session, [actor.id], window, viewer_id=actor.id, strict=True
        )
    else:
        mine = added_occurrences(Candidate(event.id, series))
        busy, visible, [mine] = await _calendar_for(session, {actor.id}, [mine], actor.id)
    [found] = sweep_conflicts([mine], busy, excluded=[event.id])
    return _clashes(found, visible, {actor.id}, await _titles(session, [found], visible))
