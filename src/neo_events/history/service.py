"""Version rows and what is read from them: history, snapshots, changelog, diff, rollback, as-of.

Every content change writes one immutable snapshot, numbered 1, 2, 3… per event; history is
never rewritten (a rollback is a new version whose content equals an old one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from neo_events.audit.service import Origin, record
from neo_events.errors import NotFound
from neo_events.events.access import EventNotFound, Role, get_event_for
from neo_events.events.content import apply_content, content_of, iso, parse_iso, served
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.service import check_move
from neo_events.events.sizes import within_size
from neo_events.events.validation import build_content
from neo_events.fields import bigint, int4
from neo_events.history.diff import diff_snapshots
from neo_events.history.summary import summarize
from neo_events.history.versions import record_version
from neo_events.models import AuditEntry, Event, EventVersion, User
from neo_events.pages import MAX_SNAPSHOT_BYTES, fitting
from neo_events.protocol import cursor_fields, encode_cursor

SHARING_ACTIONS = {
    "event.shared": "shared",
    "event.permission_changed": "permission_changed",
    "event.unshared": "unshared",
    # Invitations (SPEC §13): not content changes, but in the changelog.
    "event.invited": "invited",
    "event.responded": "responded",
    "event.uninvited": "uninvited",
}
ATTENDANCE = {"invited", "responded", "uninvited"}


def _attendance_summary(change_type: str, details: dict[str, Any]) -> str:
    who = details.get("username") or "someone"
    if change_type == "invited":
        return f"invited {who}" + (" (optional)" if details.get("optional") else "")
    if change_type == "uninvited":
        return f"{who} is no longer invited"
    answer = str(details.get("response", "")).replace("_", " ")
    where = (
        f" for the occurrence of {details['recurrence_id']}" if details.get("recurrence_id") else ""
    )
    return f"{who} answered {answer}{where}"[:300]


class VersionNotFound(NotFound):
    code = "version_not_found"
    title = "No such version of this event"


def _summary(
    row: EventVersion, snapshots: Mapping[int, dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    # No word diffs: the summary names fields and the changelog lists {field, old, new}
    # (SPEC §6), so a page's cost is linear in its snapshots, not a word diff per version.
    snapshot = snapshots[row.version]
    previous = snapshots.get(row.version - 1)
    if previous is None:
        changes: list[dict[str, Any]] = []
    else:
        changes = diff_snapshots(previous, snapshot, word_diffs=False)
    extra = {
        "title": snapshot.get("title"),
        "timezone": snapshot.get("timezone"),
        "rolled_back_to": row.rolled_back_to,
    }
    return summarize(row.change_type, changes, extra=extra), changes


async def _snapshots(
    session: AsyncSession, event_id: int, versions: Collection[int]
) -> dict[int, dict[str, Any]]:
    if not versions:
        return {}
    rows = await session.execute(
        select(EventVersion.version, EventVersion.snapshot).where(
            EventVersion.event_id == event_id, EventVersion.version.in_(list(versions))
        )
    )
    return {row.version: dict(row.snapshot) for row in rows}


def _needed(versions: Iterable[int | None]) -> set[int]:
    """The snapshots that summarising these versions decodes: each one's and the one before."""
    return {n for v in versions if v is not None for n in (v, v - 1) if n >= 1}


async def _within_budget(
    session: AsyncSession, event_id: int, versions: Sequence[int | None]
) -> tuple[int, dict[int, dict[str, Any]]]:
    """How many of a page's items (their versions in page order; None for an item that is
    not one) fit in MAX_SNAPSHOT_BYTES of snapshots decoded, from the sizes stored with them
    (`pages`), and those snapshots, decoded: the others are never read."""
    needed = _needed(versions)
    if not needed:
        return len(versions), {}
    sizes = dict(
        (
            await session.execute(
                select(EventVersion.version, EventVersion.snapshot_bytes).where(
                    EventVersion.event_id == event_id,
                    EventVersion.version.in_(list(needed)),
                )
            )
        ).all()
    )
    counted: set[int] = set()

    def cost(version: int | None) -> int:
        new = _needed([version]) - counted
        counted.update(new)
        return sum(sizes.get(n, 0) for n in new)

    count = fitting(map(cost, versions), MAX_SNAPSHOT_BYTES)
    return count, await _snapshots(session, event_id, _needed(versions[:count]))


