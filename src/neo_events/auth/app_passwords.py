"""App passwords (SPEC §15): revocable secrets that sign one user in to CalDAV and nowhere else.

A secret is shown once, at creation; only its SHA-256 is stored. It carries 190 random bits,
so a slow hash would protect nothing more and would cost every CalDAV request (clients send
Basic credentials each time). The account password is never accepted where an app password
is, and an app password is never accepted anywhere else (the API takes bearer tokens only).
"""

from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.auth import shown_once
from neo_events.auth.names import name_key
from neo_events.errors import Conflict, NotFound
from neo_events.models import AppPassword, User

SECRET_PREFIX = "neap_"  # recognisable by secret scanners, never a valid account password form
MAX_APP_PASSWORDS = 50


class AppPasswordNotFound(NotFound):
    code = "app_password_not_found"
    title = "No such app password"


class TooManyAppPasswords(Conflict):
    code = "too_many_app_passwords"
    title = "Too many app passwords"


APP_PASSWORDS = shown_once.Kind(
    model=AppPassword,
    hash_column="secret_hash",
    prefix=SECRET_PREFIX,
    random_bytes=24,
    limit=MAX_APP_PASSWORDS,
    audit_name="app_password",
    noun="app password",
    too_many=TooManyAppPasswords,
    not_found=AppPasswordNotFound,
)
digest = shown_once.digest


async def create_app_password(
    session: AsyncSession, *, actor: User, name: str, origin: Origin
) -> tuple[AppPassword, str]:
    """A new app password and its secret, which is shown this once and never stored."""
    row, secret = await shown_once.create(
        session, APP_PASSWORDS, actor=actor, name=name, origin=origin
    )
    return row, secret


async def list_app_passwords(session: AsyncSession, *, actor: User) -> list[AppPassword]:
    return await shown_once.listed(session, APP_PASSWORDS, actor=actor)


async def get_app_password(
    session: AsyncSession, *, actor: User, password_id: int, lock: bool = False
) -> AppPassword:
    """One of the actor's app passwords (never its secret); `lock`: `shown_once.one`'s."""
    row: AppPassword = await shown_once.one(
        session, APP_PASSWORDS, actor=actor, row_id=password_id, lock=lock
    )
    return row


async def revoke_app_password(
    session: AsyncSession, *, actor: User, password_id: int, origin: Origin
) -> None:
    """The password stops working at once; someone else's is as unknown as a missing one."""
    await shown_once.revoke(session, APP_PASSWORDS, actor=actor, row_id=password_id, origin=origin)


async def verify(session: AsyncSession, *, username: str, secret: str) -> User | None:
    """The user an app password signs in, if `username` (or their email) names its owner.

    One indexed lookup by the secret's hash; the name is compared afterwards, so a wrong
    name and a wrong secret cost the same."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    row = (
        await session.execute(
            select(User)
            .join(AppPassword, AppPassword.user_id == User.id)
            .where(AppPassword.secret_hash == digest(secret))
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    user = row
    key = name_key(username)
    named = hmac.compare_digest(key.encode(), user.username_key.encode()) or hmac.compare_digest(
        key.encode(), user.email_key.encode()
    )
    return user if named else None
