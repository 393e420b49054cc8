"""The keys of a calendar read (`calendars.calendar`): each live, opaque event whose span
reaches the window that one of the users holds a role on, but those they all declined (below),
with its version, its holders among the users, the invitees' series answers, whether the
viewer sees it and whether it is one of the users' own.

Own events (created by one of the users: `Event.owner_id`, which nobody else can make) and
the others (shared with them, or invited to them, by anyone) are taken apart, each within a
budget of its own (`Budget`), own first: however many events others put in someone's
calendar, a check still reads that person's own (an outside attack filled a single budget
with 5,001 long events shared years before the window, and a `reject` create over the
victim's own event passed with no conflicts). An invitation declined for the series, and for
no occurrence answered otherwise, is free time (SPEC §13): such an event is left out in SQL
(for several users, only if every one of them who holds it declined it so), and costs the
budget nothing.

A row an event: the roles of several users are gathered by event in the database (100
people who share 2,000 events are 2,000 rows, not 200,000: those took ~2 s of Python), and
the rows are read a part at a time, the event loop running between parts.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import driver
from neo_events.events import key_rows

KEYS_A_PART = 2_000  # key rows read between two turns of the event loop (~10-20 ms)
# Events a conflict check's calendar reads take at most, all its reads together (a
# `Budget`), of the users' own and as many of the others: the first by start of each. A
# busy calendar's year held 20,000 events, and its every key cost a check ~5 µs: 0.1-0.2 s
# a series create; a `suggest` over 100 busy people's fortnight (whose every event is
# expanded, ~20 µs each) 5-6 s (an outside attack). Past it a read is complete, for own
# events or for the others, up to where those it did not take start (`Keys.own_cut`,
# `others_cut`). As many as the occurrences a read takes of each (`calendars.CALENDAR_LIMIT`):
# each event met in the window is at least one of those, but for a series at other times.
CHECK_EVENTS = 5_000


class Budget:
    """How many more events the calendar reads of one check (or one strict read) may take:
    of the users' own (`own`) and of the others (`others`), each the first by start; and,
    for a strict read, of both together (`total`: past it the read is refused, whichever
    they are). Two budgets, not one that takes own events first: a check read in runs
    (`check_windows.apart`) shares its budget between them, and others' events of an earlier
    run would spend what a later run's own events need."""

    def __init__(self, events: int | None = None, *, total: int | None = None) -> None:
        self.own = self.others = CHECK_EVENTS if events is None else events
        self.total = total

    @classmethod
    def strict(cls, events: int) -> Budget:
        """At most `events` in all (a window the caller chose: past it, a 422)."""
        return cls(events, total=events)

    def spent(self) -> bool:
        return not self.own and not self.others

    def params(self) -> dict[str, int]:
        """The statement's limits (`key_rows.statement`): one past each budget (where the
        others of that kind start)."""
        own, others = self.own + 1, self.others + 1
        total = own + others if self.total is None else self.total + 1
        return {"own_limit": own, "others_limit": others, "key_limit": total}