@dataclass(frozen=True, slots=True)
class VersionEntry:
    row: EventVersion
    summary: str
    changes: list[dict[str, Any]]


async def list_history(
    session: AsyncSession, *, actor: User, event_id: int, limit: int, cursor: str | None
) -> tuple[list[VersionEntry], str | None]:
    """Versions newest first, each with a one-line summary of what it changed."""
    event, _ = await get_event_for(session, actor.id, event_id, include_deleted=True)
    query = select(EventVersion).where(EventVersion.event_id == event.id)
    if cursor:
        (before,) = cursor_fields(cursor, ("v", int4))
        query = query.where(EventVersion.version < before)
    query = query.options(defer(EventVersion.snapshot))  # read below, within the budget
    rows = list(
        (
            await session.execute(query.order_by(EventVersion.version.desc()).limit(limit + 1))
        ).scalars()
    )
    count, snapshots = await _within_budget(session, event.id, [r.version for r in rows[:limit]])
    page = rows[:count]
    entries = [VersionEntry(r, *_summary(r, snapshots)) for r in page]
    more = len(rows) > count
    next_cursor = encode_cursor({"v": page[-1].version}) if page and more else None
    return entries, next_cursor


async def get_version(
    session: AsyncSession, *, actor: User, event_id: int, version: int
) -> tuple[Event, EventVersion]:
    """One version (viewer+): the event as it left it (`past_event`), and its row."""
    event, _ = await get_event_for(session, actor.id, event_id, include_deleted=True)
    row = await session.scalar(
        select(EventVersion).where(
            EventVersion.event_id == event.id, EventVersion.version == version
        )
    )
    if row is None:
        raise VersionNotFound(f"Event {event_id} has no version {version}.")
    return past_event(event, row), row


async def versions_to_compare(
    session: AsyncSession, *, actor: User, event_id: int, from_version: int, to_version: int
) -> tuple[Event, dict[str, Any], dict[str, Any]]:
    """The event and the snapshots of two of its versions (either order), for
    `diff_versions`: apart, so a conditional GET is answered before any diff is made."""
    event, _ = await get_event_for(session, actor.id, event_id, include_deleted=True)
    snapshots = await _snapshots(session, event.id, [from_version, to_version])
    for number in (from_version, to_version):
        if number not in snapshots:
            raise VersionNotFound(f"Event {event_id} has no version {number}.")
    return event, snapshots[from_version], snapshots[to_version]


