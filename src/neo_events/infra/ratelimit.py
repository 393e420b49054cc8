"""Rate limits as moving windows: in Redis when configured (one budget shared by every worker),
else in process memory; a Redis outage falls back to memory rather than failing a request.

`RateLimitMiddleware` charges every API request to the caller's budget (`RATE_LIMIT_DEFAULT`,
per user from the access token's `sub`, or per IP when anonymous) and login/register to the
stricter `RATE_LIMIT_AUTH`, per IP and per account: the login name is resolved to the account
it signs in to, so an account's username and email share one budget (a name no account has
keeps a budget of its own, found by the same one lookup). Every limited response carries the
legacy `RateLimit-Limit/-Remaining/-Reset` fields and the current IETF draft's
`RateLimit-Policy` and `RateLimit`; over budget is a 429 problem with `Retry-After`.

A WebSocket handshake is charged like a request (per user from the token it signs in with, per
IP before); over budget the socket is accepted with those fields and closed with 1013 (Try
Again Later) and the reason `rate limited; retry in <n> s`, as the app refuses other upgrades
(a refused upgrade is a bare 403 to a browser). Uncharged, one address had opened 11,975 a
minute, each a database query, and one user 1,750, each replaying 200 messages.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import limits
import orjson
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neo_events.auth.login_form import FORM_TYPES, login_form
from neo_events.auth.names import name_key
from neo_events.auth.service import account_of
from neo_events.auth.tokens import TokenError
from neo_events.encoding import MSGPACK_TYPES, body_media_type, is_json_type, loads_msgpack
from neo_events.errors import AppError, problem_response

logger = logging.getLogger(__name__)

KEY_PREFIX = "neo-events:ratelimit"
# After a Redis failure, stay on the memory fallback this long before trying Redis again, so
# an outage costs one failed round trip per worker every few seconds, not one per request.
REDIS_RETRY_S = 5.0
REDIS_TIMEOUT_S = 0.5
STORAGE_ERRORS = (RedisError, OSError, TimeoutError)

LOGIN_PATH = "/api/v1/auth/login"
AUTH_PATHS = frozenset({LOGIN_PATH, "/api/v1/auth/register"})
# Probes and scrapes must keep working whatever a client did to its budget.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# The live endpoints take the access token as `?token=` too (SPEC §8; EventSource cannot send
# headers), and prefer it to the Authorization field (`live.router._bearer`).
LIVE_PATHS = frozenset({"/api/v1/ws", "/api/v1/notifications/stream"})
TRY_AGAIN_LATER = 1013  # the WebSocket close code of a handshake over budget


@dataclass(frozen=True, slots=True)
class Policy:
    """A named budget: `quota` requests in any `window` seconds."""

    name: str
    item: limits.RateLimitItem

    @classmethod
    def parse(cls, name: str, spec: str) -> Policy:
        return cls(name, limits.parse(spec))

    @property
    def quota(self) -> int:
        return self.item.amount

    @property
    def window(self) -> int:
        return self.item.get_expiry()


@dataclass(frozen=True, slots=True)
class Decision:
    """One policy's verdict on one request."""

    policy: Policy
    allowed: bool
    remaining: int
    reset_after: int  # seconds until the oldest request in the window stops counting


