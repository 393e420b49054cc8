"""iCalendar import: the events of a file that the create rules accept are created through
the batch create path (version 1, audit row, change-feed row each) in the caller's transaction,
all or nothing, within a time budget; its attendees who are users are invited, the others kept
as text in the description."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin, record
from neo_events.auth.names import keys_of
from neo_events.auth.preferences import own_zone
from neo_events.errors import ValidationFailed
from neo_events.events import creation
from neo_events.events.content import Content
from neo_events.events.rrule import RecurrenceError, zone_named
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import EventCreate
from neo_events.events.validation import build_content
from neo_events.graphemes import cut
from neo_events.ical import codec
from neo_events.ical.people import PRIVATE_DOMAIN, Attendance
from neo_events.invitations import service as invitations
from neo_events.invitations.schemas import Invitee
from neo_events.invitations.service import MAX_ATTENDEES
from neo_events.models import Event, User
from neo_events.reminders import service as reminders

MAX_IMPORT_EVENTS = 5_000
# The rows an import's invitations may write in all: an event of n invitees writes about
# 4n + 3 (n invitations and the organizer's, up to n viewer roles, n audit rows, one change
# for its n + 1 people: SPEC §8, `feed.announce_all`). Until 2026-12-08 each invitation was a
# change for everyone on the event, n (n + 1) rows: an import of 50 events naming 500 users
# each made 12.5 million and held SQLite's write lock two minutes (an outside attack,
# 2026-12-04). Past this, the users an event names are kept in its description as other
# guests are.
MAX_IMPORT_FAN_OUT = 50_000
FAN_OUT_NOTE = (
    f"people past the import's {MAX_IMPORT_FAN_OUT:,} rows of invitations are kept in the "
    "description, not invited (invite them afterwards, or import fewer events at a time)"
)
# Seconds an import request may spend before it gives up (rolled back, 422
# import_over_budget): less than the minute a proxy in front usually waits. Reading the file
# (at most 1 MiB) is bounded by its size; the budget bounds the writing, above all the
# invitations, which are written one event at a time.
IMPORT_BUDGET = 50.0
# Events written per batch create: a batch's own bound (events/schemas.py), so the event loop
# is never held longer than one batch create holds it.
WRITE_CHUNK = 250
# Events whose reminders (at most 5 each) are written together: finding each one's next due
# occurrence is CPU work on the event loop, ~0.1 ms a reminder of a series.
REMINDER_CHUNK = 100

Progress = Callable[[int, int], None]


class InvalidCalendarFile(ValidationFailed):
    code = "invalid_calendar"
    title = "The calendar file cannot be read"


class NothingToImport(ValidationFailed):
    code = "nothing_to_import"
    title = "Nothing in the calendar file can be imported"


class TooManyEvents(ValidationFailed):
    code = "too_many_events"
    title = "The calendar holds too many events for one import"


class ImportOverBudget(ValidationFailed):
    code = "import_over_budget"
    title = "The calendar takes too long to import at once"


def over_budget(deadline: float | None) -> None:
    """Raise ImportOverBudget once the loop's clock has passed `deadline`."""
    if deadline is not None and asyncio.get_running_loop().time() > deadline:
        raise ImportOverBudget(
            "Importing this file takes too long for one request; nothing was imported. "
            "Import it in smaller files."
        )


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: list[tuple[Event, str]]  # each event with the UID it came from
    skipped: list[codec.Skipped]
    notes: list[codec.Note]


def check_zone(name: str) -> str:
    """A default zone for floating times must be an IANA zone name."""
    try:
        zone_named(name)
    except RecurrenceError as exc:
        raise ValidationFailed.field(["query", "timezone"], str(exc)) from None
    return name


async def read_calendar(data: bytes, *, default_timezone: str) -> codec.ParsedCalendar:
    """The file's events, or a 422 saying where it is broken. Parsed in a worker thread: a
    1 MiB file takes long enough to stall other requests."""
    try:
        return await asyncio.to_thread(
            codec.parse_calendar, data, default_timezone=check_zone(default_timezone)
        )
    except codec.InvalidCalendar as exc:
        problems = [f"the {p.component} of line {p.line} {p.reason}" for p in exc.problems]
        messages = problems or [f"line {exc.line}: {exc.message}"]
        raise InvalidCalendarFile(
            f"The calendar cannot be read: {messages[0]}",
            errors=[{"loc": ["body"], "msg": message} for message in messages],
            line=exc.line,
        ) from None


