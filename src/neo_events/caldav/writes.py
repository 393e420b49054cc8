"""CalDAV writes: a PUT or DELETE of one resource is the API's write of one event
(events/creation.py create_event, events/service.py update_event and delete_event; a
non-owner's DELETE is sharing/service.py remove_role of their own role), so
validation, roles, versions, history, audit, live messages and sync changes all follow from
there. No schedule conflict is checked (`ignore`): under `warn` a clash refuses nothing, and
an app has no way to show the warning (as with an import). Only the resource's name, UID and
text are kept here (calendar_resources)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.auth.preferences import own_zone
from neo_events.caldav import people, resources, write_back
from neo_events.caldav.rendering import render
from neo_events.caldav.service import (
    DavError,
    Item,
    default_id,
    items_named,
)
from neo_events.db import utcnow
from neo_events.errors import ValidationFailed
from neo_events.events import creation
from neo_events.events import service as events
from neo_events.events.access import Role, RoleTooLow, get_event_for, visible_events
from neo_events.events.content import canonical_changes, content_of
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import EventCreate, EventUpdate, model_fields_set
from neo_events.events.validation import build_content
from neo_events.ical.service import UID_DOMAIN
from neo_events.infra import locks
from neo_events.invitations.responses import OrganizerStays
from neo_events.models import CalendarResource, Event, User
from neo_events.models.caldav import MAX_NAME
from neo_events.reminders import service as reminders
from neo_events.sharing import service as sharing

_RESOURCES = select(CalendarResource.event_id)


def _check_etag(item: Item | None, if_match: str | None, if_none_match: str | None) -> None:
    """RFC 9110 preconditions on the resource as the caller sees it."""
    if if_none_match is not None and item is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        if "*" in tags or item.etag in tags:
            raise DavError(412, None, "The resource exists already.", "resource_exists")
    if if_match is not None:
        tags = [t.strip() for t in if_match.split(",")]
        if item is None or ("*" not in tags and item.etag not in tags):
            raise DavError(
                412, None, "The resource has changed; read it again and retry.", "stale_etag"
            )


async def put_item(
    session: AsyncSession,
    *,
    user: User,
    name: str,
    data: bytes,
    if_match: str | None,
    if_none_match: str | None,
    origin: Origin,
) -> Written:
    """Create or replace one event from its resource text, through the events service (and
    its people through the invitation service, caldav/people.py)."""
    item, created = await _put(
        session,
        user=user,
        name=name,
        data=data,
        if_match=if_match,
        if_none_match=if_none_match,
        origin=origin,
    )
    served = (await render(session, [item])).get(item.event.id)
    return Written(item, created, as_sent=served == data)


@dataclass(frozen=True, slots=True)
class Written:
    """A PUT's resource, whether it is new, and whether what its writer now reads of it is
    the body they sent, octet for octet: only then may the answer carry its ETag (RFC 4791
    §5.3.4), else the client reads it again (a VALARM rendered as a reminder, a property
    the model holds written as the codec writes it)."""

    item: Item
    created: bool
    as_sent: bool


async def _put(
    session: AsyncSession,
    *,
    user: User,
    name: str,
    data: bytes,
    if_match: str | None,
    if_none_match: str | None,
    origin: Origin,
) -> tuple[Item, bool]:
    if not resources.storable(name):
        raise DavError(
            400, None, f"A resource's name has at most {MAX_NAME} characters.", "invalid_name"
        )
    incoming = await _read(data, own_zone(user))
    # whether the name (and the UID) is free decides a create: one PUT of the writer's at a
    # time decides (concurrent ones were each a 201 and an event, `If-None-Match: *` or not)
    await locks.hold(session, locks.CALDAV_COLLECTION, [user.id])
    current = (await items_named(session, user, [name])).get(name)
    if current is not None:
        # the row lock a read-modify-write needs, then the preconditions on what is locked
        event, role = await get_event_for(session, user.id, current.event.id, lock=True)
        current = replace(current, event=event, role=role)
    _check_etag(current, if_match, if_none_match)
    if current is None:
        return await _create(session, user, name, incoming, origin), True
    if incoming.uid != current.uid:
        raise DavError(
            403,
            ("urn:ietf:params:xml:ns:caldav", "no-uid-conflict"),
            "A resource's UID cannot change.",
            "uid_changed",
        )
    if data == (await render(session, [current])).get(current.event.id):
        return current, False  # exactly what a GET gives this reader: nothing to write
    row = current.event
    assert isinstance(row, Event)  # the locked row, read whole
    todo = await people.plan(session, user, incoming, row)
    before = content_of(row)
    content = write_back.follow_master(before, todo.content)
    content = write_back.keeps_override_times(before, write_back.keeps_its_zone(before, content))
    content = write_back.keeps_its_rule(before, content)
    todo = replace(todo, content=content)
    try:
        body = EventUpdate.model_validate(todo.content)
        changes = model_fields_set(body)
        changed = build_content(before, canonical_changes(changes)) != before
        if not current.role.at_least(Role.EDITOR):
            if changed or not todo.allowed_below_editor(user):
                raise _read_only(current.role)
        else:
            result = await events.update_event(
                session,
                actor_id=user.id,
                event_id=row.id,
                changes=changes,
                origin=origin,
                policy=ConflictPolicy.IGNORE,
            )
            await _store(session, result.event, name, incoming, as_sent=not current.shadowed)
        await people.apply(session, user, row.id, todo, origin)
    except (ValidationError, ValidationFailed) as exc:
        raise _invalid(exc) from None
    except RoleTooLow:
        raise _read_only(current.role) from None
    await _keep_reminders(session, user, current, incoming, origin)
    refreshed = (await items_named(session, user, [name]))[name]
    return refreshed, False


async def _read(data: bytes, zone: str) -> resources.Incoming:
    try:
        return await asyncio.to_thread(resources.read, data, zone)
    except resources.InvalidResource as exc:
        raise DavError(
            403, ("urn:ietf:params:xml:ns:caldav", exc.condition), exc.message, "invalid_resource"
        ) from None


async def _create(
    session: AsyncSession, user: User, name: str, incoming: resources.Incoming, origin: Origin
) -> Item:
    # `event-{id}@neo-events` names an event of ours, whoever may see it: never a new one's
    # (else anyone could give their event another's UID, then share it with its holders)
    taken = (
        _uid_id(incoming.uid)
        or (
            await session.execute(
                visible_events(user.id)
                .with_only_columns(Event.id)
                .where(Event.id.in_(_RESOURCES.where(CalendarResource.uid == incoming.uid)))
                .limit(1)
            )
        ).first()
    )
    if taken or default_id(name) is not None:
        raise DavError(
            403,
            ("urn:ietf:params:xml:ns:caldav", "no-uid-conflict"),
            "Another resource of this calendar has that UID (or the name or UID is reserved).",
            "uid_conflict",
        )
    todo = await people.plan(session, user, incoming, None)
    try:
        event = (
            await creation.create_event(
                session,
                actor_id=user.id,
                data=EventCreate.model_validate(todo.content),
                origin=origin,
                policy=ConflictPolicy.IGNORE,
            )
        ).event
        await people.apply(session, user, event.id, todo, origin)
    except (ValidationError, ValidationFailed) as exc:
        raise _invalid(exc) from None
    await _store(session, event, name, incoming)
    if incoming.reminders:
        await reminders.set_reminders(
            session, actor=user, event_id=event.id, minutes=incoming.reminders, origin=origin
        )
    return (await items_named(session, user, [name]))[name]


async def _keep_reminders(
    session: AsyncSession, user: User, current: Item, incoming: resources.Incoming, origin: Origin
) -> None:
    """The master VEVENT's VALARMs become the writer's reminders, through the service the
    iCalendar import uses (SPEC §14); a resource without VALARMs means the writer has none
    (a client sends the alarms it shows, docs/api.md "CalDAV"). Unchanged: nothing written."""
    if sorted(set(incoming.reminders)) == sorted(current.mine):
        return
    await reminders.set_reminders(
        session, actor=user, event_id=current.event.id, minutes=incoming.reminders, origin=origin
    )


def _uid_id(uid: str) -> int:
    """The event a UID of our own export names (0: none), in any case (a client may compare
    UIDs so)."""
    uid, prefix, suffix = uid.lower(), "event-", f"@{UID_DOMAIN}"
    digits = (
        uid[len(prefix) : -len(suffix)] if uid.startswith(prefix) and uid.endswith(suffix) else ""
    )
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else 0


async def _store(
    session: AsyncSession,
    event: Event,
    name: str,
    incoming: resources.Incoming,
    *,
    as_sent: bool = True,
) -> None:
    """Keep the client's text as describing the event's version now (after the write); a
    text written under the event's own UID where the client's is `shadowed` (its UID is not
    the resource's) describes no version: it only lends later texts its extra properties."""
    row = await session.get(CalendarResource, event.id)
    version = event.version if as_sent else None
    now = utcnow()
    if row is None:
        session.add(
            CalendarResource(
                event_id=event.id,
                name=name,
                uid=incoming.uid,
                body=incoming.text,
                body_version=version,
                updated_at=now,
            )
        )
    elif row.body != incoming.text or row.body_version != version:
        row.body, row.body_version, row.updated_at = incoming.text, version, now
    await session.flush()


def _invalid(exc: ValidationError | ValidationFailed) -> DavError:
    if isinstance(exc, ValidationFailed):
        detail = exc.detail
        if exc.errors and exc.errors[0].get("msg") and exc.errors[0]["msg"] not in detail:
            detail = f"{detail}: {exc.errors[0]['msg']}"
    else:
        error = exc.errors()[0]
        detail = f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return DavError(
        403, ("urn:ietf:params:xml:ns:caldav", "valid-calendar-data"), detail, "invalid_event"
    )


def _read_only(role: Role) -> DavError:
    return DavError(
        403,
        ("DAV:", "need-privileges"),
        f"Your role on this event ({role.value}) does not allow this.",
        "role_too_low",
    )


async def delete_item(
    session: AsyncSession, *, user: User, name: str, if_match: str | None, origin: Origin
) -> None:
    """An owner's DELETE deletes the event, as the API's DELETE does; anyone else's takes it
    out of their own calendar: their role goes, as the API's `DELETE
    /events/{id}/permissions/{own id}` does (calendar apps let anyone remove an event from
    their calendar, and a 403 left them holding what anyone may share with them)."""
    current = (await items_named(session, user, [name])).get(name)
    if current is None:
        raise DavError(404, None, "No such resource.", "not_found")
    # the row lock the write needs, then the role and the preconditions on what is locked
    event, role = await get_event_for(session, user.id, current.event.id, lock=True)
    current = replace(current, event=event, role=role)
    _check_etag(current, if_match, None)
    if role is Role.OWNER:
        await events.delete_event(session, actor=user, event_id=event.id, origin=origin)
        return
    try:
        await sharing.remove_role(
            session, actor=user, event_id=event.id, user_id=user.id, origin=origin
        )
    except OrganizerStays as exc:
        raise DavError(409, None, exc.detail, exc.code) from None
