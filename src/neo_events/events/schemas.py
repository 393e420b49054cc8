"""Event bodies (SPEC §4): what a client sends and the event object it reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails

from neo_events import fields
from neo_events.events.access import Role
from neo_events.events.days import parse_day
from neo_events.events.rrule import zone_named
from neo_events.fields import NO_CONTROLS, NO_NUL, Instant, VersionNumber, supported_day
from neo_events.reminders.schemas import ReminderRead

MAX_LIST = 1000  # exdates and overrides per series


def _known_zone(name: str) -> str:
    zone_named(name)  # RecurrenceError, a ValueError: the 422 names the zone
    return name


def _as_icalendar_carries(value: str) -> str:
    """Line breaks as `\n`, no leading byte-order marks: what iCalendar carries (RFC 5545
    writes one line break, `\n`, and readers drop a leading U+FEFF), so that every export
    (.ics, feed, CalDAV) reads back as the text is stored (an outside attack found `a\rb`
    read back as `a\nb`). Browsers send a textarea's line breaks as CR LF."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.lstrip("\ufeff")


def stripped(value: str) -> str:
    """A title or a location as it is stored: without the blanks and byte-order marks around
    it (an import trims SUMMARY and LOCATION with this too: `ical/properties.text`)."""
    value = _as_icalendar_carries(value).strip()
    while value.startswith("\ufeff"):  # marks and blanks, in any order
        value = value.lstrip("\ufeff").strip()
    return value


def _a_title(value: str) -> str:
    value = stripped(value)
    if not value:  # a byte-order mark alone
        raise ValueError("must not be empty")
    return value


# Constraints first (strip, then lengths), then the NUL check, then what iCalendar carries.
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    NO_NUL,
    NO_CONTROLS,
    AfterValidator(_a_title),
]
Description = Annotated[
    str,
    StringConstraints(max_length=10_000),
    NO_NUL,
    NO_CONTROLS,
    AfterValidator(_as_icalendar_carries),
]
Location = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500),
    NO_NUL,
    NO_CONTROLS,
    AfterValidator(stripped),
]
TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_zone)]
RulePattern = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NO_NUL
]
Transparency = Literal["opaque", "transparent"]


def _a_day(value: object) -> object:
    """A date is `YYYY-MM-DD` (SPEC §4), never an instant: pydantic's date took
    `2027-12-24T00:00:00Z` as the 24th, whatever the zone meant."""
    if isinstance(value, str) and parse_day(value) is None:
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_a_day), AfterValidator(supported_day)]
_INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)


def _day_or_instant(value: object) -> date | datetime:
    """A date (`YYYY-MM-DD`: an all-day series' occurrence) or an instant with an offset."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return supported_day(value)
    if isinstance(value, str):
        if (day := parse_day(value)) is not None:
            return supported_day(day)
        if (instant := fields.plain_instant(value)) is not None:
            return instant  # what _INSTANT would read, read quicker
    return _INSTANT.validate_python(value)


# An occurrence key: an instant, or for an all-day series a date.
DayOrInstant = Annotated[
    date | datetime,
    PlainValidator(_day_or_instant),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]


class OverrideIn(BaseModel):
    """One occurrence changed on its own, found by its original start."""

    model_config = ConfigDict(extra="ignore")

    recurrence_id: DayOrInstant
    start_time: Instant | None = None
    end_time: Instant | None = None
    start_date: Day | None = Field(default=None, description="all-day series: the new start")
    end_date: Day | None = Field(default=None, description="all-day series: the new end")
    title: Title | None = None
    description: Description | None = None
    location: Location | None = None


class EventCreate(BaseModel):
    """A new event; read-only fields a client may echo back are ignored."""

    model_config = ConfigDict(extra="ignore")

    title: Title
    description: Description | None = None
    start_time: Instant | None = Field(default=None, description="required unless all_day")
    end_time: Instant | None = Field(default=None, description="required unless all_day")
    timezone: TimeZoneName = "UTC"
    location: Location | None = None
    all_day: bool = False
    start_date: Day | None = Field(default=None, description="all-day events: the first day")
    end_date: Day | None = Field(
        default=None, description="all-day events: the day after the last (default start + 1)"
    )
    transparency: Transparency | None = Field(
        default=None, description="default: opaque for timed events, transparent for all-day"
    )
    is_recurring: bool | None = Field(
        default=None, description="default: true if rdates are given, else false"
    )
    recurrence_pattern: RulePattern | None = None
    exdates: Annotated[list[DayOrInstant], Field(max_length=MAX_LIST)] = []
    rdates: Annotated[list[DayOrInstant], Field(max_length=MAX_LIST)] = []
    overrides: Annotated[list[OverrideIn], Field(max_length=MAX_LIST)] = []

    @model_validator(mode="wrap")
    @classmethod
    def _times_unless_all_day(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """start_time and end_time are required unless all_day: missing ones are reported
        with every other field error, as a required field's are."""
        missing: list[InitErrorDetails] = []
        if isinstance(data, dict) and data.get("all_day", False) is False:
            missing = [
                {"type": "missing", "loc": (name,), "input": data}
                for name in ("start_time", "end_time")
                if data.get(name) is None
            ]
        try:
            model = handler(data)
        except ValidationError as exc:
            if not missing:
                raise
            errors = exc.errors(include_url=False)
            raise ValidationError.from_exception_data(
                exc.title, [*(cast(InitErrorDetails, e) for e in errors), *missing]
            ) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, missing)
        return model


