"""A change of an event written by the event's own statement (PostgreSQL): the
`feed_pending` row as a data-modifying CTE of the INSERT or UPDATE that writes the event, so
that the change costs no statement of its own (`events/statements.py`). It is numbered
after the commit as any pending row (`live.sequencer`; `feed._Numbering` for the rest)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Insert, Text, bindparam, cast, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import db
from neo_events.live import feed
from neo_events.models import EventPermission, FeedPending


def pending_for_new_event(event_id: Any) -> Insert:
    """PostgreSQL: the `feed_pending` row of one change of an event created by the same
    statement (a data-modifying CTE of it; `event_id` is the new id, known only there), so
    that the change costs no statement of its own. Parameters: `change_params` with the
    recipients. It is numbered after the commit as any pending row (`live.sequencer`)."""
    payload = func.jsonb_build_object(
        literal_column("'c'"),
        _the_change(event_id),
        literal_column("'r'"),
        cast(bindparam("feed_recipients", type_=Text), JSONB),
    )
    return insert(FeedPending).from_select(["payload"], select(payload))


def pending_for_holders(event_id: Any) -> Insert:
    """PostgreSQL: the `feed_pending` row of one change of an event a statement writes (a
    data-modifying CTE of it, on the row it returns: `event_id` is its column), for whoever
    holds a role on the event as that statement sees it. Parameters: `change_params`."""
    grant = aliased(EventPermission, name="holder")
    holders = (
        select(
            func.coalesce(
                func.jsonb_agg(
                    func.jsonb_build_object(
                        literal_column("'o'"),
                        literal_column("1"),
                        literal_column("'u'"),
                        grant.user_id,
                    )
                ),
                literal_column("'[]'::jsonb"),
            )
        )
        .where(grant.event_id == event_id)
        .scalar_subquery()
    )
    payload = func.jsonb_build_object(
        literal_column("'c'"), _the_change(event_id), literal_column("'r'"), holders
    )
    return insert(FeedPending).from_select(["payload"], select(payload))


def _the_change(event_id: Any) -> Any:
    """[`:feed_change` with its event's id] as a jsonb array: a pending row's `c`."""
    return func.jsonb_build_array(
        cast(bindparam("feed_change", type_=Text), JSONB).op("||")(
            func.jsonb_build_object(literal_column("'event_id'"), event_id)
        )
    )


def change_params(
    session: AsyncSession,
    *,
    type: str,
    version: int,
    actor_id: int,
    changes: Sequence[str] = (),
    recipients: Iterable[int] | None = None,
) -> dict[str, str]:
    """The parameters of `pending_for_new_event` (with `recipients`) or `pending_for_holders`
    (without), for one change; and the workers woken once the transaction has committed,
    as `append` does."""
    change = {
        "at": db.utcnow(),
        "type": type,
        "version": version,
        "actor_id": actor_id,
        "changes": list(changes),
    }
    feed.wake_after_commit(session)
    params = {"feed_change": orjson.dumps(change).decode()}
    if recipients is not None:
        params["feed_recipients"] = orjson.dumps(
            [{"o": 1, "u": u} for u in sorted(set(recipients))]
        ).decode()
    return params
