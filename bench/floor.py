"""The floor of an edit (issue #16): `PATCH /bench/floor/events/{id}`, a title edit with
nothing but what the product's edit cannot do without, to tell how far the product's
`PATCH /api/v1/events/{id}` is from what this stack and schema allow.

It runs the product's two statements on the bench's raw asyncpg pool, compiled once by
SQLAlchemy, with the parameters the product's own helpers make (`version_row`, `audit_row`,
`pending.change_params`): the locked read (`reads.read_for_edit`: the caller's sign-in and
role, the row and its document) and the write (`statements.EDIT`: the row, its version, its
audit row, its change-feed row), in one transaction, behind the app's middleware. It checks the
access token (the worker's cache of checked tokens, as the product does). It leaves out
everything else: no ORM session or object, no validation of the body or the content, no
preconditions, merge or conflict check, no reminders or invitations to follow the event. As
the product's edit, it answers once its change is numbered (the hub's `changed`: a run of
the feed's numbering, `live.sequencer`, which wakes the live hubs). It answers with the row
as JSON, not the event object. So it is a floor, not another way to edit: none of the
product calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from bench.statement_cost import DriverStatement
from neo_events.audit.service import Origin, audit_row
from neo_events.auth.service import access_claims
from neo_events.events import reads, statements
from neo_events.events.content import content_of
from neo_events.history.versions import version_row
from neo_events.live import feed, pending
from neo_events.models import Event

_JSON_COLUMNS = ("exdates", "rdates", "overrides")


async def _numbered_below() -> None:
    """What `pending.change_params` has a session do after its commit; done below instead."""


# What `pending.change_params` reads of a session (it queues `_numbered_below`, not run).
def _no_session() -> Any:
    return SimpleNamespace(info={"publish_change": _numbered_below})


def add_floor_edit(app: FastAPI) -> None:
    # the event's read with its row's lock, in one statement: the floor of an edit is its
    # two statements (the product's locked edit takes the lock by a statement of its own,
    # `access.lock_row`; its text edit takes none, `statements.EDIT_IF_UNCHANGED`)
    lock = DriverStatement(reads._statement_for("postgresql").with_for_update(of=Event))
    edit = DriverStatement(statements.EDIT)

    @app.patch("/bench/floor/events/{event_id}", include_in_schema=False)
    async def floor_edit(event_id: int, request: Request) -> Response:
        token = request.headers.get("authorization", "").partition(" ")[2]
        claims = access_claims(request.app.state.authenticator, token)
        title = orjson.loads(await request.body())["title"]
        caller = {"user_id": claims.user_id, "session_id": claims.session_id}
        async with request.app.state.bench_pool.acquire() as conn, conn.transaction():
            found = await conn.fetchrow(lock.sql, *lock.args(caller | {"event_id": event_id}))
            if found is None or not found["signed_in"] or found["my_role"] == "viewer":
                return Response(b'{"detail":"no"}', status_code=404)
            row = dict(found)
            for name in _JSON_COLUMNS:
                row[name] = orjson.loads(row[name])
            now = datetime.now(UTC)
            row |= {
                "title": title,
                "version": row["version"] + 1,
                "updated_at": now,
                "updated_by_id": claims.user_id,
            }
            event: Any = SimpleNamespace(**row)  # what the helpers read of an Event
            version = version_row(event, "updated", claims.user_id, content_of(event), None)
            audit = audit_row(
                action="event.updated",
                origin=Origin(),
                actor_id=claims.user_id,
                target_type="event",
                target_id=event_id,
                outcome="success",
                details={"version": row["version"], "fields": ["title"], "merged": False},
            )
            params = {name: row[name] for name in statements.EVENT_COLUMNS}
            params |= statements.prefixed("event_versions", version)
            params |= statements.prefixed("audit_log", audit | {"at": now})
            params |= pending.change_params(
                _no_session(),
                type=feed.CHANGE_TYPES["updated"],
                version=row["version"],
                actor_id=claims.user_id,
                changes=["title"],
            )
            await conn.fetchval(edit.sql, *edit.args(params))
        await request.app.state.hub.changed()  # numbered after the commit, as the product's
        answer = {name: row[name] for name in ("id", "title", "version", "start_time", "end_time")}
        return Response(orjson.dumps(answer), media_type="application/json")
