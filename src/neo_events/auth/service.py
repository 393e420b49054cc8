"""Accounts, sign-in sessions and token rotation; every outcome is audited in its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from neo_events.audit.service import Origin, record
from neo_events.auth.names import name_key
from neo_events.auth.passwords import PasswordHasher
from neo_events.auth.signed_in import signed_in_user
from neo_events.auth.tokens import TokenClaims, TokenCodec, TokenError
from neo_events.db import after_commit, utcnow
from neo_events.errors import Conflict, InvalidToken, NotAuthenticated
from neo_events.graphemes import cut
from neo_events.models import AuthSession, RefreshToken, User


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "That username is taken"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "That email address is already registered"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    title = "Wrong username or password"
    commit_anyway = True  # the failed-login audit row must survive the refusal


class RefreshTokenReused(InvalidToken):
    code = "refresh_token_reused"
    title = "This refresh token was already used; the session has been revoked"
    commit_anyway = True  # the revocation is the point


SessionsRevoked = Callable[[Collection[int]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Authenticator:
    """What the auth rules need from the application: signing, hashing, and whom to tell
    that sign-ins were revoked (the live hub, which ends their open connections)."""

    tokens: TokenCodec
    hasher: PasswordHasher
    sessions_revoked: SessionsRevoked | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user: User
    session_id: int


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    user: User
    access_token: str
    refresh_token: str
    expires_in: int


def _announce_revoked(session: AsyncSession, auth: Authenticator, ids: Collection[int]) -> None:
    """Once the revocation has committed (never if it rolls back), end its live connections."""
    announce = auth.sessions_revoked
    if announce is None:
        return
    revoked = sorted(ids)

    async def tell() -> None:
        await announce(revoked)

    after_commit(session, tell)


async def _open_session(
    session: AsyncSession, auth: Authenticator, user: User, *, family: AuthSession | None = None
) -> IssuedTokens:
    now = utcnow()
    if family is None:
        family = AuthSession(user_id=user.id, expires_at=now + auth.tokens.refresh_ttl)
        session.add(family)
        await session.flush()
    else:
        family.expires_at = now + auth.tokens.refresh_ttl
    access = auth.tokens.issue("access", user_id=user.id, session_id=family.id, now=now)
    refresh = auth.tokens.issue("refresh", user_id=user.id, session_id=family.id, now=now)
    session.add(
        RefreshToken(
            jti=refresh.jti, session_id=family.id, issued_at=now, expires_at=refresh.expires_at
        )
    )
    return IssuedTokens(
        user=user,
        access_token=auth.tokens.encode("access", access),
        refresh_token=auth.tokens.encode("refresh", refresh),
        expires_in=int(auth.tokens.access_ttl / timedelta(seconds=1)),
    )


async def register(
    session: AsyncSession,
    auth: Authenticator,
    *,
    username: str,
    email: str,
    password: str,
    origin: Origin,
) -> IssuedTokens:
    """Create an account (usernames and emails unique by `name_key`: regardless of case and of
    the Unicode form an address is written in) and sign it in."""
    existing = (
        await session.execute(
            select(User.username_key, User.email_key).where(
                or_(User.username_key == name_key(username), User.email_key == name_key(email))
            )
        )
    ).all()
    if any(row.username_key == name_key(username) for row in existing):
        raise UsernameTaken(f"The username {username!r} is taken.")
    if existing:
        raise EmailTaken()
    user = User(
        username=username,
        username_key=name_key(username),
        email=email,
        email_key=name_key(email),
        password_hash=await auth.hasher.hash(password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent registration won the race for the same name.
        raise UsernameTaken(f"The username {username!r} or that email is taken.") from None
    record(
        session,
        action="register",
        origin=origin,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
    )
    return await _open_session(session, auth, user)


def _login_column(key: str) -> InstrumentedAttribute[str]:
    return User.email_key if "@" in key else User.username_key


async def account_of(session: AsyncSession, identifier: str) -> int | None:
    """The account a login name (username or email, any case or form: `name_key`) signs in to.
    One indexed lookup whether or not the account exists, so it reveals nothing by its time."""
    key = name_key(identifier)
    found = await session.scalar(select(User.id).where(_login_column(key) == key))
    return None if found is None else int(found)


def record_failed_login(
    session: AsyncSession,
    *,
    origin: Origin,
    account_id: int | None,
    identifier: str,
    via: str | None = None,
) -> None:
    """The audit row of a refused sign-in, on the account it named (if one exists), so its
    owner sees it (SPEC §9); `via` names where it was tried if not `/auth/login` ("caldav").
    The refusal must commit it (`commit_anyway`)."""
    details = {"identifier": cut(identifier, 64)}  # between two letters, never in one
    if via is not None:
        details["via"] = via
    record(
        session,
        action="login",
        origin=origin,
        actor_id=None,
        target_type="user" if account_id is not None else None,
        target_id=account_id,
        outcome="failure",
        details=details,
    )


async def login(
    session: AsyncSession, auth: Authenticator, *, identifier: str, password: str, origin: Origin
) -> IssuedTokens:
    """Sign in by username or email; unknown users and wrong passwords cost the same time."""
    key = name_key(identifier)
    column = _login_column(key)
    found = (
        await session.execute(select(User.id, User.password_hash).where(column == key))
    ).one_or_none()
    user_id, verified_hash = (found.id, found.password_hash) if found else (None, None)
    # Hash outside any transaction: a login is a write, and on SQLite a write transaction holds
    # the one write lock from its first statement (BEGIN IMMEDIATE), which the hash would then
    # hold too, queueing every login and writer behind it (BENCHMARKS.md, SQLite).
    await session.rollback()
    verdict = await auth.hasher.verify(verified_hash, password)
    user = await session.get(User, user_id) if user_id is not None else None
    # A password changed while this one was being checked is not the one that was checked.
    if user is None or not verdict.ok or user.password_hash != verified_hash:
        record_failed_login(session, origin=origin, account_id=user_id, identifier=identifier)
        raise InvalidCredentials()
    if verdict.stale or auth.hasher.needs_rehash(user.password_hash):
        user.password_hash = await auth.hasher.hash(password)
    record(
        session,
        action="login",
        origin=origin,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
    )
    return await _open_session(session, auth, user)


async def refresh(
    session: AsyncSession, auth: Authenticator, *, refresh_token: str, origin: Origin
) -> IssuedTokens:
    """Rotate a refresh token; a spent one presented again revokes its whole family."""
    try:
        claims = auth.tokens.decode(refresh_token, "refresh")
    except TokenError:
        raise InvalidToken() from None
    now = utcnow()
    family = await session.get(AuthSession, claims.session_id)
    if family is None or family.user_id != claims.user_id or family.revoked_at is not None:
        raise InvalidToken()
    spent = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == claims.jti,
            RefreshToken.session_id == family.id,
            RefreshToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        known = await session.get(RefreshToken, claims.jti)
        if known is None:
            raise InvalidToken()
        family.revoked_at = now
        family.revoked_reason = "reuse_detected"
        _announce_revoked(session, auth, [family.id])
        record(
            session,
            action="token_reuse_detected",
            origin=origin,
            actor_id=family.user_id,
            target_type="user",
            target_id=family.user_id,
            outcome="failure",
            details={"session_id": family.id},
        )
        raise RefreshTokenReused()
    user = await session.get(User, claims.user_id)
    if user is None:
        raise InvalidToken()
    record(
        session,
        action="refresh",
        origin=origin,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
    )
    return await _open_session(session, auth, user, family=family)


async def logout(
    session: AsyncSession,
    auth: Authenticator,
    *,
    principal: Principal,
    refresh_token: str | None,
    origin: Origin,
) -> None:
    """Revoke the caller's session (its access tokens and refresh family) and, if given, the
    family of another refresh token of the same user."""
    now = utcnow()
    families = {principal.session_id}
    if refresh_token:
        try:
            claims = auth.tokens.decode(refresh_token, "refresh")
        except TokenError:
            claims = None
        if claims is not None and claims.user_id == principal.user.id:
            families.add(claims.session_id)
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(families), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="logout")
    )
    _announce_revoked(session, auth, families)
    record(
        session,
        action="logout",
        origin=origin,
        actor_id=principal.user.id,
        target_type="user",
        target_id=principal.user.id,
        details={"sessions": sorted(families)},
    )


def access_claims(auth: Authenticator, token: str) -> TokenClaims:
    """An access token's claims, its signature and expiry checked; whether its session is
    still open is the caller's query (`signed_in`)."""
    try:
        return auth.tokens.decode(token, "access")
    except TokenError:
        raise InvalidToken() from None


