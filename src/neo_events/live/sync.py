"""Incremental sync (SPEC §8): a full snapshot with a token, then only what changed since.

A token names a position in the change feed, and the change there by the instant it was
stamped (`a`, microseconds): a database restored from a backup numbers its next changes
again from where the backup ended, so a token handed out after the backup names a number
that now means another change, and is a 410 rather than a silent skip past it. Losing
access and deletion both come back as `delete`; the feed and the tombstones are kept longer
than a token lives (TOKEN_TTL).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import AppError
from neo_events.events.access import Role, visible_events
from neo_events.fields import bigint
from neo_events.models import Change, ChangeRecipient, Event, User
from neo_events.pages import MAX_PAGE_BYTES, content_bytes, fitting, visible_in_order

TOKEN_TTL = timedelta(days=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(hours=1)  # how far ahead of this worker another host may stamp one


class SyncTokenGone(AppError):
    status = 410
    code = "sync_token_gone"
    title = "This sync token is unknown or expired; sync again from scratch"


@dataclass(frozen=True, slots=True)
class SyncItem:
    op: str  # "upsert" | "delete"
    event_id: int
    event: tuple[Event, Role] | None


def _encode(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def _decode(token: str, now: datetime) -> dict[str, Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        # Only what was parsed is kept (a forged `"s": "12"` passed as text had met an
        # integer comparison: a 500, an outside attack found).
        parsed = {"s": bigint(values["s"])}
        issued = datetime.fromtimestamp(int(values["t"]), UTC)
        for optional in ("e", "a"):  # tokens handed out before `a` have none: not checked
            if optional in values:
                parsed[optional] = bigint(values[optional])
    # OverflowError, OSError: a time no clock holds (forged: `t` 1e20)
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, OSError):
        raise SyncTokenGone("This is not a sync token of this service.") from None
    # A token from the future was forged: it would never expire, and resume past changes
    # the feed no longer holds (an hour allows for the clocks of several hosts: CalDAV's
    # tokens carry the time of the change, stamped by the host that wrote it).
    if parsed["s"] < 0 or now - issued > TOKEN_TTL or issued - now > CLOCK_SKEW:
        raise SyncTokenGone("This sync token has expired.")
    return parsed


def _token(seq: int, now: datetime, **extra: int | None) -> str:
    given = {name: value for name, value in extra.items() if value is not None}
    return _encode({"s": seq, "t": int(now.timestamp()), **given})


def _stamp(at: datetime) -> int:
    """The change's instant in microseconds: what tells it from another numbered alike."""
    return (at - _EPOCH) // timedelta(microseconds=1)


async def _same_history(session: AsyncSession, values: dict[str, Any]) -> None:
    """The change the token names is still the one it was handed out at, else a 410."""
    if "a" not in values or values["s"] == 0:
        return
    at = await session.scalar(select(Change.at).where(Change.seq == values["s"]))
    if at is None or _stamp(at) != values["a"]:
        raise SyncTokenGone(
            "This sync token names a change the feed no longer holds as it was (a restored "
            "database); sync again from scratch."
        )


def token_at(seq: int, issued: datetime, change_at: datetime | None = None) -> str:
    """A token for the feed position `seq`, aging from `issued` (CalDAV hands out the one
    token per position, stamped with that change's time, so it stays the same until the
    collection changes), naming the change there by its instant `change_at` (a restored
    database's change of that number is another: the token is then refused)."""
    return _token(seq, issued, a=_stamp(change_at) if change_at is not None else None)


def position(token: str) -> int:
    """The feed position a token handed out by `sync` resumes from."""
    return int(_decode(token, datetime.now(UTC))["s"])


