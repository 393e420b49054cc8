"""The rule an access token's sign-in session keeps, as a condition a query can carry.

Its own module, on the models alone, so that the event access query (`events.access`) can
check it in the statement that reads the event without importing the auth service (which
imports the audit log, which imports the access query).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import InvalidToken
from neo_events.models import AuthSession, User


def signed_in(user_id: Any, session_id: Any) -> ColumnElement[bool]:
    """An access token's sign-in session is the user's and still open (a condition on
    `auth_sessions`, so a read can check it in its own statement)."""
    return and_(
        AuthSession.id == session_id,
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),
    )


def signed_in_user(*columns: Any, user_id: Any, session_id: Any) -> Select[Any]:
    """The columns of the token's user, a row only if their sign-in session is open (the
    request's user, a create's owner name)."""
    return (
        select(*columns)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(signed_in(user_id, session_id))
    )


_NAME = signed_in_user(
    User.username, user_id=bindparam("user_id"), session_id=bindparam("session_id")
)


async def signed_in_name(session: AsyncSession, user_id: int, session_id: int) -> str:
    """The token's user's username if their sign-in session is open, else a 401 (for a
    write that cannot check it in its own statement: SQLite's create)."""
    name: str | None = await session.scalar(_NAME, {"user_id": user_id, "session_id": session_id})
    if name is None:
        raise InvalidToken()
    return name
