"""The one access query: events a user holds at least a given role on.

Every event lookup goes through here, which is how a stranger gets 404 (never 403) on every
event path by construction: an event the caller holds no role on does not exist for them.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import Forbidden, NotFound
from neo_events.models import Event, EventPermission


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class EventNotFound(NotFound):
    code = "event_not_found"
    title = "No such event"


class RoleTooLow(Forbidden):
    code = "role_too_low"
    title = "Your role on this event does not allow this"


def event_not_found(event_id: int) -> EventNotFound:
    return EventNotFound(f"There is no event {event_id}.")


def roles_at_least(role: Role) -> list[str]:
    return [r.value for r in Role if r.at_least(role)]


def visible_events(
    user_id: int | BindParameter[int],
    min_role: Role = Role.VIEWER,
    *,
    include_deleted: bool = False,
) -> Select[Event, str]:
    """Events `user_id` holds at least `min_role` on, with that role (live ones unless
    `include_deleted`: tombstones keep their history readable)."""
    query = select(Event, EventPermission.role).join(
        EventPermission,
        (EventPermission.event_id == Event.id) & (EventPermission.user_id == user_id),
    )
    if not include_deleted:
        query = query.where(Event.deleted_at.is_(None))
    if min_role is not Role.VIEWER:
        query = query.where(EventPermission.role.in_(roles_at_least(min_role)))
    return query


def _by_id(*, include_deleted: bool, lock: bool) -> Select[Event, str]:
    query = visible_events(bindparam("user_id"), include_deleted=include_deleted)
    query = query.where(Event.id == bindparam("event_id"))
    if lock:
        query = query.with_for_update(of=Event).execution_options(populate_existing=True)
    return query


# Built once and bound per call: building the query costs more than running it.
_BY_ID = {
    (d, lock): _by_id(include_deleted=d, lock=lock) for d in (False, True) for lock in (False, True)
}


async def get_event_for(
    session: AsyncSession,
    user_id: int,
    event_id: int,
    min_role: Role = Role.VIEWER,
    *,
    lock: bool = False,
    include_deleted: bool = False,
) -> tuple[Event, Role]:
    """The event and the caller's role: 404 without a role, 403 with one that is too low.

    `lock` takes the row lock a read-modify-write needs on PostgreSQL (SQLite's write
    transactions are already exclusive).
    """
    query = _BY_ID[include_deleted, lock]
    row = (await session.execute(query, {"user_id": user_id, "event_id": event_id})).one_or_none()
    if row is None:
        raise event_not_found(event_id)
    event, role_name = row
    role = Role(role_name)
    if not role.at_least(min_role):
        raise RoleTooLow(f"This needs the {min_role.value} role; you are {role.value}.")
    return event, role