class EventUpdate(BaseModel):
    """Any subset of an event's content (PUT and PATCH are both partial)."""

    model_config = ConfigDict(extra="ignore")

    title: Title | None = None
    description: Description | None = None
    start_time: Instant | None = None
    end_time: Instant | None = None
    timezone: TimeZoneName | None = None
    location: Location | None = None
    all_day: bool | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    transparency: Transparency | None = None
    is_recurring: bool | None = None
    recurrence_pattern: RulePattern | None = None
    exdates: Annotated[list[DayOrInstant], Field(max_length=MAX_LIST)] | None = None
    rdates: Annotated[list[DayOrInstant], Field(max_length=MAX_LIST)] | None = None
    overrides: Annotated[list[OverrideIn], Field(max_length=MAX_LIST)] | None = None
    base_version: VersionNumber | None = Field(
        default=None, description="the version this edit started from: enables a three-way merge"
    )


class OccurrenceUpdate(BaseModel):
    """A change to one occurrence (or, with scope=following, to it and those after it);
    a null reverts that field to the series' value."""

    model_config = ConfigDict(extra="ignore")

    start_time: Instant | None = None
    end_time: Instant | None = None
    start_date: Day | None = Field(default=None, description="all-day series")
    end_date: Day | None = Field(default=None, description="all-day series")
    title: Title | None = None
    description: Description | None = None
    location: Location | None = None


class BatchCreate(BaseModel):
    events: Annotated[list[EventCreate], Field(min_length=1, max_length=500)]


class UserRef(BaseModel):
    id: int
    username: str


class PermissionRead(BaseModel):
    user_id: int
    username: str
    role: Role
    granted_by: UserRef | None
    granted_at: datetime


ResponseName = Literal["needs_action", "accepted", "tentative", "declined"]


class AttendeeRead(BaseModel):
    """Someone invited to the event (SPEC §13), the organizer included, and their answer
    for the whole series."""

    user_id: int
    username: str
    response: ResponseName
    comment: str | None
    optional: bool
    organizer: bool = False
    invited_by: UserRef | None
    invited_at: datetime
    responded_at: datetime | None


class OverrideRead(BaseModel):
    recurrence_id: datetime | date
    start_time: datetime | None = None
    end_time: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    title: str | None = None
    description: str | None = None
    location: str | None = None


class EventContentRead(BaseModel):
    """An event's content as the event object shows it: what each version keeps, and what a
    version's snapshot shows (SPEC §6)."""

    title: str
    description: str | None
    start_time: datetime
    end_time: datetime
    timezone: str
    location: str | None
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    transparency: Transparency = "opaque"
    is_recurring: bool
    recurrence_pattern: str | None
    exdates: list[datetime | date]
    rdates: list[datetime | date] = Field(default_factory=list)
    overrides: list[OverrideRead]


class _Identified(BaseModel):
    id: int


class EventRead(EventContentRead, _Identified):
    """The event object of SPEC §4: its id, its content, then the rest (a model's fields
    follow its bases from the last: `id` leads, as it always has)."""

    version: int
    owner: UserRef
    my_role: Role
    permissions: list[PermissionRead]
    # Who is invited and how they answered (SPEC §13); empty until someone is invited.
    attendees: list[AttendeeRead] = Field(default_factory=list)
    my_response: ResponseName | None = None
    # The caller's own reminders (SPEC §14), wherever an event object appears.
    my_reminders: list[ReminderRead] = Field(default_factory=list)
    split_from: int | None = Field(
        default=None,
        description="the series this one continues, when it was split off "
        "(`scope=following`); null otherwise",
    )
    created_at: datetime
    created_by: UserRef
    updated_at: datetime
    updated_by: UserRef


class ConflictRead(BaseModel):
    """An occurrence this write overlaps; someone else's private event shows as "busy"
    without an id."""

    event_id: int | None
    title: str
    start_time: datetime
    end_time: datetime


class BusyRead(BaseModel):
    """A clash in the calendar of someone who is not yet the caller's contact (SPEC §7):
    that they are busy then, and nothing else — no time, no title."""

    user_id: int
    busy: Literal[True]


ClashRead = ConflictRead | BusyRead


class EventCreated(EventRead):
    """The event after a write that checks schedule conflicts (`?conflicts=`)."""

    conflicts: list[ClashRead] = Field(
        default=[],
        description="what the write overlaps (none with `?conflicts=ignore`). Absent only from"
        " a create the database failed after writing, before its check finished: the event"
        " stands, and `GET /events/{id}/conflicts` asks again",
    )


class EventUpdated(EventCreated):
    """The event after a PUT/PATCH; `merged` says a three-way merge combined it with others'."""

    merged: bool = False


class OccurrenceRead(EventRead):
    """One occurrence in a windowed listing: the event with that occurrence's times."""

    recurrence_id: datetime | date | None = Field(
        description="the occurrence's original start (its date for an all-day series); "
        "null for a single event"
    )


class OccurrenceEdited(EventCreated):
    """The series after an occurrence write; after a split, the new series (`split_from`
    names the series it continues)."""


class EventList(BaseModel):
    items: list[EventRead]
    next_cursor: str | None


class OccurrenceList(BaseModel):
    items: list[OccurrenceRead]
    next_cursor: str | None


class EventBatch(BaseModel):
    items: list[EventCreated]


def model_fields_set(model: BaseModel) -> dict[str, Any]:
    """The fields a client actually sent (explicit nulls included)."""
    return {name: getattr(model, name) for name in model.model_fields_set}
