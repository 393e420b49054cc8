"""The collection's sync token and CTag (RFC 6578, CalendarServer's getctag): the user's
position in the change feed (live/feed.py), the highest change number addressed to them.
sync-collection reads the feed through the same function as `/sync` (live/sync.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.caldav import resources
from neo_events.caldav.service import (
    DavError,
    Item,
    generation_mark,
    head_item,
    heads,
    with_mine,
)
from neo_events.db import utcnow
from neo_events.errors import AppError
from neo_events.live import sync as feed_sync
from neo_events.models import CalendarResource, Change, ChangeRecipient, Event, User


async def sync_position(session: AsyncSession, user: User) -> int:
    """The last change addressed to the user: the collection's CTag and sync token."""
    value = await session.scalar(
        select(func.coalesce(func.max(ChangeRecipient.seq), 0)).where(
            ChangeRecipient.user_id == user.id
        )
    )
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    present: list[Item]
    gone: list[str]  # names of resources deleted or no longer visible
    token: str
    truncated: bool


SYNC_PREFIX = "urn:neo-events:sync:"


def token_prefix() -> str:
    """The sync tokens' prefix: SYNC_PREFIX and the texts' generation
    (`service.RENDER_GENERATION`), so a token of another generation is refused."""
    mark = generation_mark()
    return f"{SYNC_PREFIX}{mark}:" if mark else SYNC_PREFIX


async def sync_collection(
    session: AsyncSession, user: User, token: str | None, *, limit: int, max_bytes: int
) -> SyncAnswer:
    """What changed since `token` (everything on a first sync), read from the change feed:
    at most `limit` changes and the events whose content fits `max_bytes` (the first
    always), then `truncated` and a token that continues after them."""
    inner = None
    if token:
        prefix = token_prefix()
        if not token.startswith(prefix):
            raise _bad_token()
        inner = token[len(prefix) :]
    try:
        changes, next_token, more = await feed_sync.sync(
            session, user=user, token=inner, limit=limit, max_bytes=max_bytes
        )
    except AppError:
        raise _bad_token() from None
    present_ids = [c.event_id for c in changes if c.op == "upsert"]
    gone_ids = [c.event_id for c in changes if c.op == "delete"]
    rows = await session.execute(
        select(CalendarResource.event_id, CalendarResource.name, CalendarResource.uid).where(
            CalendarResource.event_id.in_(present_ids + gone_ids)
        )
    )
    stored = {event_id: (name, uid) for event_id, name, uid in rows.all()}
    twins = await _twins(session, user, stored, set(present_ids), limit)
    present: list[Item] = []
    if present_ids or twins:
        # the heads, as a listing reads them: the bodies are read whole only to be rendered
        query = heads(user).where(Event.id.in_(present_ids + twins)).order_by(Event.id)
        listed = (await session.execute(query)).all()
        present = await with_mine(session, user, [head_item(row) for row in listed])
    held = {item.name for item in present}
    gone: list[str] = []
    for event_id in gone_ids:  # by the name it has, and by the one it had if it was a twin
        name = stored.get(event_id, (resources.default_name(event_id), ""))[0]
        gone += [n for n in {name, resources.default_name(event_id)} if n not in held]
    # a twin served under its own name now may have been served under its default one
    gone += [
        resources.default_name(item.event.id)
        for item in present
        if item.event.id in twins and item.name != resources.default_name(item.event.id)
    ]
    if not more:
        # caught up: the collection's one token for its position now (the sync-token a
        # PROPFIND shows), unless the answer was read from an earlier one: the last page of
        # a first sync resumes where its first page began, so what changed while the client
        # paged comes in the next delta, never lost
        answered = feed_sync.position(next_token)
        now = await sync_position(session, user)
        next_token = await _token_for(session, min(answered, now))
    return SyncAnswer(present, gone, token_prefix() + next_token, more)


async def _twins(
    session: AsyncSession,
    user: User,
    stored: dict[int, tuple[str, str]],
    present: set[int],
    limit: int,
) -> list[int]:
    """The events of the user's calendar, besides `present`, whose resource has the name or
    UID of one that changed (`stored`): a calendar serves one of two such twins under its
    own name and UID (`service._SHADOWED`), so when one comes, goes or changes, the other's
    name may change with it, and the client hears of both. At most `limit`."""
    if not stored:
        return []
    names = sorted({name for name, _ in stored.values()})
    uids = sorted({uid for _, uid in stored.values()})
    query = (
        heads(user)
        .with_only_columns(Event.id)
        .where(
            or_(CalendarResource.name.in_(names), CalendarResource.uid.in_(uids)),
            Event.id.not_in(sorted(present | stored.keys())),
        )
        .order_by(Event.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def sync_token_now(session: AsyncSession, user: User) -> str:
    """The token of the collection as it is: the user's feed position, aging from the time
    of that change (so it is the same token until something changes)."""
    return await _token_for(session, await sync_position(session, user))


async def _token_for(session: AsyncSession, position: int) -> str:
    at = await session.scalar(select(Change.at).where(Change.seq == position))
    return feed_sync.token_at(position, at or utcnow(), at)


def _bad_token() -> DavError:
    return DavError(
        403,
        ("DAV:", "valid-sync-token"),
        "This sync token is unknown or expired.",
        "sync_token_gone",
    )
