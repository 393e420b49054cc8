"""iCalendar export of one event, and what every export (the feed, CalDAV) writes beside an
event's content: its UID, its people and their per-occurrence answers, the reader's own
reminders, and the ETag part they make. The import is in ical/importing.py."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import timezones
from neo_events.events.access import get_event_for
from neo_events.events.content import content_of
from neo_events.ical import codec
from neo_events.ical.people import Attendance, calendar_address
from neo_events.models import Attendee, Event, OccurrenceResponse, User
from neo_events.protocol import etag_for, etag_matches
from neo_events.reminders import service as reminders

UID_DOMAIN = "neo-events"


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """An iCalendar body and its entity tag; no body when the client's copy is current."""

    etag: str
    body: bytes | None


def outgoing(
    event: Event,
    people: Sequence[Attendance] = (),
    mine: Sequence[int] = (),
    answers: Mapping[datetime, Mapping[str, str]] | None = None,
) -> codec.Outgoing:
    """An event as exported: a stable UID, SEQUENCE 0 for version 1 (RFC 5545 §3.8.7.4);
    `mine` the reader's own reminders (VALARMs), never anyone else's; `answers` the
    per-occurrence ones (answers_of)."""
    return codec.Outgoing(
        uid=f"event-{event.id}@{UID_DOMAIN}",
        sequence=event.version - 1,
        created=event.created_at,
        last_modified=event.updated_at,
        content=content_of(event),
        people=people,
        reminders=mine,
        answers=answers or {},
    )


async def people_of(
    session: AsyncSession, event_ids: Sequence[int] | Select[Any], reader_id: int
) -> dict[int, list[Attendance]]:
    """Each event's organizer and attendees as a calendar file names them to the reader
    (`calendar_address`); `event_ids` a list or a query of ids (a whole feed)."""
    rows = await session.execute(
        select(Attendee, User.email, User.username)
        .join(User, User.id == Attendee.user_id)
        .where(Attendee.event_id.in_(event_ids))
        .order_by(Attendee.event_id, Attendee.is_organizer.desc(), Attendee.invited_at, User.id)
    )
    found: dict[int, list[Attendance]] = {}
    for attendee, email, username in rows:
        found.setdefault(attendee.event_id, []).append(
            Attendance(
                email=calendar_address(email, username, reader=attendee.user_id == reader_id),
                name=username,
                response=attendee.response,
                optional=attendee.optional,
                organizer=attendee.is_organizer,
            )
        )
    return found


# Occurrences written for their answers alone (ical/export.py), per event and reader: all the
# reader's own (at most MAX_OCCURRENCE_ANSWERS, the RSVP's cap) and at most this many answered
# by others only, so what others do costs a reader at most this many VEVENTs (about 1 ms each
# to write, BENCHMARKS.md "CalDAV (issue #21)").
MAX_OTHERS_SHOWN = 100
SHOWN_CHUNK = 1_000  # occurrences (two binds each) to a statement

Answers = dict[datetime, dict[str, str]]  # {recurrence id: {address (lower case): response}}


async def answers_of(
    session: AsyncSession, event_ids: Sequence[int] | Select[Any], reader_id: int
) -> dict[int, Answers]:
    """Each event's per-occurrence answers (SPEC §13) as the export writes them: every
    occurrence the reader answered one by one, and the MAX_OTHERS_SHOWN earliest that only
    others did, with everyone's answers there.

    Three reads, none of every answer (100 invitees who each answered 999 occurrences are
    99,900 rows, 0.3 s of CPU to read whole): the reader's own occurrences (the primary key),
    the occurrences others answered, each once (`ix_occurrence_responses_occurrence`), and
    the answers at those shown, by the same index."""
    table = OccurrenceResponse.__table__.c
    own: dict[int, set[datetime]] = {}
    if reader_id is not None:
        for event_id, rid in await session.execute(
            select(table.event_id, table.recurrence_id).where(
                table.event_id.in_(event_ids), table.user_id == reader_id
            )
        ):
            own.setdefault(event_id, set()).add(rid)
    others: dict[int, list[datetime]] = {}
    answered = select(table.event_id, table.recurrence_id).where(table.event_id.in_(event_ids))
    if reader_id is not None:
        answered = answered.where(table.user_id != reader_id)
    for event_id, rid in await session.execute(
        answered.distinct().order_by(table.event_id, table.recurrence_id)
    ):
        if rid not in own.get(event_id, ()):
            found = others.setdefault(event_id, [])
            if len(found) < MAX_OTHERS_SHOWN:
                found.append(rid)
    shown = [
        (event_id, rid)
        for event_id in own.keys() | others.keys()
        for rid in sorted(own.get(event_id, set()).union(others.get(event_id, ())))
    ]
    by_user: dict[int, dict[datetime, dict[int, str]]] = {}  # answers by user id first
    addresses: dict[int, str] = {}
    for chunk in range(0, len(shown), SHOWN_CHUNK):
        pairs = shown[chunk : chunk + SHOWN_CHUNK]
        rows = await session.execute(
            select(table.event_id, table.recurrence_id, table.user_id, table.response).where(
                tuple_(table.event_id, table.recurrence_id).in_(pairs)
            )
        )
        for event_id, rid, user_id, response in rows:
            by_user.setdefault(event_id, {}).setdefault(rid, {})[user_id] = response
    users = {u for by_rid in by_user.values() for said in by_rid.values() for u in said}
    if users:
        named = await session.execute(
            select(User.id, User.email, User.username).where(User.id.in_(users))
        )
        addresses = {
            user_id: calendar_address(email, username, reader=user_id == reader_id).lower()
            for user_id, email, username in named
        }
    return {  # (a user deleted between the reads has no answers, as with a join)
        event_id: {
            rid: {addresses[u]: said for u, said in answered.items() if u in addresses}
            for rid, answered in sorted(by_rid.items())
        }
        for event_id, by_rid in by_user.items()
    }


def people_tag(
    people: Sequence[Attendance],
    mine: Sequence[int] = (),
    answers: Mapping[datetime, Mapping[str, str]] | None = None,
) -> str:
    """What an answer (for the series or one occurrence) or one's own reminders change in an
    export without a new version: part of its ETag."""
    text = ";".join(f"{p.email}:{p.response}:{p.optional}" for p in people)
    if mine:
        text += "|" + ",".join(str(m) for m in mine)
    if answers:
        text += "|" + ";".join(
            f"{rid.isoformat()}={who}:{said}"
            for rid in sorted(answers)
            for who, said in sorted(answers[rid].items())
        )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def event_calendar(
    session: AsyncSession, *, actor: User, event_id: int, if_none_match: str | None
) -> CalendarFile:
    """One event as a VCALENDAR (viewer+; 404 for strangers, like every event path), with
    the caller's own reminders as VALARMs."""
    event, _ = await get_event_for(session, actor.id, event_id)
    people = (await people_of(session, [event.id], actor.id)).get(event.id, [])
    mine = (await reminders.my_reminders(session, actor.id, [event.id])).get(event.id, [])
    answers = (await answers_of(session, [event.id], actor.id)).get(event.id, {}) if people else {}
    tag = f"-{people_tag(people, mine, answers)}" if people or mine else ""
    etag = etag_for(f"ics-{event.version}{tag}-{timezones.RULES_VERSION}")  # its VTIMEZONE's rules
    if etag_matches(if_none_match, etag):
        return CalendarFile(etag, None)
    body = await asyncio.to_thread(codec.export_calendar, [outgoing(event, people, mine, answers)])
    return CalendarFile(etag, body)
