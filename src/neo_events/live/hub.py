"""Each worker's hub: reads new rows of the change feed and hands them to its connections.

Wake-ups come from the broker (any worker committed something) and from a slow poll (the
safety net for a lost wake-up). Every connection has a bounded queue: a client that falls
behind is cut off and told to resume, so a slow reader cannot grow server memory.

Revoked sign-ins (logout, a stolen refresh token) travel on the same channel, so every worker
ends the connections of that sign-in at once, and before any change committed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from neo_events.events.content import iso
from neo_events.infra.broker import Broker
from neo_events.live.connection import (
    MORE_TO_REPLAY,
    UNKNOWN_POSITION,
    Connection,
    Message,
    TooManyConnections,
)
from neo_events.live.feed import REMINDER_DUE, reminder_body
from neo_events.live.sequencer import Sequencer, numbers_after_commit
from neo_events.models import Change, ChangeRecipient, User

logger = logging.getLogger(__name__)
CHANNEL = "neo-events:changes"
REVOKED = b"revoked:"  # + comma-separated sign-in (AuthSession) ids
PAGE = 500
# A resume (SSE `Last-Event-ID`, WebSocket `since`) replays at most REPLAY_MAX changes, read
# REPLAY_PAGE at a time (one query each, so the event loop is never held for the whole replay);
# with more to replay, the client gets those, then the resync signal of a client that fell
# behind, and resumes from the last one it got. A forged `Last-Event-ID: 0` costs this much.
REPLAY_MAX = 200
REPLAY_PAGE = 50
# A revocation that arrives while a connection is still being authenticated must still end it.
REMEMBER_REVOKED_S = 60.0


def message_body(change: Change, actor: str | None) -> dict[str, Any]:
    """A change as SPEC §8 shows it to clients."""
    if change.type == REMINDER_DUE:
        return reminder_body(change)
    return {
        "type": change.type,
        "event_id": change.event_id,
        "version": change.version,
        "actor": {"id": change.actor_id, "username": actor} if change.actor_id else None,
        "at": iso(change.at),
        "seq": change.seq,
        "changes": change.changes,
    }


async def load_messages(
    session: AsyncSession,
    *,
    after: int,
    upto: int | None = None,
    user_id: int | None = None,
    limit: int = PAGE,
    among: Collection[int] | None = None,
) -> list[Message]:
    """Changes after `after` (and at most `upto`), for one recipient or for all, oldest first,
    with recipients (for one recipient, a replay's: that one only; reading every holder of
    every change cost a resume of 1,200 changes of 500-person events 600,000 rows). `among`:
    of the recipients, only these (a worker's connected users: an invitation of 100 to an
    event of 1,000 made a worker with one bystander connected read 110,000 rows)."""
    query = select(Change, User.username).outerjoin(User, User.id == Change.actor_id)
    query = query.where(Change.seq > after)
    if upto is not None:
        query = query.where(Change.seq <= upto)
    if user_id is not None:
        query = query.join(
            ChangeRecipient,
            (ChangeRecipient.seq == Change.seq) & (ChangeRecipient.user_id == user_id),
        )
    rows = (await session.execute(query.order_by(Change.seq).limit(limit))).all()
    if not rows:
        return []
    if user_id is not None:
        only = frozenset({user_id})
        return [Message(change.seq, only, message_body(change, name)) for change, name in rows]
    recipients = await _recipients(session, [change.seq for change, _ in rows], among)
    return [
        Message(change.seq, frozenset(recipients.get(change.seq, ())), message_body(change, name))
        for change, name in rows
    ]


# Connected users asked about per statement (SQLite's bound parameters are limited).
USERS_CHUNK = 500


async def _recipients(
    session: AsyncSession, seqs: list[int], among: Collection[int] | None
) -> dict[int, set[int]]:
    """The recipients of these changes (those of `among` only, when given), by seq."""
    found: dict[int, set[int]] = {}
    query = select(ChangeRecipient.seq, ChangeRecipient.user_id).where(
        ChangeRecipient.seq.in_(seqs)
    )
    users = sorted(among) if among is not None else None
    for first in range(0, len(users), USERS_CHUNK) if users is not None else (0,):
        part = query
        if users is not None:
            part = query.where(ChangeRecipient.user_id.in_(users[first : first + USERS_CHUNK]))
        for seq, uid in await session.execute(part):
            found.setdefault(seq, set()).add(uid)
    return found


class Hub:
    """Fans the change feed out to this worker's connections."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker,
        *,
        poll_interval: float = 2.0,
        queue_size: int = 1000,
        max_per_user: int = 20,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._broker = broker
        self._poll_interval = poll_interval
        self.queue_size = queue_size
        self.max_per_user = max_per_user
        self._connections: dict[int, set[Connection]] = {}
        self._revoked_at: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        engine = sessionmaker.kw.get("bind")
        self._sequencer = (
            Sequencer(engine, self._announce, every=poll_interval)
            if isinstance(engine, AsyncEngine) and numbers_after_commit(engine)
            else None
        )
        self.last_seq = 0
        self._behind = False  # last_seq may be stale: no connection since it was last read

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self._connections.values())

    async def start(self) -> None:
        if self._sequencer is not None:
            await self._sequencer.start()
        async with self._sessionmaker() as session:
            self.last_seq = int(
                await session.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0
            )
        self._tasks = [
            asyncio.create_task(self._listen(), name="hub-listen"),
            asyncio.create_task(self._deliver_loop(), name="hub-deliver"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sequencer is not None:
            await self._sequencer.stop()

    async def changed(self) -> None:
        """Called after a commit that appended to the feed: once it is numbered (PostgreSQL:
        `live.sequencer`), wake every worker (this one too)."""
        if self._sequencer is not None:
            await self._sequencer.settle()  # which wakes them once a run numbered anything
        else:
            await self._announce()

    async def _announce(self) -> None:
        self._woken()
        await self._broker.publish(CHANNEL, b"changed")

    def _woken(self) -> None:
        """The feed grew: deliver it, or, with nobody connected here, only remember to catch
        up on the next connect (as `_deliver_new` would, without waking the loop for it: a
        write costs an idle worker the broker's message, not a turn of its delivery loop)."""
        if self._connections:
            self._wake.set()
        else:
            self._behind = True

    async def revoke(self, session_ids: Collection[int]) -> None:
        """Called after a commit that revoked sign-ins: end their connections on every worker.
        On the changes channel, so no worker delivers a change committed after the revocation
        to a connection of a revoked sign-in."""
        if not session_ids:
            return
        self._revoke_here(session_ids)
        await self._broker.publish(CHANNEL, REVOKED + ",".join(map(str, session_ids)).encode())

    def _revoke_here(self, session_ids: Collection[int]) -> None:
        now = time.monotonic()
        for old, at in list(self._revoked_at.items()):
            if now - at > REMEMBER_REVOKED_S:
                del self._revoked_at[old]
        revoked = set(session_ids)
        for session_id in revoked:
            self._revoked_at[session_id] = now
        for connections in self._connections.values():
            for connection in connections:
                if connection.session_id in revoked:
                    connection.revoke()

    async def _listen(self) -> None:
        async for message in self._broker.subscribe(CHANNEL):
            if message.startswith(REVOKED):
                try:
                    ids = [int(part) for part in message[len(REVOKED) :].split(b",")]
                except ValueError:
                    logger.warning("ignored a malformed revocation message")
                    continue
                self._revoke_here(ids)
            else:
                self._woken()

    async def _deliver_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
            # arrives as the wait ends (a commit woke the hub as the app stops), and this loop
            # would then never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._deliver_new()
            except DBAPIError as exc:  # the database is away: retried on the next wake or poll
                logger.warning("change feed delivery failed (%s); retrying", type(exc).__name__)
            except Exception:  # a bug must not end live delivery for good either
                logger.exception("change feed delivery failed; retrying")

    async def _deliver_new(self) -> None:
        if not self._connections:
            # Nobody here to deliver to: skip reading the feed (a write would otherwise cost
            # every worker a query) and catch up on the next connect.
            self._behind = True
            return
        while True:
            async with self._sessionmaker() as session:
                users = set(self._connections)  # only their rows are read
                messages = await load_messages(session, after=self.last_seq, among=users)
                while messages and (late := set(self._connections) - users):
                    # connected while it read: their part of these changes too
                    users |= late
                    more = await _recipients(session, [m.seq for m in messages], late)
                    messages = [
                        Message(m.seq, m.recipients | more.get(m.seq, frozenset()), m.body)
                        for m in messages
                    ]
            for message in messages:
                for user_id in message.recipients:
                    for connection in self._connections.get(user_id, ()):
                        connection.offer(message)
                self.last_seq = message.seq
            if len(messages) < PAGE:
                return

    async def newest(self) -> int:
        """The seq of the newest change numbered (0: none yet). Changes are numbered under
        one lock once committed, and a writer has its answer only then, so every change
        numbered after this read has a greater seq: where a client starts that wants only
        what is written from now on."""
        async with self._sessionmaker() as session:
            return int(await session.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0)

    async def connect(
        self, user_id: int, *, since: int | None, session_id: int | None = None
    ) -> Connection:
        """Register a client of sign-in `session_id`; with `since`, first replay what it missed
        (no gap, no repeat, at most REPLAY_MAX: then it is told to resume from the last one);
        without, it gets exactly the changes committed after it connected. A `since` past the
        newest change is told at once to resume from the newest.

        Each user may hold `max_per_user` connections to this worker (TooManyConnections)."""
        if len(self._connections.get(user_id, ())) >= self.max_per_user:
            raise TooManyConnections
        newest = None
        if self._behind or since is None or since > self.last_seq:
            newest = await self.newest()
            if self._behind and not self._connections:
                # Fanned out to nobody while nobody was connected: resume from here, and look
                # for what committed meanwhile.
                self.last_seq = max(self.last_seq, newest)
                self._behind = False
                self._wake.set()
            if len(self._connections.get(user_id, ())) >= self.max_per_user:
                raise TooManyConnections  # others of this user connected meanwhile
        connection = Connection(user_id, self.queue_size, session_id)
        self._connections.setdefault(user_id, set()).add(connection)
        if session_id in self._revoked_at:  # revoked while its token was being checked
            connection.revoke()
        try:
            if since is None:
                # Changes already committed but not yet fanned out by this hub are not "new".
                assert newest is not None
                connection.last_seq = newest
            elif newest is not None and since > newest:
                # A position this server never issued (numbers are given in order, so every
                # seq a client was sent is at most the newest): resynchronise from the newest.
                connection.last_seq = newest
                connection.resync_after_queue(UNKNOWN_POSITION)
            else:
                connection.last_seq = since
                await self._replay(connection, after=since, upto=self.last_seq)
        except BaseException:
            self.disconnect(connection)
            raise
        connection.end_replay()
        return connection

    async def _replay(self, connection: Connection, *, after: int, upto: int) -> None:
        """Queue the connection's changes in (after, upto], REPLAY_PAGE per query and at most
        REPLAY_MAX (fewer with a smaller queue); with more left, the client is told to resume
        once it has these. Later changes reach it live (buffered meanwhile)."""
        left = min(REPLAY_MAX, self.queue_size)
        while after < upto:
            # The last page reads one more: whether anything is left past the cap.
            page = min(REPLAY_PAGE, left)
            limit = page + 1 if page == left else page
            async with self._sessionmaker() as session:  # no transaction held between pages
                missed = await load_messages(
                    session, after=after, upto=upto, user_id=connection.user_id, limit=limit
                )
            for message in missed[:page]:
                connection.queue_replay(message)
            if len(missed) > page:
                connection.resync_after_queue(MORE_TO_REPLAY)
                return
            if len(missed) < limit:
                return  # all of it
            left -= page
            after = missed[-1].seq

    def server_stopping(self) -> None:
        """End this worker's SSE streams (`stopping.py`): each is told to resume."""
        for connections in self._connections.values():
            for connection in connections:
                if connection.ends_at_server_stop:
                    connection.server_stopping()

    def disconnect(self, connection: Connection) -> None:
        connections = self._connections.get(connection.user_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._connections[connection.user_id]