async def sync(
    session: AsyncSession,
    *,
    user: User,
    token: str | None,
    limit: int,
    max_bytes: int = MAX_PAGE_BYTES,
) -> tuple[list[SyncItem], str, bool]:
    """(changes, next_token, has_more): everything on a first sync, then what changed; a
    page ends after `limit` changes or the last event whose content fits `max_bytes`."""
    now = datetime.now(UTC)
    newest = (
        await session.execute(select(Change.seq, Change.at).order_by(Change.seq.desc()).limit(1))
    ).first()
    head = newest.seq if newest is not None else 0
    values: dict[str, Any]
    if token is None:
        values = {"s": head, "a": _stamp(newest.at) if newest is not None else None}
    else:
        values = _decode(token, now)
        if values["s"] > head:
            raise SyncTokenGone("This sync token is from another feed.")
        await _same_history(session, values)
    mark = values.get("a")
    if token is None or "e" in values:
        return await _snapshot(
            session, user, values["s"], mark, values.get("e", 0), limit, now, max_bytes
        )
    return await _delta(session, user, values["s"], mark, limit, now, max_bytes)


async def _snapshot(
    session: AsyncSession,
    user: User,
    seq: int,
    mark: int | None,
    after_id: int,
    limit: int,
    now: datetime,
    max_bytes: int,
) -> tuple[list[SyncItem], str, bool]:
    """Everything visible, by id; the token's seq was taken before the first page, so
    whatever changes while the pages are read comes again in the first delta. Keys and
    sizes first, then the rows of those that fit in MAX_PAGE_BYTES (`pages`)."""
    keys = (
        await session.execute(
            visible_events(user.id)
            .where(Event.id > after_id)
            .with_only_columns(Event.id, content_bytes())
            .order_by(Event.id)
            .limit(limit + 1)
        )
    ).all()
    count = fitting((size for _, size in keys[:limit]), max_bytes)
    pairs = await visible_in_order(session, user.id, [key.id for key in keys[:count]])
    page = [SyncItem("upsert", event.id, (event, role)) for event, role in pairs]
    if len(keys) > count:
        return page, _token(seq, now, a=mark, e=keys[count - 1].id), True
    return page, _token(seq, now, a=mark), False


async def _delta(
    session: AsyncSession,
    user: User,
    seq: int,
    mark: int | None,
    limit: int,
    now: datetime,
    max_bytes: int,
) -> tuple[list[SyncItem], str, bool]:
    """Each event touched since the token once, as it is now: upsert, or delete if it is
    gone or no longer visible."""
    rows = (
        await session.execute(
            select(Change.seq, Change.event_id, Change.at)
            .join(
                ChangeRecipient,
                (ChangeRecipient.seq == Change.seq) & (ChangeRecipient.user_id == user.id),
            )
            .where(Change.seq > seq)
            .order_by(Change.seq)
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    marks = {change_seq: _stamp(at) for change_seq, _, at in page}
    order: dict[int, int] = {}
    for change_seq, event_id, _ in page:
        order.pop(event_id, None)
        order[event_id] = change_seq  # an event lands where it last changed
    # Sizes first: the page ends after the last event that fits in MAX_PAGE_BYTES (`pages`),
    # and the token there, at that event's last change on the page (every later one comes
    # again, and with it the events left out).
    sizes: dict[int, int] = dict(
        (
            await session.execute(
                visible_events(user.id)
                .where(Event.id.in_(list(order)))
                .with_only_columns(Event.id, content_bytes())
            )
        ).all()
    )
    ids = list(order)
    count = fitting((sizes.get(event_id, 0) for event_id in ids), max_bytes)
    kept = ids[:count]
    visible = {
        event.id: (event, role)
        for event, role in await visible_in_order(session, user.id, [i for i in kept if i in sizes])
    }
    items = [
        SyncItem("upsert", event_id, visible[event_id])
        if event_id in visible
        else SyncItem("delete", event_id, None)
        for event_id in kept
    ]
    if count < len(ids):
        return items, _token(order[kept[-1]], now, a=marks[order[kept[-1]]]), True
    if not page:
        return items, _token(seq, now, a=mark), False
    last = page[-1][0]
    return items, _token(last, now, a=marks[last]), len(rows) > limit