def _reason(exc: ValidationError | ValidationFailed) -> str:
    if isinstance(exc, ValidationFailed):
        return exc.detail
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"{field}: {str(error['msg']).removeprefix('Value error, ')}"


def _nothing(skipped: list[codec.Skipped]) -> NothingToImport:
    """A file read whole that holds no event the create rules accept: a 422 that says why
    for each component (an import that made nothing is not a success: the samples' "reject"
    outcome), and writes nothing."""
    reasons = [f"the {s.component} of line {s.line}: {s.reason}" for s in skipped]
    return NothingToImport(
        f"Nothing in this calendar can be imported: {reasons[0]}"
        + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")
        if reasons
        else "The calendar holds no events.",
        errors=[{"loc": ["body"], "msg": reason} for reason in reasons[:MAX_REASONS]],
    )


MAX_REASONS = 100  # components a refused import names one by one (the count says the rest)


def _acceptable(
    parsed: codec.ParsedCalendar,
) -> tuple[list[tuple[codec.Incoming, Content]], list[codec.Skipped]]:
    """The events that a create accepts, each with its content as the create rules build it;
    the others join the skipped, with the create's reason."""
    valid, skipped = [], list(parsed.skipped)
    for item in parsed.events:
        try:
            content = build_content(None, EventCreate.model_validate(item.content).model_dump())
        except (ValidationError, ValidationFailed) as exc:
            skipped.append(codec.Skipped(item.uid, "VEVENT", item.line, _reason(exc)))
        else:
            valid.append((item, content))
    return valid, skipped


