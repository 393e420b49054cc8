"""HTTP endpoints of SPEC §8: WebSocket and SSE notifications, incremental sync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, StringConstraints
from starlette.websockets import WebSocketDisconnect, WebSocketState

from neo_events.auth import service as auth_service
from neo_events.auth.dependencies import CurrentUser
from neo_events.errors import (
    AppError,
    InvalidToken,
    NotAuthenticated,
    ValidationFailed,
    database_unavailable,
    problems,
)
from neo_events.events.schemas import EventRead
from neo_events.events.views import event_reads
from neo_events.fields import MAX_BIGINT, NO_NUL
from neo_events.live import sync as sync_service
from neo_events.live.connection import Connection, Gone, Overflow, Revoked, TooManyConnections
from neo_events.live.hub import Hub
from neo_events.web import Session, TransactionalRoute

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["live"], route_class=TransactionalRoute)
stream_router = APIRouter(prefix="/api/v1", tags=["live"])

POLICY_VIOLATION = 1008
INVALID_TOKEN = "invalid or revoked token"


class TooManyStreams(AppError):
    status = 429
    code = "too_many_connections"
    title = "You have too many live connections open"


TRY_AGAIN_LATER = 1013


class UpgradeRequired(AppError):
    status = 426
    code = "upgrade_required"
    title = "This address is a WebSocket"


SyncToken = Annotated[str, StringConstraints(max_length=500), NO_NUL]


class SyncChange(BaseModel):
    op: str
    event_id: int
    event: EventRead | None = None


class SyncPage(BaseModel):
    changes: list[SyncChange]
    next_token: str
    has_more: bool


@router.get("/sync", responses=problems(410))
async def sync(
    user: CurrentUser,
    session: Session,
    token: Annotated[SyncToken | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SyncPage:
    """Without a token: everything you can see, and a token. With one: only what changed
    since (`upsert` with the event, `delete` for deletions and lost access). 410: start over."""
    items, next_token, has_more = await sync_service.sync(
        session, user=user, token=token, limit=limit
    )
    reads = iter(
        await event_reads(session, [i.event for i in items if i.event is not None], user.id)
    )
    changes = [
        SyncChange(op=i.op, event_id=i.event_id, event=next(reads) if i.event else None)
        for i in items
    ]
    return SyncPage(changes=changes, next_token=next_token, has_more=has_more)


async def _principal(app: Any, token: str | None) -> auth_service.Principal:
    """The caller behind a token, checked against the database like any request."""
    if not token:
        raise NotAuthenticated()
    async with app.state.sessionmaker() as session:
        principal: auth_service.Principal = await auth_service.authenticate(
            session, app.state.authenticator, token
        )
        return principal


async def _still_signed_in(app: Any, principal: auth_service.Principal, token: str) -> bool:
    """Whether the token still works, checked at each heartbeat. While the database is away
    the stream stays open (its token's signature and expiry are checked without it; a
    revocation reaches it through the broker): ended, its client would be refused 503s."""
    try:
        await _principal(app, token)
    except (InvalidToken, NotAuthenticated):
        return False
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        auth_service.access_claims(app.state.authenticator, token)  # InvalidToken: expired
        logger.warning("live sign-in not checked: the database is unavailable")
    return True


BAD_POSITION = f"expected a change number (seq) from 0 to {MAX_BIGINT}"
BAD_SINCE = f"invalid since: {BAD_POSITION}"
_DIGITS = re.compile(r"[0-9]{1,19}")


def resume_position(raw: str) -> int:
    """Where a client resumes (WebSocket `since`, SSE `Last-Event-ID`): a seq in
    0..MAX_BIGINT as plain ASCII decimal digits, no sign, no spaces (ValueError otherwise).
    One rule for both transports; each refuses in its own channel."""
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_BIGINT:
        raise ValueError(raw)
    return int(raw)


def _bearer(authorization: str | None, token: str | None) -> str | None:
    if token:
        return token
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


@stream_router.get("/ws", include_in_schema=False)  # (no 200 to describe; docs/api.md)
async def websocket_without_upgrade() -> None:
    """The WebSocket's address asked without `Upgrade: websocket` (a client that is no
    WebSocket client, or a proxy that drops the handshake's headers, a common misconfiguration):
    426 saying so (RFC 9110 §15.5.22), not a 404 that would say the address is wrong."""
    raise UpgradeRequired(
        "Open a WebSocket here (GET with Upgrade: websocket and Connection: Upgrade); if your "
        "client sent them, a proxy in between dropped them. Without WebSockets, use "
        "GET /api/v1/notifications/stream (Server-Sent Events).",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


@stream_router.websocket("/ws")
async def websocket(
    ws: WebSocket,
    token: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query()] = None,
) -> None:
    """`_socket`; while the database is away (`errors.database_unavailable`) a handshake is
    accepted and closed with 1013 `database unavailable; retry shortly`, not answered with an
    HTTP 500."""
    try:
        await _socket(ws, token, since)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        logger.warning("live connection refused: the database is unavailable")
        with contextlib.suppress(RuntimeError):  # (the client went meanwhile)
            if ws.client_state == WebSocketState.CONNECTING:
                await ws.accept()
            await ws.close(code=TRY_AGAIN_LATER, reason=DATABASE_AWAY)


DATABASE_AWAY = "database unavailable; retry shortly"


async def _socket(ws: WebSocket, token: str | None, since: str | None) -> None:
    """Live messages of SPEC §8 as JSON text frames; `since` replays what was missed.
    Refusals are accepted, then closed with 1008 and a reason saying what was wrong (a bad
    `since`, a bad token, too many connections); revoking the sign-in (logout, refresh-token
    reuse) closes with 1008 at once on every worker; 1013 `<why>; resume from <seq>` tells a
    client to reconnect with that `since` (it fell behind, had more than REPLAY_MAX to replay,
    or resumed from past the newest change). A handshake is charged to the caller's request
    budget first (`infra/ratelimit.py`: over it, 1013 `rate limited; retry in <n> s`)."""
    # Parsed here, not by FastAPI: a WebSocket failing validation is refused before the
    # handshake completes, which the client sees as a bare HTTP 403 without a reason.
    try:
        after = None if since is None else resume_position(since)
    except ValueError:
        await ws.accept()
        await ws.close(code=POLICY_VIOLATION, reason=BAD_SINCE)
        return
    raw = _bearer(ws.headers.get("authorization"), token)
    try:
        # Signature and expiry first, which need no database: an anonymous handshake with a
        # bad token costs no query (each had read the feed's position first).
        claims = auth_service.access_claims(ws.app.state.authenticator, raw or "")
    except InvalidToken:
        await ws.accept()
        await ws.close(code=POLICY_VIOLATION, reason=INVALID_TOKEN)
        return
    hub: Hub = ws.app.state.hub
    if after is None:
        # Without `since`, the client gets what commits once its handshake completes: the
        # feed's position is read before it does, so that a change committed while the
        # sign-in is checked and the hub registers the connection is not lost.
        after = await hub.newest()
    await ws.accept()
    try:
        async with ws.app.state.sessionmaker() as session:
            principal = await auth_service.principal_of(session, claims)
    except InvalidToken:  # the sign-in was revoked
        await ws.close(code=POLICY_VIOLATION, reason=INVALID_TOKEN)
        return
    settings = ws.app.state.settings
    try:
        connection = await hub.connect(
            principal.user.id, since=after, session_id=principal.session_id
        )
    except TooManyConnections:
        await ws.close(code=POLICY_VIOLATION, reason="too many live connections")
        return
    ws.app.state.metrics.websocket_opened()
    receiver = asyncio.create_task(_drain(ws, connection))
    try:
        while not receiver.done():
            try:
                message = await connection.next(settings.live_heartbeat_s)
            except Gone:  # the client closed (`_drain`): its place is free at once
                return
            except Overflow:  # behind, more to replay, or an unknown position: resume from
                await ws.close(code=TRY_AGAIN_LATER, reason=_resync_reason(connection))
                return
            except Revoked:  # logout or refresh-token reuse, on any worker
                await ws.close(code=POLICY_VIOLATION, reason="token revoked")
                return
            if message is None:
                if not await _still_signed_in(ws.app, principal, raw or ""):
                    await ws.close(code=POLICY_VIOLATION, reason="token revoked")
                    return
                continue
            await ws.send_text(orjson.dumps(message.body).decode())
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await receiver
        hub.disconnect(connection)
        ws.app.state.metrics.websocket_closed()


def _resync_reason(connection: Connection) -> str:
    """The close reason of a socket told to resume: why, then `resume from <seq>`."""
    return f"{connection.resync_reason}; resume from {connection.last_seq}"


# The stream takes no messages (SPEC §8: the server speaks): a few are read and ignored, then
# the socket is closed. A client sending 16 MiB frames as fast as deflate let it held a
# worker's CPU whole and its loop up to 1.8 s (an outside attack); the server also refuses a
# message past cli.WS_MAX_SIZE before it is inflated.
MAX_CLIENT_MESSAGES = 10


async def _drain(ws: WebSocket, connection: Connection) -> None:
    """Read (and ignore) client frames, so a disconnect is noticed at once (the sender
    waiting for the connection's next message is woken: `Connection.hang_up`); close the
    socket past MAX_CLIENT_MESSAGES of them."""
    try:
        for _ in range(MAX_CLIENT_MESSAGES):
            if (await ws.receive())["type"] == "websocket.disconnect":
                return
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            await ws.close(code=POLICY_VIOLATION, reason="this stream takes no messages")
    finally:
        connection.hang_up()


@stream_router.get(
    "/notifications/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401)},
)
async def stream(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[
        str | None, Query(description="for EventSource, which cannot send headers")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: `id:` is the change's `seq`; reconnect with `Last-Event-ID` to get
    everything missed (at most REPLAY_MAX a connect). Heartbeat comments keep proxies from
    closing an idle stream. `event: resync` (its `id:` and `data:` the seq to resume from) ends
    the stream of a client that fell behind, had more to replay, or resumed from past the
    newest change. When the sign-in is revoked (logout, refresh-token reuse) the stream sends
    `event: revoked` and ends."""
    raw = _bearer(authorization, token)
    principal = await _principal(request.app, raw)
    since = None
    if last_event_id:  # empty: none (EventSource sends none until it has seen an `id:`)
        try:
            since = resume_position(last_event_id)
        except ValueError:
            raise ValidationFailed.field(
                ["header", "last-event-id"], f"not an event id of this stream: {BAD_POSITION}"
            ) from None
    hub: Hub = request.app.state.hub
    try:
        connection = await hub.connect(
            principal.user.id, since=since, session_id=principal.session_id
        )
    except TooManyConnections:
        raise TooManyStreams(
            "Close another live connection first.", headers={"Retry-After": "5"}
        ) from None
    connection.ends_at_server_stop = True  # (`stopping.py`)
    heartbeat = request.app.state.settings.live_heartbeat_s
    return StreamingResponse(
        _events(request, hub, connection, principal, raw or "", heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request,
    hub: Hub,
    connection: Connection,
    principal: auth_service.Principal,
    token: str,
    heartbeat: float,
) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                message = await connection.next(heartbeat)
            except Overflow:  # behind, more to replay, or an unknown position: resume from
                # `id:` too: EventSource resumes from the last id it saw, which for a position
                # past the newest change is not the one to resume from.
                seq = connection.last_seq
                yield f"event: resync\nid: {seq}\ndata: {seq}\n\n".encode()
                return
            except Revoked:  # logout or refresh-token reuse, on any worker: the stream ends
                yield b"event: revoked\ndata: token revoked\n\n"
                return
            if message is None:
                if await request.is_disconnected() or not await _still_signed_in(
                    request.app, principal, token
                ):
                    return
                yield b": heartbeat\n\n"
                continue
            yield (
                f"id: {message.seq}\nevent: message\ndata: ".encode()
                + orjson.dumps(message.body)
                + b"\n\n"
            )
    finally:
        hub.disconnect(connection)
