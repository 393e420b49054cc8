"""Event writes after the create (`events.creation`): update and delete, each a version row and an
audit row, atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import driver
from neo_events.audit.service import Origin, audit_row, record
from neo_events.errors import (
    Conflict,
    PreconditionRequired,
    ValidationFailed,
)
from neo_events.events import check_windows, schedule
from neo_events.events.access import Role, check_if_match, check_role, get_event_for
from neo_events.events.content import (
    SCHEDULE_FIELDS,
    TEXT_FIELDS,
    Content,
    apply_content,
    canonical_changes,
    content_of,
)
from neo_events.events.reads import EventDocument, read_for_edit
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.sizes import within_size
from neo_events.events.validation import build_content
from neo_events.history.merge import FieldConflict, lost_by, three_way_merge
from neo_events.history.versions import Unlocked, record_version
from neo_events.live import feed
from neo_events.models import Event, EventPermission, EventVersion, User


class EditConflict(Conflict):
    code = "edit_conflict"
    title = "Someone else changed the same fields"


@dataclass(frozen=True, slots=True)
class Preconditions:
    """What a writer says it last saw: an If-Match header and/or a base_version."""

    if_match: str | None = None
    base_version: int | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class UpdateResult:
    event: Event
    role: Role
    changed: bool
    merged: bool
    clashes: list[Clash]
    # The event as its editor saw it before the edit, when read as one document (PostgreSQL,
    # with the row's lock or its xmin: `reads.read_for_edit`).
    before: EventDocument | None = None


async def check_move(
    session: AsyncSession,
    *,
    event: Event,
    before: Content,
    after: Content,
    actor_id: int,
    policy: ConflictPolicy,
) -> list[Clash]:
    """Conflicts of an event whose times changed, in the calendars of all its holders."""
    if all(before[name] == after[name] for name in SCHEDULE_FIELDS):
        return []
    [clashes] = await schedule.check(
        session,
        policy=policy,
        candidates=[check_windows.Candidate.of(event.id, after, before)],
        user_ids=await feed.holders(session, event.id),
        viewer_id=actor_id,
    )
    return clashes


async def _version_content(session: AsyncSession, event_id: int, version: int) -> Content | None:
    snapshot = await session.scalar(
        select(EventVersion.snapshot).where(
            EventVersion.event_id == event_id, EventVersion.version == version
        )
    )
    return dict(snapshot) if snapshot is not None else None


async def _resolve_changes(
    session: AsyncSession, event: Event, current: Content, changes: Content, pre: Preconditions
) -> tuple[Content, bool, Content | None]:
    """The changes to write after the preconditions: as sent, or three-way-merged (then
    with the content of the sender's base version)."""
    check_if_match(event, pre.if_match)
    if pre.base_version is None or pre.base_version == event.version:
        if pre.required and pre.if_match is None and pre.base_version is None:
            raise PreconditionRequired('Send If-Match: "<version>" or base_version.')
        return changes, False, None
    if pre.base_version > event.version:
        raise ValidationFailed.field(["base_version"], "is newer than the event")
    base = await _version_content(session, event.id, pre.base_version)
    if base is None:
        raise ValidationFailed.field(["base_version"], "no such version of this event")
    result = three_way_merge(base, current, changes)
    if result.conflicts:
        raise _edit_conflict(result.conflicts, pre.base_version, event.version)
    return result.changes, result.merged, base


def _edit_conflict(conflicts: Sequence[FieldConflict], since: int, version: int) -> EditConflict:
    return EditConflict(
        "These fields were changed by someone else since version "
        f"{since}: {', '.join(c.field for c in conflicts)}.",
        current_version=version,
        conflicts=[
            {"field": c.field, "base": c.base, "yours": c.yours, "theirs": c.theirs}
            for c in conflicts
        ],
    )


async def _edit_of(
    session: AsyncSession, event: Event, changes: Content, pre: Preconditions
) -> tuple[Content, Content, bool]:
    """The event's content before and after the changes, under the caller's preconditions,
    and whether they were merged."""
    current = content_of(event)
    resolved, merged, base = await _resolve_changes(session, event, current, changes, pre)
    content = build_content(current, resolved)
    if base is not None and (lost := lost_by(base, current, resolved, content)):
        assert pre.base_version is not None
        raise _edit_conflict(lost, pre.base_version, event.version)
    await within_size(session, event.id, current, content)
    return current, content, merged


# An edit read without the row's lock (`_edit_unchanged`) is tried this many times while
# other writes land between its read and its write; then it takes the lock.
UNLOCKED_ATTEMPTS = 3


async def update_event(
    session: AsyncSession,
    *,
    actor_id: int,
    event_id: int,
    changes: Mapping[str, Any],
    origin: Origin,
    preconditions: Preconditions = Preconditions(),
    policy: ConflictPolicy = ConflictPolicy.WARN,
    sign_in: int | None = None,
    alone: bool = False,
) -> UpdateResult:
    """Apply a partial change under the caller's preconditions (412, 428, 409 merge conflict).

    An edit that changes nothing writes nothing: no version, no audit row. `sign_in`: the
    caller's sign-in session, checked with the event's row, for a caller known by an access
    token's claims alone; on PostgreSQL the statement that reads the row then also reads the
    document the answer is made of (`reads.read_for_edit`, `UpdateResult.before`).

    `alone`: the request writes nothing else (the API's edit). On PostgreSQL an edit of the
    title, description or location, which checks no conflict and moves no reminder or
    answer, then runs without a transaction: the row read without its lock, and written by
    one statement only if it is still that row (`_edit_unchanged`); if another write came
    between, it starts over. Any other edit locks the row in a transaction, and reads and
    writes under that lock.
    """
    wanted = canonical_changes(changes)
    if alone and sign_in is not None and TEXT_FIELDS.issuperset(wanted) and driver.usable(session):
        try:
            async with driver.connection(driver.engine_of(session)) as connection:
                for _ in range(UNLOCKED_ATTEMPTS):
                    unlocked = await _edit_unchanged(
                        session,
                        connection,
                        actor_id,
                        event_id,
                        sign_in,
                        wanted,
                        origin,
                        preconditions,
                    )
                    if unlocked is not None:
                        return unlocked
        except _NeedsLock:
            pass  # nothing was written: now under the row's lock
    before: EventDocument | None = None
    if sign_in is not None and session.get_bind().dialect.name == "postgresql":
        before, held = await read_for_edit(session, actor_id, sign_in, event_id)
        role = check_role(held, Role.EDITOR)
        event = before.event()
    else:
        event, role = await get_event_for(
            session, actor_id, event_id, Role.EDITOR, lock=True, sign_in=sign_in
        )
    current, content, merged = await _edit_of(session, event, wanted, preconditions)
    if content == current:
        return UpdateResult(event, role, changed=False, merged=merged, clashes=[], before=before)
    clashes = await check_move(
        session, event=event, before=current, after=content, actor_id=actor_id, policy=policy
    )
    await _write(session, event, current, content, actor_id, origin, merged)
    return UpdateResult(event, role, changed=True, merged=merged, clashes=clashes, before=before)


class _NeedsLock(Exception):
    """An edit begun without the row's lock that must be made under it."""


async def _edit_unchanged(
    session: AsyncSession,
    connection: driver.Connection,
    actor_id: int,
    event_id: int,
    sign_in: int,
    wanted: Content,
    origin: Origin,
    preconditions: Preconditions,
) -> UpdateResult | None:
    """A text edit on a session in autocommit (PostgreSQL): the event read without its lock,
    with the row's `xmin`, and written if the row is still that one (`statements.
    EDIT_IF_UNCHANGED`, which `access.touch` also covers: a grant or an invitation made
    meanwhile, which the change-feed row's recipients and the answer depend on). None if
    the row changed in between: nothing was written, and the edit must start over. An event
    with attendees answers with a document read after the write (`read_written`), which
    only a transaction keeps to this write's version: it is edited under the lock
    (`_NeedsLock`), as is any edit found to move the event."""
    before, held = await read_for_edit(
        session, actor_id, sign_in, event_id, lock=False, on=connection
    )
    role = check_role(held, Role.EDITOR)
    event = before.event()
    if preconditions.base_version not in (None, event.version):
        # A merge reads the base version through the session: a request holds one pooled
        # connection at a time, so it is made under the lock, without the driver's.
        raise _NeedsLock()
    current, content, merged = await _edit_of(session, event, wanted, preconditions)
    if content == current:
        return UpdateResult(event, role, changed=False, merged=merged, clashes=[], before=before)
    if before.has_attendees() or any(content[f] != current[f] for f in SCHEDULE_FIELDS):
        raise _NeedsLock()
    written = await _write(
        session,
        event,
        current,
        content,
        actor_id,
        origin,
        merged,
        Unlocked(connection, before.row.row_xmin),
    )
    if not written:
        return None
    return UpdateResult(event, role, changed=True, merged=merged, clashes=[], before=before)


async def _write(
    session: AsyncSession,
    event: Event,
    current: Content,
    content: Content,
    actor_id: int,
    origin: Origin,
    merged: bool,
    unlocked: Unlocked | None = None,
) -> bool:
    """The edit's next version with its audit row (`record_version`); `unlocked`: only if
    the row is unchanged since it was read (False: nothing was written)."""
    apply_content(event, content, before=current)
    audit = audit_row(
        action="event.updated",
        origin=origin,
        actor_id=actor_id,
        target_type="event",
        target_id=event.id,
        outcome="success",
        details={
            "version": event.version + 1,  # the version this change makes
            "fields": feed.changed_fields(current, content, tuple(content)),
            "merged": merged,
        },
    )
    return await record_version(
        session,
        event,
        change_type="updated",
        actor_id=actor_id,
        previous=current,
        audit=audit,
        unlocked=unlocked,
    )


async def delete_event(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    origin: Origin,
    if_match: str | None = None,
) -> Event:
    """Soft delete by an owner: the row stays as a tombstone with a final `deleted` version."""
    event, _ = await get_event_for(
        session, actor.id, event_id, Role.OWNER, lock=True, if_match=if_match
    )
    await record_version(session, event, change_type="deleted", actor_id=actor.id)
    event.deleted_at = event.updated_at
    # Its grants stay (its history stays readable), marked so that calendar reads pass over
    # them without probing the event (`models.EventPermission.live`).
    await session.execute(
        update(EventPermission).where(EventPermission.event_id == event.id).values(live=False)
    )
    record(
        session,
        action="event.deleted",
        origin=origin,
        actor_id=actor.id,
        target_type="event",
        target_id=event.id,
        details={"version": event.version},
    )
    return event
