"""Feed tokens and the calendar feed they open: a revocable secret that reads one user's
calendar (every live event they hold a role on) and nothing else.

Only a SHA-256 of each secret is stored. An unknown and a revoked token look the same (404).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import __version__
from neo_events.audit.service import Origin, record
from neo_events.db import utcnow
from neo_events.errors import Conflict, NotFound
from neo_events.events.access import visible_events
from neo_events.ical import codec
from neo_events.ical.service import CalendarFile, outgoing, people_of, people_tag
from neo_events.models import Event, FeedToken, User
from neo_events.protocol import etag_for, etag_matches
from neo_events.reminders.service import my_reminders

TOKEN_PREFIX = "nef_"  # recognisable in a leaked URL or a secret scanner
MAX_TOKENS = 50
REFRESH = timedelta(hours=1)  # what subscribed calendar apps are told to poll at most
FEED_FORMAT = 3  # bump when the feed's text changes for the same events


class FeedNotFound(NotFound):
    code = "feed_not_found"
    title = "No such calendar feed"


class FeedTokenNotFound(NotFound):
    code = "feed_token_not_found"
    title = "No such feed token"


class TooManyFeedTokens(Conflict):
    code = "too_many_feed_tokens"
    title = "Too many feed tokens"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_feed_token(
    session: AsyncSession, *, actor: User, name: str | None, origin: Origin
) -> tuple[FeedToken, str]:
    """A new token and its secret, which is shown this once and never stored."""
    count = await session.scalar(
        select(func.count()).select_from(FeedToken).where(FeedToken.user_id == actor.id)
    )
    if (count or 0) >= MAX_TOKENS:
        raise TooManyFeedTokens(f"Revoke one of your {MAX_TOKENS} feed tokens first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = FeedToken(user_id=actor.id, token_hash=_digest(secret), name=name, created_at=utcnow())
    session.add(token)
    await session.flush()
    record(
        session,
        action="feed_token.created",
        origin=origin,
        actor_id=actor.id,
        target_type="feed_token",
        target_id=token.id,
        details={"name": name},
    )
    return token, secret


async def list_feed_tokens(session: AsyncSession, *, actor: User) -> list[FeedToken]:
    rows = await session.scalars(
        select(FeedToken).where(FeedToken.user_id == actor.id).order_by(FeedToken.id)
    )
    return list(rows)


async def revoke_feed_token(
    session: AsyncSession, *, actor: User, token_id: int, origin: Origin
) -> None:
    """The token stops working at once; someone else's token is as unknown as a missing one."""
    deleted = await session.scalar(
        delete(FeedToken)
        .where(FeedToken.id == token_id, FeedToken.user_id == actor.id)
        .returning(FeedToken.id)
    )
    if deleted is None:
        raise FeedTokenNotFound(f"You have no feed token {token_id}.")
    record(
        session,
        action="feed_token.revoked",
        origin=origin,
        actor_id=actor.id,
        target_type="feed_token",
        target_id=token_id,
    )


async def calendar_feed(
    session: AsyncSession, *, token: str, if_none_match: str | None
) -> CalendarFile:
    """The token owner's calendar. Its ETag names the (event, version) pairs it holds, so any
    change of content, of roles or a deletion changes it, and a 304 costs one small query."""
    owner = await session.scalar(
        select(User)
        .join(FeedToken, FeedToken.user_id == User.id)
        .where(FeedToken.token_hash == _digest(token))
    )
    if owner is None:
        raise FeedNotFound("This feed does not exist or its token was revoked.")
    mine = visible_events(owner.id).subquery()
    pairs = (await session.execute(select(mine.c.id, mine.c.version).order_by(mine.c.id))).all()
    digest = hashlib.sha256(f"{FEED_FORMAT} {__version__} {owner.username}".encode())
    people = await people_of(session, select(mine.c.id))
    alarms = await my_reminders(session, owner.id, select(mine.c.id))  # the owner's only
    for event_id, version in pairs:
        digest.update(f" {event_id}:{version}".encode())
        if event_id in people or event_id in alarms:  # no new version, but a new feed
            tag = people_tag(people.get(event_id, []), alarms.get(event_id, []))
            digest.update(tag.encode())
    etag = etag_for(f"feed-{digest.hexdigest()[:32]}")
    if etag_matches(if_none_match, etag):
        return CalendarFile(etag, None)
    rows = await session.scalars(
        select(Event).where(Event.id.in_(select(mine.c.id))).order_by(Event.id)
    )
    events = [outgoing(event, people.get(event.id, []), alarms.get(event.id, [])) for event in rows]
    body = await asyncio.to_thread(
        codec.export_calendar, events, name=f"Neo Events ({owner.username})", refresh=REFRESH
    )
    return CalendarFile(etag, body)