async def import_calendar(
    session: AsyncSession,
    *,
    actor: User,
    data: bytes,
    origin: Origin,
    default_timezone: str | None = None,
    progress: Progress | None = None,
    budget: float | None = None,
) -> ImportReport:
    """Create every event of a calendar file that the event rules accept, in the caller's
    transaction. Floating times and all-day dates fall in the file's X-WR-TIMEZONE, else in
    `default_timezone`, else in the actor's own zone (`preferences.own_zone`). Schedule
    conflicts are not checked (a calendar file records commitments). The events are written
    as batch creates write them, WRITE_CHUNK at a time (the event loop runs between chunks);
    then the invitations of those that have any, one event at a time; then the reminders
    (their VALARMs), REMINDER_CHUNK events' worth at a time. With a `budget` (seconds), an
    import still writing past it stops with ImportOverBudget, which rolls the caller's
    transaction back."""
    deadline = None if budget is None else asyncio.get_running_loop().time() + budget
    zone = default_timezone or own_zone(actor)
    parsed = await read_calendar(data, default_timezone=zone)
    valid, skipped = await asyncio.to_thread(_acceptable, parsed)
    if not valid:
        raise _nothing(skipped)
    if len(valid) > MAX_IMPORT_EVENTS:
        raise TooManyEvents(
            f"The file holds {len(valid)} events; import at most {MAX_IMPORT_EVENTS} at a time."
        )
    total = len(valid)
    if progress is not None and total:
        progress(0, total)
    known = await users_by_email(session, (p.email for item, _ in valid for p in item.people))
    contents: list[Content] = []
    invited: list[list[Invitee]] = []
    left, left_noted = MAX_IMPORT_FAN_OUT, False
    for item, content in valid:
        # the most invitees n whose 4n + 3 rows fit in what is left
        room = min(MAX_ATTENDEES - 1, max(0, (left - 3) // 4))
        invitees, guests = split_people(item.people, known, actor.id, room)
        left -= 4 * len(invitees) + 3 if invitees else 0
        named = {known.get(p.email) for p in item.people} - {None, actor.id}
        if len(invitees) < min(len(named), MAX_ATTENDEES - 1) and not left_noted:
            left_noted = True
            parsed.notes.append(codec.Note(item.uid, None, FAN_OUT_NOTE))
        if guests:
            content = content | {"description": with_guests(content["description"], guests)}
        contents.append(content)
        invited.append(invitees)
    written = []
    for chunk in range(0, total, WRITE_CHUNK):
        over_budget(deadline)
        written += await creation.create_built(
            session,
            actor_id=actor.id,
            contents=contents[chunk : chunk + WRITE_CHUNK],
            origin=origin,
            policy=ConflictPolicy.IGNORE,
            details={"version": 1},
        )
    created = []
    for done, ((event, _), (item, _), invitees) in enumerate(
        zip(written, valid, invited, strict=True), start=1
    ):
        if invitees:
            over_budget(deadline)
            await invitations.invite(
                session,
                actor=actor,
                event_id=event.id,
                invitees=invitees,
                origin=origin,
                policy=ConflictPolicy.IGNORE,
            )
        created.append((event, item.uid))
        if progress is not None:
            progress(done, total)
    # Their VALARMs, as my reminders (SPEC §14): written together, REMINDER_CHUNK events'
    # worth at a time (the event loop runs between chunks).
    alarmed = [
        (event, item.reminders)
        for (event, _), (item, _) in zip(written, valid, strict=True)
        if item.reminders
    ]
    for chunk in range(0, len(alarmed), REMINDER_CHUNK):
        over_budget(deadline)
        await reminders.set_new_reminders(
            session, actor=actor, reminders=alarmed[chunk : chunk + REMINDER_CHUNK], origin=origin
        )
    record(
        session,
        action="event.imported",
        origin=origin,
        actor_id=actor.id,
        details={
            "count": len(created),
            "event_ids": [event.id for event, _ in created],
            "skipped": len(skipped),
        },
    )
    return ImportReport(created, skipped, parsed.notes)


async def users_by_email(session: AsyncSession, addresses: Iterable[str]) -> dict[str, int]:
    """User ids by address as written, for the people of an imported file or a CalDAV write:
    an address whose key (`names.keys_of`: any case, any Unicode form) is a user's email, or
    `username@PRIVATE_DOMAIN` as exports name others (`people.calendar_address`)."""
    keys = keys_of(addresses)
    wanted = sorted(set(keys.values()))
    suffix = f"@{PRIVATE_DOMAIN}"
    names = sorted({key.removesuffix(suffix) for key in wanted if key.endswith(suffix)})
    found: dict[str, int] = {}
    for chunk in range(0, len(wanted), 500):
        rows = await session.execute(
            select(User.email_key, User.id).where(User.email_key.in_(wanted[chunk : chunk + 500]))
        )
        found.update({row.email_key: row.id for row in rows})
    for chunk in range(0, len(names), 500):
        rows = await session.execute(
            select(User.username_key, User.id).where(
                User.username_key.in_(names[chunk : chunk + 500])
            )
        )
        found.update({f"{row.username_key}{suffix}": row.id for row in rows})
    return {address: found[key] for address, key in keys.items() if key in found}


def split_people(
    people: Sequence[Attendance],
    known: dict[str, int],
    organizer_id: int,
    room: int = MAX_ATTENDEES - 1,
) -> tuple[list[Invitee], list[Attendance]]:
    """An imported event's people: users of this service (by email) become invitations, as
    many as there is `room` for (the organizer, the importer, is not invited); everyone
    else is kept as text."""
    invitees: dict[int, Invitee] = {}
    guests = []
    for person in people:
        user_id = known.get(person.email)
        if user_id is None:
            guests.append(person)
        elif user_id == organizer_id or user_id in invitees:
            continue
        elif len(invitees) < room:
            invitees[user_id] = Invitee(user_id=user_id, optional=person.optional)
        elif room < MAX_ATTENDEES - 1:  # past the import's fan-out: named in the description
            guests.append(person)
        # (past the event's own cap, MAX_ATTENDEES, they are left out)
    return list(invitees.values()), guests


def with_guests(
    description: str | None, guests: Sequence[Attendance], heading: str | None = None
) -> str:
    """The description with the attendees who are not users of this service listed, one line
    each, within the description's length limit. Idempotent: a guest already listed (by
    address) has their line replaced where it is, so the same people written again change
    nothing (a CalDAV client puts back what it got)."""
    heading = GUESTS_HEADING if heading is None else heading
    lines = (description or "").split("\n") if description else []
    added = []
    for guest in guests:
        line = (
            f"- {guest.name + ' ' if guest.name else ''}<{guest.email}>"
            f"{' (organizer)' if guest.organizer else ''}: {guest.response.replace('_', ' ')}"
        )
        marker = f"<{guest.email}>"
        at = next((i for i, old in enumerate(lines) if old[:2] == "- " and marker in old), None)
        if at is None:
            added.append(line)
        else:
            lines[at] = line
    text = "\n".join(lines)
    if added and heading.strip() in text:
        text = text.rstrip("\n") + "\n" + "\n".join(added)
    elif added:
        text = (text + "\n\n" if text else "") + heading + "\n".join(added)
    return cut(text, DESCRIPTION_LIMIT)


GUESTS_HEADING = "Other attendees (from the imported file):\n"
DESCRIPTION_LIMIT = 10_000
