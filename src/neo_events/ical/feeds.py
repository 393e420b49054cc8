"""Feed tokens and the calendar feed they open: a revocable secret that reads one user's
calendar (every live event they hold a role on) and nothing else.

Only a SHA-256 of each secret is stored. An unknown and a revoked token look the same (404).
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import __version__
from neo_events.audit.service import Origin
from neo_events.auth import shown_once
from neo_events.errors import Conflict, NotFound
from neo_events.events.access import visible_events
from neo_events.ical import codec
from neo_events.ical.service import CalendarFile, answers_of, outgoing, people_of, people_tag
from neo_events.models import Event, FeedToken, User
from neo_events.protocol import etag_for, etag_matches
from neo_events.reminders.service import my_reminders

TOKEN_PREFIX = "nef_"  # recognisable in a leaked URL or a secret scanner
MAX_TOKENS = 50
REFRESH = timedelta(hours=1)  # what subscribed calendar apps are told to poll at most
FEED_FORMAT = 4  # bump when the feed's text changes for the same events


class FeedNotFound(NotFound):
    code = "feed_not_found"
    title = "No such calendar feed"


class FeedTokenNotFound(NotFound):
    code = "feed_token_not_found"
    title = "No such feed token"


class TooManyFeedTokens(Conflict):
    code = "too_many_feed_tokens"
    title = "Too many feed tokens"


FEED_TOKENS = shown_once.Kind(
    model=FeedToken,
    hash_column="token_hash",
    prefix=TOKEN_PREFIX,
    random_bytes=32,
    limit=MAX_TOKENS,
    audit_name="feed_token",
    noun="feed token",
    too_many=TooManyFeedTokens,
    not_found=FeedTokenNotFound,
)


async def create_feed_token(
    session: AsyncSession, *, actor: User, name: str | None, origin: Origin
) -> tuple[FeedToken, str]:
    """A new token and its secret, which is shown this once and never stored."""
    token, secret = await shown_once.create(
        session, FEED_TOKENS, actor=actor, name=name, origin=origin
    )
    return token, secret


async def list_feed_tokens(session: AsyncSession, *, actor: User) -> list[FeedToken]:
    return await shown_once.listed(session, FEED_TOKENS, actor=actor)


async def revoke_feed_token(
    session: AsyncSession, *, actor: User, token_id: int, origin: Origin
) -> None:
    """The token stops working at once; someone else's token is as unknown as a missing one."""
    await shown_once.revoke(session, FEED_TOKENS, actor=actor, row_id=token_id, origin=origin)


async def calendar_feed(
    session: AsyncSession, *, token: str, if_none_match: str | None
) -> CalendarFile:
    """The token owner's calendar. Its ETag names the (event, version) pairs it holds, so any
    change of content, of roles or a deletion changes it, and a 304 costs one small query."""
    owner = await session.scalar(
        select(User)
        .join(FeedToken, FeedToken.user_id == User.id)
        .where(FeedToken.token_hash == shown_once.digest(token))
    )
    if owner is None:
        raise FeedNotFound("This feed does not exist or its token was revoked.")
    mine = visible_events(owner.id).subquery()
    pairs = (await session.execute(select(mine.c.id, mine.c.version).order_by(mine.c.id))).all()
    digest = hashlib.sha256(f"{FEED_FORMAT} {__version__} {owner.username}".encode())
    people = await people_of(session, select(mine.c.id))
    alarms = await my_reminders(session, owner.id, select(mine.c.id))  # the owner's only
    answers = await answers_of(session, select(mine.c.id), owner.id)
    for event_id, version in pairs:
        digest.update(f" {event_id}:{version}".encode())
        if event_id in people or event_id in alarms:  # no new version, but a new feed
            tag = people_tag(
                people.get(event_id, []), alarms.get(event_id, []), answers.get(event_id)
            )
            digest.update(tag.encode())
    etag = etag_for(f"feed-{digest.hexdigest()[:32]}")
    if etag_matches(if_none_match, etag):
        return CalendarFile(etag, None)
    rows = await session.scalars(
        select(Event).where(Event.id.in_(select(mine.c.id))).order_by(Event.id)
    )
    events = [
        outgoing(event, people.get(event.id, []), alarms.get(event.id, []), answers.get(event.id))
        for event in rows
    ]
    body = await asyncio.to_thread(
        codec.export_calendar, events, name=f"Neo Events ({owner.username})", refresh=REFRESH
    )
    return CalendarFile(etag, body)
