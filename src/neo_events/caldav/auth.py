"""Who is calling CalDAV: HTTP Basic with the username (or email) and an app password.

Nothing else signs in here: not the account password, not a bearer token. A failed attempt
is charged to the same budgets as a failed login (RATE_LIMIT_AUTH, per IP and per account,
infra/ratelimit.py), and a spent budget refuses before the password is even looked at, so a
guesser learns nothing more from CalDAV than from the login endpoint. A refused username and
password leave the same audit row as a refused login (auth/service.py record_failed_login),
marked `"via": "caldav"`; a request with no credentials at all (how every client starts, to be
challenged) leaves none.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from neo_events.auth import app_passwords
from neo_events.auth.dependencies import get_origin
from neo_events.auth.names import name_key
from neo_events.auth.service import account_of, record_failed_login
from neo_events.caldav.service import DavError
from neo_events.infra.ratelimit import Decision, Policy, RateLimiter
from neo_events.models import User
from neo_events.web import SAFE_METHODS

REALM = 'Basic realm="Neo Events CalDAV", charset="UTF-8"'


class Unauthenticated(DavError):
    commit_anyway = True  # the failed sign-in's audit row must survive the refusal

    def __init__(self, detail: str) -> None:
        super().__init__(401, None, detail, "not_authenticated")


class RateLimited(DavError):
    commit_anyway = True  # the attempt that spent the budget is audited too

    def __init__(self, decision: Decision) -> None:
        super().__init__(429, None, "Too many failed sign-ins; retry later.", "rate_limited")
        self.retry_after = max(1, decision.reset_after)


def credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthenticated("Sign in with your username and an app password (HTTP Basic).")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("The Basic credentials cannot be read.") from None
    username, sep, password = decoded.partition(":")
    # a NUL names no account (the API refuses one in a login), and PostgreSQL's text cannot
    # hold it: looked up, or written into the failed sign-in's audit row, it was a 500
    if not sep or not username or len(username) > 254 or len(password) > 200 or "\x00" in decoded:
        raise Unauthenticated("The Basic credentials cannot be read.")
    return username, password


async def authenticate(request: Request, session: AsyncSession) -> User:
    """The app password's user, or 401 (429 once the sign-in budget is spent)."""
    username, password = credentials(request)
    state = request.app.state
    limiter: RateLimiter | None = state.rate_limiter
    spec = state.settings.rate_limit_auth
    ip = request.client.host if request.client else "unknown"
    by_ip, by_account = Policy.parse("auth-ip", spec), Policy.parse("auth-account", spec)
    if limiter is not None:
        decision = await limiter.peek(by_ip, f"ip:{ip}")
        if not decision.allowed:
            raise RateLimited(decision)
    user = await app_passwords.verify(session, username=username, secret=password)
    if user is not None:
        if limiter is not None:
            decision = await limiter.peek(by_account, f"account:user:{user.id}")
            if not decision.allowed:
                raise RateLimited(decision)
        request.state.user_id = user.id
        return user
    account = await account_of(session, username)
    origin = await get_origin(request)
    if request.method in SAFE_METHODS:
        # A safe method's session writes nothing on PostgreSQL (autocommit, reads only), and
        # on SQLite it read before the write it would start (a deferred transaction: another
        # writer's commit meanwhile made that a busy error). The row is committed apart, the
        # request's connection given back first: holding it while taking a second, as many
        # guesses at once as the pool has connections waited for ever more (a review).
        await session.close()
        async with request.app.state.sessionmaker() as apart:
            record_failed_login(apart, origin=origin, account_id=account, identifier=username,
                                via="caldav")  # fmt: skip
            await apart.commit()
    else:  # committed with the refusal (`commit_anyway`)
        record_failed_login(
            session, origin=origin, account_id=account, identifier=username, via="caldav"
        )
    if limiter is not None:
        decisions = [await limiter.hit(by_ip, f"ip:{ip}")]
        key = (
            f"account:user:{account}"
            if account is not None
            else f"account:name:{name_key(username)}"
        )
        decisions.append(await limiter.hit(by_account, key))
        refused = [d for d in decisions if not d.allowed]
        if refused:
            raise RateLimited(refused[0])
    raise Unauthenticated("Wrong username or app password (the account password is not accepted).")