class RateLimiter:
    """Moving-window budgets in Redis (if configured) with an in-process fallback."""

    def __init__(self, redis_url: str | None) -> None:
        self._memory = MemoryStorage()
        self._memory_windows = MovingWindowRateLimiter(self._memory)
        self._pool: ConnectionPool | None = None
        self._redis_windows: MovingWindowRateLimiter | None = None
        self._degraded_until = 0.0
        if redis_url:
            self._pool = ConnectionPool.from_url(
                redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
            )
            storage: Storage = RedisStorage(
                _limits_uri(redis_url),
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis-py
            )
            self._redis_windows = MovingWindowRateLimiter(storage)

    async def hit(self, policy: Policy, key: str) -> Decision:
        """Charge one request to `key`'s budget under `policy`."""
        windows = self._redis_windows
        if windows is not None and time.monotonic() >= self._degraded_until:
            try:
                decision = await _hit(windows, policy, key)
            except STORAGE_ERRORS as exc:
                self._fall_back(exc)
            else:
                if self._degraded_until:
                    logger.warning("rate limiter: Redis is back; budgets are shared again")
                    self._degraded_until = 0.0
                return decision
        return await _hit(self._memory_windows, policy, key)

    async def peek(self, policy: Policy, key: str) -> Decision:
        """`key`'s budget under `policy` without charging it (allowed: some of it is left)."""
        windows = self._redis_windows
        if windows is not None and time.monotonic() >= self._degraded_until:
            try:
                return await _peek(windows, policy, key)
            except STORAGE_ERRORS as exc:
                self._fall_back(exc)
        return await _peek(self._memory_windows, policy, key)

    async def probe(self) -> str:
        """'ok', or why limits are only per process just now (for /readyz)."""
        if self._pool is None:
            return "ok"
        try:
            client = Redis(connection_pool=self._pool)
            await client.ping()
        except STORAGE_ERRORS as exc:
            self._fall_back(exc)
            return "degraded (memory fallback)"
        self._degraded_until = 0.0
        return "ok"

    def _fall_back(self, exc: BaseException) -> None:
        if not self._degraded_until:
            logger.warning(
                "rate limiter: Redis unavailable (%s); limits are per process until it returns",
                exc.__class__.__name__,
            )
        self._degraded_until = time.monotonic() + REDIS_RETRY_S

    async def reset(self) -> None:
        """Forget every budget (tests and operators)."""
        await self._memory.reset()
        if self._redis_windows is not None:
            await self._redis_windows.storage.reset()

    async def aclose(self) -> None:
        timer = self._memory.timer
        if timer is not None and not timer.done():
            timer.cancel()
        if self._pool is not None:
            await self._pool.aclose()


def _limits_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


async def _hit(windows: MovingWindowRateLimiter, policy: Policy, key: str) -> Decision:
    allowed = await windows.hit(policy.item, key)
    stats = await windows.get_window_stats(policy.item, key)
    reset_after = max(0, math.ceil(stats.reset_time - time.time()))
    return Decision(policy, allowed, max(0, stats.remaining), reset_after)


async def _peek(windows: MovingWindowRateLimiter, policy: Policy, key: str) -> Decision:
    stats = await windows.get_window_stats(policy.item, key)
    reset_after = max(0, math.ceil(stats.reset_time - time.time()))
    return Decision(policy, stats.remaining > 0, max(0, stats.remaining), reset_after)


def rate_limit_headers(decisions: Sequence[Decision]) -> dict[str, str]:
    """The legacy fields for the tightest policy, and the draft's fields for all of them."""
    tightest = min(decisions, key=lambda d: (d.remaining, -d.reset_after))
    return {
        "RateLimit-Limit": str(tightest.policy.quota),
        "RateLimit-Remaining": str(tightest.remaining),
        "RateLimit-Reset": str(tightest.reset_after),
        "RateLimit-Policy": ", ".join(
            f'"{d.policy.name}";q={d.policy.quota};w={d.policy.window}' for d in decisions
        ),
        "RateLimit": ", ".join(
            f'"{d.policy.name}";r={d.remaining};t={d.reset_after}' for d in decisions
        ),
    }


