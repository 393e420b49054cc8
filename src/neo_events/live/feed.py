"""The durable change feed: appended in the transaction of the change it records.

Notifications, SSE resume and `/sync` all read this table; the broker only says "there is
something new". Numbers are gap-free and given only to committed changes, in order (see
FeedState; on PostgreSQL `live.sequencer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db, driver
from neo_events.audit.service import Origin, audit_row, record, record_rows
from neo_events.live import sequencer
from neo_events.models import (
    Change,
    ChangeRecipient,
    Event,
    EventPermission,
    FeedState,
)

CHANGE_TYPES = {
    "created": "event.created",
    "updated": "event.updated",
    "occurrence_updated": "event.updated",
    "occurrence_cancelled": "event.updated",
    "deleted": "event.deleted",
    "rolled_back": "event.rolled_back",
}
REMINDER_DUE = "reminder.due"


async def holders(session: AsyncSession, event_id: int) -> list[int]:
    """Everyone holding a role on the event now (in this transaction): whom a change is
    for, and whose calendars a move concerns."""
    rows = await session.execute(_HOLDERS, {"event_id": event_id})
    return list(rows.scalars())


_HOLDERS = select(EventPermission.user_id).where(EventPermission.event_id == bindparam("event_id"))


async def append(
    session: AsyncSession,
    *,
    type: str,
    event_id: int,
    version: int,
    actor_id: int | None,
    changes: Any,
    also_notify: Iterable[int] = (),
    known_holders: Iterable[int] | None = None,
    holders_at_commit: bool = False,
) -> None:
    """Add one change for the event's current holders (and `also_notify`); it is handed
    to the feed as the transaction's last step (`_Numbering`), then numbered and the
    workers woken once it has committed. `known_holders`: the recipients, when the caller
    knows them (a new event has only its owner; a reminder is one user's own), saving a
    flush and a query.
    `holders_at_commit`: the holders as the transaction leaves them, which the feed's own
    statement reads (no flush, no query here); for a change after which the transaction
    grants and removes no role (a new version of the event, the invitations of one
    request: their grants are made with them)."""
    defer = False
    if known_holders is None:
        defer = holders_at_commit
        if not defer:
            await session.flush()  # grants made in this transaction count as holders
            known_holders = await holders(session, event_id)
    recipients = set(known_holders or ()) | set(also_notify)
    change = _Pending(
        at=db.utcnow(),
        type=type,
        event_id=event_id,
        version=version,
        actor_id=actor_id,
        changes=changes,
    )
    numbering = _numbering(session)
    numbering.changes.append((change, recipients))
    if defer:
        numbering.holders_of[len(numbering.changes)] = event_id
    wake_after_commit(session)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One of the changes of an event a request makes together (`announce_all`): its audit
    action, its change type and the details both carry (one person's role, invitation or
    answer)."""

    action: str
    feed_type: str
    details: dict[str, Any]


async def announce_all(
    session: AsyncSession,
    *,
    origin: Origin,
    actor_id: int,
    event: Event,
    announcements: Sequence[Announcement],
) -> None:
    """Several changes of one event that a request makes together (its roles, invitations
    or answers, whose grants are made first): an audit row each, written in one statement,
    and **one change-feed entry a change type**, whose `changes` lists their details in the
    request's order, for everyone holding a role once the request's grants are made.

    A change each, each for every holder, made a request's cost its people times the
    event's holders (a thirteenth outside attack: 100 newcomers shared into an event of
    1,400 holders, 140,000 recipients' rows and 0.7 s of CPU; 100 roles changed among 1,500,
    150,000 rows and 1-1.4 s; and a webhook delivery for each change and subscriber). Now it
    is the holders once a type: a live client is told what happened and refetches, as for
    any change (SPEC §8)."""
    await record_rows(
        session,
        [
            audit_row(
                action=one.action,
                origin=origin,
                actor_id=actor_id,
                target_type="event",
                target_id=event.id,
                outcome="success",
                details=one.details,
            )
            for one in announcements
        ],
    )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for one in announcements:
        by_type.setdefault(one.feed_type, []).append(one.details)
    for feed_type, details in by_type.items():
        await append(
            session,
            type=feed_type,
            event_id=event.id,
            version=event.version,
            actor_id=actor_id,
            changes=details,
            holders_at_commit=True,
        )


async def announce(
    session: AsyncSession,
    *,
    action: str,
    feed_type: str,
    origin: Origin,
    actor_id: int,
    event: Event,
    details: dict[str, Any],
    also_notify: Iterable[int] = (),
) -> None:
    """A change to an event that writes no version of it (a role, an invitation, an answer):
    one audit row, and one change-feed entry whose `changes` lists its details (one person's,
    as `announce_all`'s lists each person's)."""
    record(
        session,
        action=action,
        origin=origin,
        actor_id=actor_id,
        target_type="event",
        target_id=event.id,
        details=details,
    )
    await append(
        session,
        type=feed_type,
        event_id=event.id,
        version=event.version,
        actor_id=actor_id,
        changes=[details],
        also_notify=also_notify,
    )


def reminder_body(change: Change) -> dict[str, Any]:
    """A `reminder.due` as SPEC §14 shows it: its details (occurrence_start, title,
    minutes_before, late when late) are the change's `changes`."""
    return {"type": change.type, "event_id": change.event_id, **change.changes, "seq": change.seq}


@dataclass(slots=True)
class _Pending:
    """A change waiting for its number: a `Change` row's values, not an ORM object (it is
    inserted in bulk; a burst of reminders makes thousands of them a round)."""

    at: datetime
    type: str
    event_id: int
    version: int
    actor_id: int | None
    changes: Any


class _Numbering:
    """Hands a transaction's changes to the feed as its last step (see FeedState).

    On PostgreSQL the changes go in as one `feed_pending` row, numbered once the transaction
    has committed (`live.sequencer`), so writers commit together and none waits for the
    feed's lock. SQLite takes the lock and inserts the numbered rows here (one writer at a
    time anyway)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.changes: list[tuple[_Pending, set[int]]] = []
        # changes (by 1-based order) for whoever holds a role on an event (by id) at
        # commit, read by the statement that hands the changes over
        self.holders_of: dict[int, int] = {}

    async def __call__(self) -> None:
        if not self.changes:
            return
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            await self._hand_over()
            return
        await session.flush()  # everything but the feed is written before the lock is taken
        last = await session.scalar(
            update(FeedState)
            .where(FeedState.id == 1)
            .values(last_seq=FeedState.last_seq + len(self.changes))
            .returning(FeedState.last_seq)
        )
        if last is None:
            raise RuntimeError("feed_state has no row: run the migrations")
        first = int(last) - len(self.changes) + 1
        changes, self.changes = self.changes, []
        holders_of, self.holders_of = self.holders_of, {}
        rows: list[dict[str, Any]] = []
        recipient_rows: list[dict[str, int]] = []
        for seq, (change, recipients) in enumerate(changes, start=first):
            rows.append({"seq": seq, **{c: getattr(change, c) for c in _CHANGE_COLUMNS}})
            recipient_rows += ({"user_id": user_id, "seq": seq} for user_id in recipients)
        # Two statements however many changes (a batch makes 500): not an ORM object each.
        await session.execute(insert(Change), rows)
        if recipient_rows:
            await session.execute(insert(ChangeRecipient), recipient_rows)
        if holders_of:  # each change's holders copied by the database, not row by row here
            await session.execute(
                _SQLITE_HOLDERS,
                [{"seq": first + order - 1, "event_id": e} for order, e in holders_of.items()],
            )

    async def _hand_over(self) -> None:
        """PostgreSQL: one `feed_pending` row holding the changes in order and their
        recipients, numbered after the transaction commits (migration 0022), so the writer
        never learns the numbers (nothing it does next needs them)."""
        changes, self.changes = self.changes, []
        holders_of, self.holders_of = self.holders_of, {}
        payload = {
            "c": [
                {name: getattr(c, name) for name in _CHANGE_COLUMNS}
                | {"changes": c.changes if c.changes is not None else []}
                for c, _ in changes
            ],
            "r": [
                {"o": order, "u": uid} for order, (_, who) in enumerate(changes, 1) for uid in who
            ],
        }
        if not holders_of:
            await self.session.execute(_PENDING, {"payload": orjson.dumps(payload).decode()})
            return
        await self.session.flush()  # the roles as this transaction leaves them
        payload["h"] = [{"o": order, "e": e} for order, e in holders_of.items()]
        await self.session.execute(
            _PENDING_WITH_HOLDERS, {"payload": orjson.dumps(payload).decode()}
        )


_PENDING = text("INSERT INTO feed_pending (payload) VALUES (CAST(:payload AS jsonb))")
# SQLite: one change's recipients who hold a role on its event (`also_notify` may have
# named some of them already)
_SQLITE_HOLDERS = text(
    "INSERT OR IGNORE INTO change_recipients (user_id, seq) "
    "SELECT user_id, :seq FROM event_permissions WHERE event_id = :event_id"
)
# `h`: [change's order, event id] whose recipients are the event's holders, added to `r`
# here (each pair once: numbering inserts them as keys).
_PENDING_WITH_HOLDERS = text(
    """
    INSERT INTO feed_pending (payload)
    SELECT jsonb_build_object(
        'c', given.p -> 'c',
        'r', coalesce((
            SELECT jsonb_agg(DISTINCT r.x) FROM (
                SELECT x FROM jsonb_array_elements(given.p -> 'r') AS x
                UNION
                SELECT jsonb_build_object('o', (h ->> 'o')::integer, 'u', grant_.user_id)
                FROM jsonb_array_elements(given.p -> 'h') AS h
                JOIN event_permissions AS grant_ ON grant_.event_id = (h ->> 'e')::bigint
            ) AS r), '[]'::jsonb)
    )
    FROM (SELECT CAST(:payload AS jsonb) AS p) AS given
    """
)


_CHANGE_COLUMNS = ("at", "type", "event_id", "version", "actor_id", "changes")


def _numbering(session: AsyncSession) -> _Numbering:
    steps = db.unit_of_work(session).before_commit
    for step in steps:
        if isinstance(step, _Numbering):
            return step
    numbering = _Numbering(session)
    steps.append(numbering)
    return numbering


def wake_after_commit(session: AsyncSession) -> None:
    """Once the transaction commits, have its changes numbered (PostgreSQL) and wake every
    worker's hub (once, however many changes): `publish_change`, a process's hub or job
    runner; without one (a command's session), a run of the numbering of its own."""
    publish = session.info.get("publish_change")
    if publish is None:
        engine = driver.engine_of(session)
        if not sequencer.numbers_after_commit(engine):
            return  # SQLite: numbered in the transaction; the hubs poll

        async def publish() -> None:
            await sequencer.number_pending(engine)

    db.after_commit_once(session, "wake", publish)


def changed_fields(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], fields: Sequence[str]
) -> list[str]:
    if before is None:
        return []
    return [name for name in fields if before.get(name) != after.get(name)]
