"""Writing versions: each content change of an event becomes its next version row, and a
change-feed entry for whoever holds a role on it (reading them is `history.service`).

On PostgreSQL an edit's whole write is one statement (`events.statements.EDIT`): the event's
row, its version, the audit row and the change-feed row, as data-modifying CTEs, where the
ORM's unit of work made four round trips of it (issue #16).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import driver
from neo_events.db import json_size, utcnow
from neo_events.events import statements
from neo_events.events.content import content_of, same_times
from neo_events.history.diff import CONTENT_FIELDS
from neo_events.invitations.responses import reset_after_move
from neo_events.live import feed, pending
from neo_events.models import AuditEntry, Event, EventVersion
from neo_events.reminders.service import follow_event

# Core, not ORM bulk: the rows are plain dicts already, and the ORM's bulk path costs more
# than the insert itself on a single write.
_INSERT_VERSION = insert(cast(Table, EventVersion.__table__))


@dataclass(frozen=True, slots=True)
class Unlocked:
    """An edit read without the row's lock, on a driver connection in autocommit
    (`events.service`): the row's `xmin` as the edit read it, and where the write goes."""

    connection: driver.Connection
    row_xmin: str


async def record_version(
    session: AsyncSession,
    event: Event,
    *,
    change_type: str,
    actor_id: int,
    previous: dict[str, Any] | None = None,
    rolled_back_to: int | None = None,
    holders: list[int] | None = None,
    audit: Mapping[str, Any] | None = None,
    unlocked: Unlocked | None = None,
) -> bool:
    """Turn the change just applied to `event` into its next version, snapshot it, and
    append it to the change feed (`previous` content names the fields that changed).
    True once written; False only with `unlocked`, below.

    Creation is version 1; every later change advances `version` and the update stamps.
    The unique (event_id, version) constraint is the backstop: two writers that raced past
    the row lock would collide here instead of writing two versions with one number.

    `audit`: the change's audit row (`audit.service.audit_row`), written with it. Then the
    change is final: on PostgreSQL the event's row, the version, the audit row and the feed
    row (for the event's holders as the statement sees them; the row lock the write holds,
    or the `xmin` it checks, keeps grants from changing meanwhile: `access.touch`) go in as
    one statement, and `event` leaves the session, so nothing of it is flushed again.

    `unlocked` (PostgreSQL, with `audit`): the row's `xmin` as the writer read it, without
    its lock, and the driver connection it read on; the change is written there, in
    autocommit, only if the row is still that one (`statements.EDIT_IF_UNCHANGED`), else
    nothing is, and the answer is False.
    """
    if change_type == "created":
        await record_created(session, [event], actor_id=actor_id, holders=holders)
        return True
    event.version += 1
    event.updated_at = utcnow()
    event.updated_by_id = actor_id
    snapshot = content_of(event)
    changed = feed.changed_fields(previous, snapshot, CONTENT_FIELDS)
    version = version_row(event, change_type, actor_id, snapshot, rolled_back_to)
    at_once = audit is not None and session.get_bind().dialect.name == "postgresql"
    if at_once:
        assert audit is not None
        if not await _edit_at_once(session, event, version, audit, changed, unlocked):
            return False
    else:
        await session.execute(_INSERT_VERSION, version)
        if audit is not None:
            session.add(AuditEntry(**audit, at=event.updated_at))
    # A change that moves no occurrence (texts, an occurrence's title) moves no reminder (its
    # title is read when it fires): it pays no reminders' query.
    if not (previous is not None and same_times(previous, snapshot, changed)):
        follow_event(session, event.id)  # its reminders move with it (SPEC §14)
    if previous is not None:  # a new time asks the other attendees again (SPEC §13)
        await reset_after_move(
            session,
            event_id=event.id,
            before=previous,
            after=snapshot,
            actor_id=actor_id,
            at=event.updated_at,
        )
    if not at_once:
        await feed.append(
            session,
            type=feed.CHANGE_TYPES[change_type],
            event_id=event.id,
            version=event.version,
            actor_id=actor_id,
            changes=changed,
            known_holders=holders,
            holders_at_commit=True,
        )
    return True


async def _edit_at_once(
    session: AsyncSession,
    event: Event,
    version: dict[str, Any],
    audit: Mapping[str, Any],
    changed: list[str],
    unlocked: Unlocked | None,
) -> bool:
    """PostgreSQL: `statements.EDIT` for the event as changed in memory, which then leaves
    the session if it was in it (its row is written: a flush would write it again); with
    `unlocked`, `EDIT_IF_UNCHANGED` on its connection, which writes nothing if the row
    changed since (False)."""
    params = statements.row_params(event)
    params |= statements.prefixed("event_versions", version)
    params |= statements.prefixed("audit_log", {**audit, "at": event.updated_at})
    params |= pending.change_params(
        session,
        type=feed.CHANGE_TYPES[version["change_type"]],
        version=event.version,
        actor_id=version["changed_by_id"],
        changes=changed,
    )
    if unlocked is not None:
        params["row_xmin"] = unlocked.row_xmin
        unchanged = await unlocked.connection.execute(statements.EDIT_IF_UNCHANGED, params)
        return unchanged.scalar_one_or_none() is not None
    # On the session's connection (Core): the ORM must not flush the row first, and the
    # statement loads no objects.
    connection = await session.connection()
    written = (await connection.execute(statements.EDIT, params)).scalar_one_or_none()
    if written is None:  # not reached: the caller holds the row's lock
        raise RuntimeError(f"event {event.id} vanished under its row lock")
    if event in session:  # not one read with its document (`reads.read_for_edit`)
        session.expunge(event)
    return True


async def record_created(
    session: AsyncSession,
    events: Sequence[Event],
    *,
    actor_id: int,
    holders: list[int] | None = None,
) -> None:
    """Version 1 of new (flushed) events, in one statement however many, and their
    change-feed entries: for `holders` when the caller knows them (a new event's owner),
    else for whoever holds a role on each by now (a split's successor inherits grants)."""
    if not events:
        return
    rows = [version_row(e, "created", actor_id, content_of(e), None) for e in events]
    await session.execute(_INSERT_VERSION, rows)
    for event in events:
        await feed.append(
            session,
            type=feed.CHANGE_TYPES["created"],
            event_id=event.id,
            version=event.version,
            actor_id=actor_id,
            changes=[],
            known_holders=holders,
        )


def version_row(
    event: Event,
    change_type: str,
    actor_id: int,
    snapshot: dict[str, Any],
    rolled_back_to: int | None,
) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "version": event.version,
        "change_type": change_type,
        "snapshot": snapshot,
        "changed_by_id": actor_id,
        "changed_at": event.updated_at,
        "rolled_back_to": rolled_back_to,
        # Serialised once more (orjson: about a millisecond a megabyte) so that pages can
        # stop at a byte budget before they decode it (`pages`).
        "snapshot_bytes": json_size(snapshot),
        "start_key": start_key(snapshot["start_time"]),
    }


def start_key(start_time: str) -> str:
    """A snapshot's `start_time` (`content.iso`: UTC, `Z`, microseconds only when not zero)
    as a text that sorts as the instants do: `…:SSZ` becomes `…:SS.000000Z`. A version row
    keeps it (`EventVersion.start_key`, migration 0021) for a listing with `as_of` to order
    by; a cursor's instant is compared in this form."""
    return f"{start_time[:19]}.000000Z" if len(start_time) == 20 else start_time
