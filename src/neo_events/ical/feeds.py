"""Feed tokens and the calendar feed they open: a revocable secret that reads one user's
calendar (every live event they hold a role on) and nothing else.

Only a SHA-256 of each secret is stored. An unknown and a revoked token look the same (404).
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Subquery, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import __version__, timezones
from neo_events.audit.service import Origin
from neo_events.auth import shown_once
from neo_events.db import utcnow
from neo_events.errors import Conflict, NotFound
from neo_events.events.access import visible_events
from neo_events.ical import codec
from neo_events.ical.people import Attendance
from neo_events.ical.pieces import PieceCache, piece_key
from neo_events.ical.service import Answers, CalendarFile, answers_of, outgoing, people_of
from neo_events.models import Event, FeedToken, User
from neo_events.protocol import etag_for, etag_matches
from neo_events.reminders.service import my_reminders

TOKEN_PREFIX = "nef_"  # recognisable in a leaked URL or a secret scanner
MAX_TOKENS = 50
REFRESH = timedelta(hours=1)  # what subscribed calendar apps are told to poll at most
FEED_FORMAT = 6  # bump when the feed's text changes for the same events (6: texts.Text)
# A feed holds at most this many events (the most relevant: `relevant_first`): rendering one
# costs about 1 ms of CPU (BENCHMARKS.md, "The feed and the import"), so a first poll of a
# full feed costs seconds of a worker thread, and each later one what changed since.
MAX_FEED_EVENTS = 5_000
# ... and at most this much of their text, the most relevant first: an event may render to
# megabytes (1,000 overrides: 260 KB), and 135 such events were a 35 MB feed that cost 40 s
# of CPU at its first poll (an outside attack, 2026-12-04); ~0.7 s of a worker thread now.
MAX_FEED_BYTES = 8 * 1024 * 1024
RENDER_CHUNK = 100  # events read whole and rendered at a time: the loop runs between chunks
# Rendered events kept per worker process, whoever's feed they were rendered for: about 500
# bytes each (a series with overrides and attendees more), so some 60,000 events.
PIECES = PieceCache(max_bytes=32 * 1024 * 1024)


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


async def get_feed_token(
    session: AsyncSession, *, actor: User, token_id: int, lock: bool = False
) -> FeedToken:
    """One of the actor's feed tokens (never its secret); `lock`: `shown_once.one`'s."""
    token: FeedToken = await shown_once.one(
        session, FEED_TOKENS, actor=actor, row_id=token_id, lock=lock
    )
    return token


async def revoke_feed_token(
    session: AsyncSession, *, actor: User, token_id: int, origin: Origin
) -> None:
    """The token stops working at once; someone else's token is as unknown as a missing one."""
    await shown_once.revoke(session, FEED_TOKENS, actor=actor, row_id=token_id, origin=origin)


