"""How the event routes answer: the event object after a write, with its ETag and the
conflicts the write found, written as JSON directly (shared by the events, occurrences,
history, sharing and invitations routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.access import Role
from neo_events.events.schedule import Clash, clash_json
from neo_events.events.schemas import BusyRead, ClashRead, ConflictRead, EventRead
from neo_events.events.views import event_reads
from neo_events.models import Event
from neo_events.protocol import event_etag


def etag_of(read: EventRead) -> str:
    """The ETag of this event object: its version, and the caller's reminders it shows."""
    return event_etag(read.version, [r.minutes_before for r in read.my_reminders])


def with_etag(response: Response, read: EventRead) -> None:
    response.headers["ETag"] = etag_of(read)


async def read_one(
    session: AsyncSession,
    event: Event,
    role: Role,
    viewer_id: int | None = None,
    mine: dict[int, list[int]] | None = None,
) -> EventRead:
    return (await event_reads(session, [(event, role)], viewer_id, mine))[0]


def conflicts_json(clashes: list[Clash]) -> list[ClashRead]:
    """The clashes as response models, built without validating what we made (a batch can
    list 50,000)."""
    return [_clash_read(c) for c in clashes]


def _clash_read(clash: Clash) -> ClashRead:
    if clash.start is None or clash.end is None:
        assert clash.user_id is not None
        return BusyRead.model_construct(user_id=clash.user_id, busy=True)
    return ConflictRead.model_construct(
        event_id=clash.event_id, title=clash.title, start_time=clash.start, end_time=clash.end
    )


def clash_dict(clash: Clash) -> dict[str, object]:
    """A clash for a body orjson writes (`OPT_UTC_Z`): its times as they are."""
    return clash_json(clash, _as_it_is)


def _as_it_is(moment: datetime) -> datetime:
    return moment


def written(
    body: dict[str, Any],
    etag: str,
    status_code: int,
    headers: dict[str, str],
    *,
    conflicts: list[Clash] | None,
    merged: bool | None = None,
) -> Response:
    """The event object after a write (`EventCreated`/`EventUpdated`) with its ETag, as JSON
    written directly: the object is already validated, and validating it again into the
    response model and then once more as the route's return value cost more than the write's
    inserts. `conflicts` None: the write stands but its check could not finish (a create's,
    `creation.create_event`), and the object has no `conflicts`."""
    if merged is not None:
        body["merged"] = merged
    if conflicts is not None:
        body["conflicts"] = [clash_dict(c) for c in conflicts]
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
        headers=headers | {"ETag": etag},
    )
