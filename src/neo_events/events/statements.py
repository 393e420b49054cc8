"""PostgreSQL writes of one event in one statement: a create (`CREATE`) and an edit (`EDIT`,
or `EDIT_IF_UNCHANGED` for an edit read without the row's lock),
each the event's row with everything written with it (its grant or its next version, its
audit row, its change-feed row) as data-modifying CTEs, built once and bound per call: one
round trip where the ORM's unit of work makes four or five (issue #16). SQLite has no
data-modifying CTEs; its writes go through the ORM and Core inserts.

Parameters: the event's columns by name (`row_params`), and each other table's columns
prefixed with the table's name (`prefixed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, insert, literal, literal_column, select, true, update

from neo_events.auth.signed_in import signed_in_user
from neo_events.events import key_rows
from neo_events.events.access import Role
from neo_events.live import pending
from neo_events.models import AuditEntry, Event, EventPermission, EventVersion, User

EVENTS = cast(Table, Event.__table__)
EVENT_COLUMNS = tuple(c.name for c in EVENTS.c if c.name != "id")
# The transaction that last wrote an event's row, as text (`EDIT_IF_UNCHANGED`).
ROW_XMIN = "CAST(events.xmin AS text)"


def row_params(event: Event) -> dict[str, Any]:
    """The event's columns but its id, by name, as the ORM instance holds them."""
    return {c: getattr(event, c) for c in EVENT_COLUMNS}


def prefixed(table: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{table}_{k}": v for k, v in values.items()}


def _event_values() -> dict[str, Any]:
    """The event's columns but its id, each bound to its own name (`row_params`)."""
    return {c: bindparam(c, type_=EVENTS.c[c].type) for c in EVENT_COLUMNS}


def _bound(table: type[Any], name: str) -> Any:
    """A column of another table, bound to its prefixed name (`prefixed`)."""
    column = cast(Table, table.__table__).c[name]
    return bindparam(f"{table.__tablename__}_{name}", type_=column.type)


def _created(sign_in: bool, checked: bool = False) -> Any:
    """PostgreSQL: a new event, its owner's grant, its version 1, its audit row and its
    change-feed row in one statement (data-modifying CTEs on the event's RETURNING id), built
    once: one round trip and no ORM unit of work, where the ORM path makes five.

    With `sign_in` (`CREATE_SIGNED_IN`), for a caller known by an access token's claims
    alone: the rows are written only if the token's sign-in session is open (`sign_in_user`,
    `sign_in_session`), and the statement returns the owner's username beside the id (no
    row: nothing was written, a 401), so the token's user is not read by a statement of its
    own.

    With `checked` too (`CREATE_CHECKED`), for a create whose check cannot stop it (`warn`):
    the statement also returns the keys of the owner's calendar over the check's window
    (`key_rows.one_user_arrays`: parameters `start`, `end` and `users`, the owner), as
    they were before the write (a statement's parts share one snapshot, so the new event is
    not among them), and the check goes on from them: a round trip fewer."""
    values = _event_values()
    if sign_in:
        who = signed_in_user(
            User.username,
            user_id=bindparam("sign_in_user"),
            session_id=bindparam("sign_in_session"),
        ).cte("who")
        row = select(*values.values()).select_from(who)
        new = insert(EVENTS).from_select(list(values), row).returning(EVENTS.c.id).cte("e")
        answer = select(new.c.id, who.c.username).select_from(who).join(new, true())  # one row each
        if checked:  # one row of arrays
            keys = key_rows.one_user_arrays().subquery("calendar")
            answer = answer.add_columns(*(keys.c[name] for name in key_rows.ARRAY_COLUMNS))
            answer = answer.join(keys, true())
    else:
        new = insert(EVENTS).values(values).returning(EVENTS.c.id).cte("e")
        answer = select(new.c.id)

    def from_new(table: type[Any], key: str, **values: Any) -> Any:
        names = [key, *values]
        return (
            insert(cast(Table, table.__table__))
            .from_select(names, select(new.c.id, *values.values()))
            .cte(f"{table.__tablename__}_ins")
        )

    grant = from_new(
        EventPermission,
        "event_id",
        user_id=_bound(EventPermission, "user_id"),
        role=literal(Role.OWNER.value),
        granted_by_id=_bound(EventPermission, "granted_by_id"),
        granted_at=_bound(EventPermission, "granted_at"),
        live=literal(True),
    )
    version = from_new(
        EventVersion,
        "event_id",
        version=literal(1),
        change_type=literal("created"),
        snapshot=_bound(EventVersion, "snapshot"),
        snapshot_bytes=_bound(EventVersion, "snapshot_bytes"),
        start_key=_bound(EventVersion, "start_key"),
        changed_by_id=_bound(EventVersion, "changed_by_id"),
        changed_at=_bound(EventVersion, "changed_at"),
    )
    audit = from_new(
        AuditEntry,
        "target_id",
        **{
            name: _bound(AuditEntry, name)
            for name in ("at", "actor_id", "action", "target_type", "outcome", "ip", "user_agent")
        },
        details=_bound(AuditEntry, "details"),
    )
    change = pending.pending_for_new_event(new.c.id).cte("feed_pending_ins")
    return (
        answer.add_cte(grant, nest_here=False)
        .add_cte(version, nest_here=False)
        .add_cte(audit, nest_here=False)
        .add_cte(change, nest_here=False)
    )


def _edited(if_unchanged: bool) -> Any:
    """The event's row (every column but its id; the row is the version's `event_id`), its
    version, its audit row and its change-feed row as data-modifying CTEs of one statement,
    built once; it returns the event's id if its row was updated, and writes nothing else
    otherwise (the other rows are selected from the updated one).

    `if_unchanged` (`EDIT_IF_UNCHANGED`): only if the row is still the one the writer read,
    told by its `xmin` (`row_xmin`, as text), the transaction that last wrote it: an edit
    read without the row's lock (`events.service`). A writer that changes what the edit
    relies on without writing the row (a grant, an invitation) touches it
    (`access.touch`). If the row changed between the statement's start and its update,
    PostgreSQL checks the condition again on the row as it is then (READ COMMITTED)."""

    def values(table: type[Any]) -> dict[str, Any]:
        return {
            c.name: _bound(table, c.name) for c in cast(Table, table.__table__).c if c.name != "id"
        }

    row = update(EVENTS).where(EVENTS.c.id == _bound(EventVersion, "event_id"))
    if if_unchanged:
        row = row.where(literal_column(ROW_XMIN, Text) == bindparam("row_xmin", type_=Text))
    written = row.values(_event_values()).returning(EVENTS.c.id).cte("e")

    def from_written(table: type[Any]) -> Any:
        columns = values(table)
        return (
            insert(cast(Table, table.__table__))
            .from_select(list(columns), select(*columns.values()).select_from(written))
            .cte(f"{table.__tablename__}_ins")
        )

    change = pending.pending_for_holders(written.c.id)
    return (
        select(written.c.id)
        .add_cte(from_written(EventVersion), nest_here=False)
        .add_cte(from_written(AuditEntry), nest_here=False)
        .add_cte(change.cte("feed_pending_ins"), nest_here=False)
    )


CREATE = _created(sign_in=False)
CREATE_SIGNED_IN = _created(sign_in=True)
CREATE_CHECKED = _created(sign_in=True, checked=True)
EDIT = _edited(if_unchanged=False)
EDIT_IF_UNCHANGED = _edited(if_unchanged=True)
