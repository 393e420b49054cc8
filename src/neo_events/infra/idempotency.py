"""Idempotency keys: a create's first response, stored in the create's own transaction, is what
every retry with the same `Idempotency-Key` by the same user gets back for 24 hours.

A route opts in with `dependencies=[Idempotent]`. Only successful (2xx) responses are kept: a
refused request wrote nothing, so its retry simply runs again. The same key on a different
request (method, path, query or body) is a 422; a retry that arrives while the first request is
still running is a 409 on PostgreSQL (an advisory lock marks it), while on SQLite it waits for
the first (write transactions are serialised) and then replays its response.

A large answer is kept compressed (zlib, past COMPRESS_FROM bytes), and given back as it was: a
batch of 80 KB whose 50,000 clashes answered 5 MB kept those 5 MB for a day, 63 times the
request (an eighth outside attack); a clash list compresses about tenfold.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from neo_events.auth.dependencies import Claims, get_principal
from neo_events.db import utcnow
from neo_events.errors import AppError
from neo_events.models import IdempotencyKey
from neo_events.web import Session

TTL = timedelta(hours=24)
KEPT_HEADERS = ("content-type", "location", "etag")
COMPRESS_FROM = 64 * 1024  # bytes of answer kept compressed
OFF_THE_LOOP_FROM = 1024 * 1024  # ...and (de)compressed in a thread (5 MB: ~25 ms)
_COMPRESSED = ":zlib"  # kept among the headers: not a header name, never sent
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyReused(AppError):
    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyInProgress(AppError):
    status = 409
    code = "idempotency_in_progress"
    title = "A request with this Idempotency-Key is still being processed"

    def __init__(self) -> None:
        super().__init__("Retry once the first request has finished.", headers={"Retry-After": "1"})


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


class Replay(Exception):
    """Raised instead of running the endpoint again; rendered as the stored response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request; JSON bodies compare by content, not layout."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


async def claim(
    session: AsyncSession, *, user_id: int, key: str, request_hash: str
) -> StoredResponse | None:
    """The response to replay for this key, or None: this request is the first and holds the
    key until its transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(
            hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()[:8], signed=True
        )
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))):
            raise IdempotencyInProgress()
    # Expired keys of this user go now; they are never honoured past the TTL either way.
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.created_at < utcnow() - TTL
        )
    )
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This key was already used for another request; use a new key for a new request."
        )
    headers, body = dict(row.response_headers), row.response_body
    if headers.pop(_COMPRESSED, None) is not None:
        body = await _maybe_in_thread(len(body) * 8, zlib.decompress, body)
    return StoredResponse(row.status_code, headers, body)


async def remember(
    session: AsyncSession, *, user_id: int, key: str, request_hash: str, response: StoredResponse
) -> None:
    """Keep the response (compressed past COMPRESS_FROM bytes); it commits (or not) with the
    change it describes."""
    headers, body = response.headers, response.body
    if len(body) > COMPRESS_FROM:
        headers = headers | {_COMPRESSED: "1"}
        body = await _maybe_in_thread(len(body), zlib.compress, body, 1)
    session.add(
        IdempotencyKey(
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            response_headers=headers,
            response_body=body,
            created_at=utcnow(),
        )
    )


async def _maybe_in_thread(size: int, work: Callable[..., bytes], *args: Any) -> bytes:
    """`work(*args)`, in a thread for `size` bytes past OFF_THE_LOOP_FROM."""
    if size > OFF_THE_LOOP_FROM:
        return await asyncio.to_thread(work, *args)
    return work(*args)


async def idempotency(
    request: Request,
    session: Session,
    claims: Claims,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="Any unique string (a UUID); a retry with the same key returns the "
            "first response instead of creating twice. Kept 24 hours.",
        ),
    ] = None,
) -> None:
    """Replay a retried request's first response, or arrange for this one's to be kept."""
    if idempotency_key is None:
        return  # the route checks the caller's sign-in session itself
    # A key is the caller's: their sign-in session must be open before it is looked up.
    user_id = (await get_principal(request, session, claims)).user.id
    request_hash = fingerprint(
        request.method, request.url.path, request.url.query, await request.body()
    )
    stored = await claim(session, user_id=user_id, key=idempotency_key, request_hash=request_hash)
    if stored is not None:
        raise Replay(stored)

    async def keep(session: AsyncSession, response: Response) -> None:
        body = getattr(response, "body", None)
        if not 200 <= response.status_code < 300 or not isinstance(body, bytes):
            return
        kept = response.headers
        headers = {name: kept[name] for name in KEPT_HEADERS if name in kept}
        await remember(
            session,
            user_id=user_id,
            key=idempotency_key,
            request_hash=request_hash,
            response=StoredResponse(response.status_code, headers, body),
        )

    request.scope.setdefault("neo.before_commit", []).append(keep)


Idempotent = Depends(idempotency)


async def replay_response(request: Request, exc: Exception) -> Response:
    """The stored first response, marked as a replay."""
    assert isinstance(exc, Replay)
    stored = exc.stored
    return Response(
        stored.body,
        status_code=stored.status_code,
        headers=stored.headers | {REPLAYED_HEADER: "true"},
    )