async def diff_versions(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from one version's snapshot to another's."""
    # word diffs of texts and overrides of up to ~4 MB a version: not on the event loop
    return await asyncio.to_thread(diff_snapshots, before, after)


async def rollback_event(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    version: int,
    origin: Origin,
    if_match: str | None = None,
    policy: ConflictPolicy = ConflictPolicy.WARN,
) -> tuple[Event, Role, list[Clash]]:
    """A new version whose content equals `version`'s (editor+); recorded even if unchanged.

    It is an edit to that content, checked as one (`events.service`): its iCalendar size with
    the event's people (`sizes.within_size`: 422), and, if it moves the event, its schedule
    conflicts under `policy` (only what it adds; `reject`/`suggest`: 409, nothing written)."""
    event, role = await get_event_for(
        session, actor.id, event_id, Role.EDITOR, lock=True, if_match=if_match
    )
    target = await _snapshots(session, event.id, [version])
    if version not in target:
        raise VersionNotFound(f"Event {event_id} has no version {version}.")
    before = content_of(event)
    content = build_content(before, served(target[version]))
    await within_size(session, event.id, before, content)
    clashes = await check_move(
        session, event=event, before=before, after=content, actor_id=actor.id, policy=policy
    )
    apply_content(event, content)
    await record_version(
        session,
        event,
        change_type="rolled_back",
        actor_id=actor.id,
        previous=before,
        rolled_back_to=version,
    )
    record(
        session,
        action="event.rolled_back",
        origin=origin,
        actor_id=actor.id,
        target_type="event",
        target_id=event.id,
        details={"version": event.version, "rolled_back_to": version},
    )
    return event, role, clashes


async def event_as_of(
    session: AsyncSession, *, actor: User, event_id: int, at: datetime
) -> tuple[Event, Role]:
    """The event as it stood at an instant: its content then, its permissions now.

    404 if it did not exist yet or was already deleted then. The returned row is transient
    (never added to the session), so nothing about it is written back.
    """
    current, role = await get_event_for(session, actor.id, event_id, include_deleted=True)
    row = await session.scalar(
        select(EventVersion)
        .where(EventVersion.event_id == current.id, EventVersion.changed_at <= at)
        .order_by(EventVersion.version.desc())
        .limit(1)
    )
    if row is None or row.change_type == "deleted":
        raise EventNotFound(f"Event {event_id} did not exist at {iso(at)}.")
    return past_event(current, row), role


def past_event(current: Event, row: EventVersion) -> Event:
    """A detached Event holding one version's content and stamps."""
    past = Event(
        id=current.id,
        owner_id=current.owner_id,
        version=row.version,
        created_at=current.created_at,
        created_by_id=current.created_by_id,
        updated_at=row.changed_at,
        updated_by_id=row.changed_by_id or current.updated_by_id,
    )
    apply_content(past, row.snapshot)
    return past


@dataclass(frozen=True, slots=True)
class ChangelogItem:
    at: datetime
    kind: int  # 0 version, 1 sharing: the order of two things at the same instant
    id: int
    version: EventVersion | None
    audit: AuditEntry | None
    summary: str
    changes: list[dict[str, Any]]


def _after(columns: tuple[Any, Any], kind: int, cursor: tuple[datetime, int, int]) -> Any:
    """Rows of `kind` after the cursor in (time, kind, id) order."""
    at, cursor_kind, cursor_id = cursor
    time_col, id_col = columns
    if kind > cursor_kind:
        return time_col >= at
    if kind < cursor_kind:
        return time_col > at
    return or_(time_col > at, and_(time_col == at, id_col > cursor_id))


async def changelog(
    session: AsyncSession, *, actor: User, event_id: int, limit: int, cursor: str | None
) -> tuple[list[ChangelogItem], str | None]:
    """Content versions and sharing changes, oldest first, each with a summary."""
    event, _ = await get_event_for(session, actor.id, event_id, include_deleted=True)
    after = cursor_fields(cursor, ("t", parse_iso), ("k", int4), ("i", bigint)) if cursor else None
    vq = (
        select(EventVersion)
        .where(EventVersion.event_id == event.id)
        .options(defer(EventVersion.snapshot))  # read below, within the budget
    )
    aq = select(AuditEntry).where(
        AuditEntry.target_type == "event",
        AuditEntry.target_id == event.id,
        AuditEntry.action.in_(list(SHARING_ACTIONS)),
    )
    if after is not None:
        vq = vq.where(_after((EventVersion.changed_at, EventVersion.id), 0, after))
        aq = aq.where(_after((AuditEntry.at, AuditEntry.id), 1, after))
    versions = (
        (
            await session.execute(
                vq.order_by(EventVersion.changed_at, EventVersion.id).limit(limit + 1)
            )
        )
        .scalars()
        .all()
    )
    audits = (
        (await session.execute(aq.order_by(AuditEntry.at, AuditEntry.id).limit(limit + 1)))
        .scalars()
        .all()
    )
    merged = sorted(
        [(v.changed_at, 0, v.id, v) for v in versions] + [(a.at, 1, a.id, a) for a in audits],
        key=lambda item: item[:3],
    )
    count, snapshots = await _within_budget(
        session,
        event.id,
        [row.version if isinstance(row, EventVersion) else None for *_, row in merged[:limit]],
    )
    page = merged[:count]
    items: list[ChangelogItem] = []
    for at, kind, row_id, row in page:
        if isinstance(row, EventVersion):
            summary, changes = _summary(row, snapshots)
            items.append(ChangelogItem(at, kind, row_id, row, None, summary, changes))
        else:
            details = row.details or {}
            change_type = SHARING_ACTIONS[row.action]
            if change_type in ATTENDANCE:
                changes = [
                    {
                        "field": "response",
                        "old": details.get("old_response"),
                        "new": details.get("response"),
                    }
                ]
                summary = _attendance_summary(change_type, details)
            else:
                changes = [
                    {"field": "role", "old": details.get("old_role"), "new": details.get("role")}
                ]
                summary = summarize(change_type, changes, extra=details)
            items.append(ChangelogItem(at, kind, row_id, None, row, summary, changes))
    next_cursor = None
    if len(merged) > count and page:
        last = page[-1]
        next_cursor = encode_cursor({"t": iso(last[0]), "k": last[1], "i": last[2]})
    return items, next_cursor