class RateLimitMiddleware:
    """Charges each request to its budgets before the app runs; refuses with 429 when spent."""

    def __init__(self, app: ASGIApp, *, default: str, auth: str) -> None:
        self.app = app
        self.default = Policy.parse("default", default)
        self.auth_ip = Policy.parse("auth-ip", auth)
        self.auth_account = Policy.parse("auth-account", auth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limiter: RateLimiter = state.rate_limiter
        ip = scope["client"][0] if scope.get("client") else "unknown"
        if scope.get("method") == "POST" and scope["path"] in AUTH_PATHS:
            decisions = [await limiter.hit(self.auth_ip, f"ip:{ip}")]
            if decisions[0].allowed:  # only then is the body worth reading
                name, receive = await _peek_account(scope, receive)
                if name:
                    account = await _account_key(state, name)
                    decisions.append(await limiter.hit(self.auth_account, account))
        else:
            user_id = _user_of(scope, state)
            key = f"user:{user_id}" if user_id is not None else f"ip:{ip}"
            decisions = [await limiter.hit(self.default, key)]
        if not decisions[-1].allowed:
            if scope["type"] == "websocket":
                await self._refuse_socket(receive, send, decisions, state)
            else:
                await self._refuse(scope, receive, send, decisions, state)
            return
        headers = rate_limit_headers(decisions)

        async def send_with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, decisions: list[Decision], state: Any
    ) -> None:
        retry_after = _count_refusal(decisions, state)
        policy = decisions[-1].policy
        response = problem_response(
            Request(scope),
            429,
            "rate_limited",
            title="Too many requests",
            detail=f"The {policy.name!r} budget allows {policy.quota} requests in "
            f"{policy.window} s; retry in {retry_after} s.",
            headers=rate_limit_headers(decisions) | {"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

    @staticmethod
    async def _refuse_socket(
        receive: Receive, send: Send, decisions: list[Decision], state: Any
    ) -> None:
        """Accept, then close with 1013 and a reason a browser's client can read (a refused
        upgrade is a bare 403 to it); the fields go with the handshake's answer."""
        retry_after = _count_refusal(decisions, state)
        if (await receive())["type"] != "websocket.connect":
            return
        fields = rate_limit_headers(decisions) | {"Retry-After": str(retry_after)}
        headers = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
        await send({"type": "websocket.accept", "headers": headers})
        reason = f"rate limited; retry in {retry_after} s"
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": reason})


def _count_refusal(decisions: list[Decision], state: Any) -> int:
    """Count a refusal in the metrics; the seconds until the refused budget has room."""
    refused = decisions[-1]
    metrics = getattr(state, "metrics", None)
    if metrics is not None:
        metrics.rate_limited(refused.policy.name)
    return max(1, refused.reset_after)


def _user_of(scope: Scope, state: Any) -> int | None:
    """The access token's user, checked by signature and expiry only (no database)."""
    token = _bearer(scope)
    if not token:
        return None
    try:
        return int(state.authenticator.tokens.decode(token, "access").user_id)
    except TokenError:
        return None


def _bearer(scope: Scope) -> str | None:
    """The access token a request signs in with: a live endpoint's `?token=` first, then the
    Authorization field's bearer token, as the routes read them."""
    if scope["path"] in LIVE_PATHS:
        token = QueryParams(scope["query_string"]).get("token")
        if token:
            return token
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


async def _account_key(state: Any, name: str) -> str:
    """The budget key of a login name: its account's id when one exists (username and email
    of one account count together), else the name itself."""
    try:
        async with state.sessionmaker() as session:
            user_id = await account_of(session, name)
    except DBAPIError:  # the database is away: the app answers 503 itself; count the name
        user_id = None
    return f"account:user:{user_id}" if user_id is not None else f"account:name:{name}"


async def _peek_account(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The account name in a login/register body, and a `receive` that replays the body."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    body = b"".join(chunks)
    try:
        data = await _login_data(scope, body)
    except (ValueError, AppError, StarletteHTTPException):  # the app refuses it; the per-IP
        data = None  # budget counted it
    username = data.get("username") if isinstance(data, dict) else None
    if not isinstance(username, str) or not username.strip():
        return None, replay
    return name_key(username)[:254], replay


async def _login_data(scope: Scope, body: bytes) -> Any:
    """The body as the route will read it, within the same bounds; None for a body of a type
    the route refuses (a 415), which is not parsed at all (a text/plain body of 349,000 empty
    arrays had been, uncounted: 0.1 s of CPU before its 415)."""
    content_type = body_media_type(scope["headers"])
    if is_json_type(content_type):  # BodyLimitMiddleware counted its arrays and objects
        return orjson.loads(body)
    if content_type in MSGPACK_TYPES:
        return loads_msgpack(body)  # bounded: a bomb is refused after 50,000
    if content_type in FORM_TYPES and scope["path"] == LOGIN_PATH:

        async def read_body() -> bytes:
            return body

        return await login_form(scope, read_body)  # bounded, and kept for the route
    return None