async def calendar_feed(
    session: AsyncSession, *, token: str, if_none_match: str | None
) -> CalendarFile:
    """The token owner's calendar: at most MAX_FEED_EVENTS events (`relevant_first`), and of
    those, the most relevant whose texts fit MAX_FEED_BYTES (at least one). Its ETag names
    each event's piece key (pieces.piece_key), so any change of content, of people, answers
    or reminders, of roles, or a deletion changes it, and a 304 costs a few queries. Only the
    events whose pieces are not cached are read whole and rendered, in a thread, in order of
    relevance until the texts fill the budget."""
    owner = await session.scalar(
        select(User)
        .join(FeedToken, FeedToken.user_id == User.id)
        .where(FeedToken.token_hash == shown_once.digest(token))
    )
    if owner is None:
        raise FeedNotFound("This feed does not exist or its token was revoked.")
    chosen = relevant_first(owner.id, utcnow())
    heads = [
        (event_id, version, updated_at)
        for event_id, version, updated_at, _ in await session.execute(
            select(chosen).order_by(chosen.c.rank)
        )
    ]
    people = await people_of(session, select(chosen.c.id), owner.id)
    alarms = await my_reminders(session, owner.id, select(chosen.c.id))  # the owner's only
    answers = await answers_of(session, select(chosen.c.id), owner.id)
    digest = hashlib.sha256(
        f"{FEED_FORMAT} {__version__} {timezones.RULES_VERSION} {owner.username}".encode()
    )

    def keyed() -> dict[int, bytes]:  # 5,000 keys are some 50 ms of CPU: not on the loop
        keys = {}
        for event_id, version, updated_at in heads:
            key = piece_key(
                event_id,
                version,
                updated_at,
                people.get(event_id, []),
                alarms.get(event_id, []),
                answers.get(event_id),
            )
            keys[event_id] = key
            digest.update(key)
        return keys

    keys = await asyncio.to_thread(keyed)
    etag = etag_for(f"feed-{digest.hexdigest()[:32]}")
    if etag_matches(if_none_match, etag):
        return CalendarFile(etag, None)
    found: dict[int, codec.Piece] = {}
    room = MAX_FEED_BYTES
    ranked = list(keys)  # most relevant first
    for chunk in range(0, len(ranked), RENDER_CHUNK):
        part = ranked[chunk : chunk + RENDER_CHUNK]
        ready: dict[int, Event | codec.Piece] = {
            i: hit for i in part if (hit := PIECES.get(keys[i])) is not None
        }
        missing = [i for i in part if i not in ready]
        if missing:  # (one deleted since the keys were read is left out)
            ready |= {
                e.id: e for e in await session.scalars(select(Event).where(Event.id.in_(missing)))
            }
        in_order = [(i, ready[i]) for i in part if i in ready]
        made, room, spare = await asyncio.to_thread(
            _render, in_order, people, alarms, answers, room, first=not found
        )
        for event_id, piece in made:
            found[event_id] = piece
        for event_id, piece in [*made, *spare]:  # kept, the one that did not fit too
            if isinstance(ready[event_id], Event):
                PIECES.put(keys[event_id], piece)
        if room <= 0:
            break
    body = await asyncio.to_thread(
        codec.assemble,
        [found[event_id] for event_id in sorted(found)],
        name=f"Neo Events ({owner.username})",
        refresh=REFRESH,
    )
    return CalendarFile(etag, body)


def _render(
    parts: list[tuple[int, Event | codec.Piece]],
    people: dict[int, list[Attendance]],
    alarms: dict[int, list[int]],
    answers: dict[int, Answers],
    room: int,
    *,
    first: bool,
) -> tuple[list[tuple[int, codec.Piece]], int, list[tuple[int, codec.Piece]]]:
    """The pieces of events (rendered; read only, loaded whole) and of cached pieces, in
    order, while their texts fit `room` bytes (the first piece of a feed always does); the
    room left (≤ 0: full, the rest left out); and the piece that did not fit, if any (kept
    for the next poll, which would render it again). CPU work, for a worker thread."""
    made: list[tuple[int, codec.Piece]] = []
    for event_id, part in parts:
        piece = part
        if isinstance(part, Event):
            piece = codec.piece(
                outgoing(part, people.get(event_id, []), alarms.get(event_id, []),
                         answers.get(event_id))
            )  # fmt: skip
        assert isinstance(piece, codec.Piece)
        if len(piece.text) > room and not (first and not made):
            return made, 0, [(event_id, piece)]
        room -= len(piece.text)
        made.append((event_id, piece))
    return made, room, []


def relevant_first(user_id: int, now: datetime) -> Subquery:
    """id, version, updated_at and rank of the MAX_FEED_EVENTS most relevant live events the user
    holds a role on: every one not over yet (an open series, or one ending now or later),
    earliest start first, then the past ones, latest end first."""
    mine = visible_events(user_id).subquery()
    ongoing = or_(mine.c.span_end.is_(None), mine.c.span_end >= now)
    relevance = (
        case((ongoing, 0), else_=1),
        case((ongoing, mine.c.span_start), else_=None),
        mine.c.span_end.desc(),
        mine.c.id,
    )
    return (
        select(
            mine.c.id,
            mine.c.version,
            mine.c.updated_at,
            func.row_number().over(order_by=relevance).label("rank"),
        )
        .order_by(*relevance)
        .limit(MAX_FEED_EVENTS)
        .subquery()
    )