# Every authenticated request runs this: built once, bound per call (building it costs more
# than running it).
_TOKEN_USER = signed_in_user(User, user_id=bindparam("user_id"), session_id=bindparam("session_id"))


async def principal_of(session: AsyncSession, claims: TokenClaims) -> Principal:
    """The caller behind checked claims, whose session must still be open."""
    user = (
        await session.execute(
            _TOKEN_USER, {"user_id": claims.user_id, "session_id": claims.session_id}
        )
    ).scalar_one_or_none()
    if user is None:
        raise InvalidToken()
    return Principal(user=user, session_id=claims.session_id)


async def authenticate(session: AsyncSession, auth: Authenticator, token: str) -> Principal:
    """The caller behind an access token, which must belong to a session still open."""
    return await principal_of(session, access_claims(auth, token))


async def find_users(session: AsyncSession, query: str) -> list[User]:
    """Users whose username or email is the query, as `name_key` compares them (any case, any
    Unicode form of an address)."""
    key = name_key(query)
    if not key:
        return []
    result = await session.execute(
        select(User).where(or_(User.username_key == key, User.email_key == key)).order_by(User.id)
    )
    return list(result.scalars())


async def create_admin(
    session: AsyncSession, auth: Authenticator, *, username: str, email: str, password: str
) -> tuple[User, bool]:
    """Create an administrator (True), or promote the account with that username (False):
    a promotion changes nothing but `is_admin`, neither the email nor the password."""
    user = (
        await session.execute(select(User).where(User.username_key == name_key(username)))
    ).scalar_one_or_none()
    created = user is None
    if user is None:
        if (
            await session.execute(select(User.id).where(User.email_key == name_key(email)))
        ).first():
            raise EmailTaken()
        user = User(
            username=username,
            username_key=name_key(username),
            email=email,
            email_key=name_key(email),
            password_hash=await auth.hasher.hash(password),
        )
        session.add(user)
    user.is_admin = True
    try:
        await session.flush()
    except IntegrityError:  # a registration of that name or email won the race
        raise UsernameTaken(f"The username {username!r} or that email is taken.") from None
    record(
        session,
        action="create_admin",
        origin=Origin(ip=None, user_agent="cli"),
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
    )
    return user, created