async def read(
    session: AsyncSession,
    users: set[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
    budget: Budget,
) -> Keys:
    """The keys of the users' calendars in the window, and which events `viewer_id` sees:
    those of the first `budget.own` own events by start and the first `budget.others` of
    the others (the budget spent by as many), and where those not taken start (`Keys.own_cut`,
    `others_cut`: the read is complete before it) if there are more."""
    dialect = session.get_bind().dialect.name
    one = len(users) == 1
    params: dict[str, Any] = {"start": window[0], "end": window[1], **budget.params()}
    params["users"] = next(iter(users)) if one else list(users)
    # A viewer who is the only user sees every event of the calendar (they hold a role on
    # each): the query asks nothing more (a create's check, the common case).
    ask_viewer = viewer_id is not None and users != {viewer_id}
    if ask_viewer:
        params["viewer_id"] = viewer_id
    connection = await driver.connection_of(session)
    result = await connection.execute(key_rows.statement(dialect, ask_viewer, one), params)
    keys = Keys(viewer_id, ask_viewer)
    own = _Taken()
    others = _Taken()
    for part in result.partitions(KEYS_A_PART):
        # own rows first (`key_rows.statement`): where the others begin, by halves
        mine = bisect.bisect_left(part, True, key=_of_others)
        if one:
            keys.gather_one(part, params["users"], mine)
        else:
            keys.gather(part, json=dialect != "postgresql")
        own.add(mine, part[mine - 1].span_start if mine else None)
        others.add(len(part) - mine, part[-1].span_start if mine < len(part) else None)
        if len(part) == KEYS_A_PART:
            await asyncio.sleep(0)
    keys.spend(budget, own, others)
    return keys


def _of_others(row: Any) -> bool:
    return bool(row.others)


class _Taken:
    """How many events of one kind (own, or others') a read took, and the last one's start."""

    __slots__ = ("count", "last")

    def __init__(self, count: int = 0, last: datetime | None = None) -> None:
        self.count, self.last = count, last

    def add(self, count: int, last: datetime | None) -> None:
        if count:
            self.count, self.last = self.count + count, last


class Keys:
    """The key rows of a calendar read gathered by event: its version, which of the users
    hold it, the invitees' series answers, whether the viewer may see it, and whether it is
    one of the others' (not created by one of the users)."""

    @classmethod
    async def of_arrays(cls, user_id: int, row: Any, budget: Budget) -> Keys:
        """The keys of `key_rows.one_user_arrays`' row, for `user_id`, who is the viewer, read with
        `budget.params()`: gathered a part at a time, the event loop running between parts,
        as `read`'s are."""
        keys = cls(user_id, False)
        own = _Taken(row.own_taken, row.own_last)
        keys.spend(budget, own, _Taken(row.others_taken, row.others_last))
        ids, versions, responses = row.ids or (), row.versions or (), row.responses or ()
        if not len(ids) == len(versions) == len(responses) == own.count + row.others_taken:
            raise ValueError("the arrays of one_user_arrays differ in length")
        if row.others_taken:
            keys.others.update(ids[own.count :])
        for first in range(0, len(ids), KEYS_A_PART):
            if first:
                await asyncio.sleep(0)
            part = slice(first, first + KEYS_A_PART)
            keys._gather_columns(user_id, ids[part], versions[part], responses[part])
        return keys

    def __init__(self, viewer_id: int | None, ask_viewer: bool) -> None:
        self.viewer_id, self.ask_viewer = viewer_id, ask_viewer
        self.events: dict[int, int] = {}  # version, by id
        self.holders: dict[int, frozenset[int]] = {}
        self.answers: dict[int, dict[int, str | None]] = {}  # invitees' series answers
        # the events the viewer may see, each with its version (a clash list's titles are
        # kept by version: `titles.titles`)
        self.visible: dict[int, int] = {}
        self.others: set[int] = set()  # the events none of the users created
        # where the own events (or the others') a limited read did not take start: complete
        # for them before it (None: all of them taken)
        self.own_cut: datetime | None = None
        self.others_cut: datetime | None = None
        self.over = False  # past a strict read's `Budget.total`

    @property
    def complete(self) -> bool:
        """Whether the read took every event (a strict read refuses otherwise)."""
        return self.own_cut is None and self.others_cut is None and not self.over

    def spend(self, budget: Budget, own: _Taken, others: _Taken) -> None:
        """Events read of each kind (at most one past its budget, the last starting at
        `last`): past a budget, the read of that kind is cut where its last starts, and
        that budget is spent."""
        if budget.total is not None and own.count + others.count > budget.total:
            self.over = True
        if own.count > budget.own:
            self.own_cut, budget.own = own.last, 0
        else:
            budget.own -= own.count
        if others.count > budget.others:
            self.others_cut, budget.others = others.last, 0
        else:
            budget.others -= others.count

    def apart(self) -> tuple[dict[int, int], dict[int, int]]:
        """The events by kind, own then others' (each in the order read)."""
        others = self.others
        own = {e: v for e, v in self.events.items() if e not in others}
        return own, {e: v for e, v in self.events.items() if e in others}

    def gather_one(self, rows: Sequence[Any], user_id: int, own: int) -> None:
        """Rows of one user's calendar: (id, version, response, others[, visible]), one an
        event, own events first (the first `own` rows)."""
        if not self.ask_viewer:
            ids, versions = [row.id for row in rows], [row.version for row in rows]
            self._gather_columns(user_id, ids, versions, [row.response for row in rows])
            self.others.update(ids[own:])
            return
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        people, seeing = frozenset((user_id,)), self.viewer_id is not None
        self.others.update(row.id for row in rows[own:])
        for row in rows:
            events[row.id] = row.version
            holders[row.id] = people
            if row.response is not None:
                answers[row.id] = {user_id: row.response}
            if seeing and row.visible:
                visible[row.id] = row.version

    def _gather_columns(
        self,
        user_id: int,
        ids: Sequence[int],
        versions: Sequence[int],
        responses: Sequence[str | None],
    ) -> None:
        """`gather_one` of rows given as columns, for a viewer who is the user (who sees
        every event of their calendar) or for no viewer (nothing is visible): by the dicts'
        own bulk updates, not a row at a time (2,000 events' keys, a row at a time, were a
        fifth of a check's CPU)."""
        self.events.update(zip(ids, versions, strict=True))
        self.holders.update(dict.fromkeys(ids, frozenset((user_id,))))
        self.answers.update(
            (event_id, {user_id: response})
            for event_id, response in zip(ids, responses, strict=True)
            if response is not None
        )
        if self.viewer_id is not None:
            self.visible.update(zip(ids, versions, strict=True))

    def gather(self, rows: Sequence[Any], *, json: bool) -> None:
        """Rows of several users' calendars, one an event: (id, version, users, others[,
        visible]) with the answers of those of the users invited to it, as `invitees` and
        `responses` (PostgreSQL: two arrays in one order, NULL for none) or `invited`
        ((user, response) pairs; `json`: the arrays as JSON text, SQLite's). An answer
        counts for a user who holds a role on the event (an invitation outlives a role
        taken away)."""
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        seeing, ask_viewer, others = self.viewer_id is not None, self.ask_viewer, self.others
        for row in rows:
            if row.others:
                others.add(row.id)
            if json:
                users, invited = orjson.loads(row.users), orjson.loads(row.invited)
            else:  # array_agg of no rows is NULL
                users = row.users
                invited = zip(row.invitees or (), row.responses or (), strict=True)
            events[row.id] = row.version
            holders[row.id] = held = frozenset(users)
            mine = {u: r for u, r in invited if u in held and r is not None}
            if mine:
                answers[row.id] = mine
            if seeing and (not ask_viewer or row.visible):
                visible[row.id] = row.version
