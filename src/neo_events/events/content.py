"""An event's content: one canonical form for snapshots, and its views (series, row, span).

Content is a JSON-ready dict of the CONTENT_FIELDS with instants as UTC RFC 3339 strings.
Version snapshots, diffs and merges all use this form. The rules that relate one field to
another (end after start, a rule only on a recurring event, overrides on real occurrences)
are `events.validation`'s, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import flag_modified

from neo_events.events import count_ends, days, plans, recurrence
from neo_events.events.rrule import utc, zone_named
from neo_events.history.diff import CONTENT_FIELDS, complete
from neo_events.live.feed import changed_fields
from neo_events.models import Event
from neo_events.timezones import DroppedZone, stored_zone

Content = dict[str, Any]


def iso(value: datetime) -> str:
    """An instant as the API writes it: UTC, `Z`."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def moment(value: str) -> datetime:
    """An occurrence key as an instant: an RFC 3339 instant, or a date (all-day series) as
    its floating instant (see events/days.py)."""
    day = days.parse_day(value)
    return days.floating(day) if day is not None else parse_iso(value)


def occurrence_key(content: Mapping[str, Any], value: date | datetime) -> tuple[str, datetime]:
    """How the content names an occurrence given as a date or an instant, and where its
    series has it: an instant for a timed event; a date, and its floating instant, for an
    all-day one (an instant given for it names the date it falls on in the event's zone).
    A date never names a timed event's occurrence: ValueError."""
    if content["all_day"]:
        if isinstance(value, datetime):
            value = days.date_in(value, zone_named(content["timezone"]))
        return value.isoformat(), days.floating(value)
    if not isinstance(value, datetime):
        raise ValueError("a timed event's occurrence is named by its start instant")
    return iso(value), value


def as_date(value: date | str) -> date:
    """A date, or its ISO 8601 text, as a date."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def content_of(event: Event) -> Content:
    """The canonical content of a stored event."""
    return {
        "title": event.title,
        "description": event.description,
        "all_day": event.all_day,
        "start_date": event.start_date.isoformat() if event.start_date else None,
        "end_date": event.end_date.isoformat() if event.end_date else None,
        "start_time": iso(event.start_time),
        "end_time": iso(event.end_time),
        "timezone": event.timezone,
        "location": event.location,
        "transparency": event.transparency,
        "is_recurring": event.is_recurring,
        "recurrence_pattern": event.recurrence_pattern,
        "exdates": list(event.exdates),
        "rdates": list(event.rdates),
        "overrides": [dict(o) for o in event.overrides],
    }


def _key(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_value(name: str, value: Any) -> Any:
    """A value from a request schema in canonical form."""
    if isinstance(value, datetime | date):
        return _key(value)
    if name in ("exdates", "rdates") and value is not None:
        kept: dict[str, Any] = {}  # one of each, ordered as `occurrence_order` orders them
        for v in value:
            kept.setdefault(_key(v), v)
        return sorted(kept, key=lambda k: _order_of(kept[k], k))
    if name == "overrides" and value is not None:
        items = []
        for item in value:
            raw = item.model_dump(exclude_unset=True) if hasattr(item, "model_dump") else item
            # an override's fields are times, dates and texts (OverrideIn): no lists
            items.append({k: _key(v) for k, v in raw.items() if v is not None})
        return items
    return value


def _order_of(value: Any, key: str) -> tuple[int, datetime]:
    """`occurrence_order(key)` of the occurrence key `value` was written as (`_key`), read
    off the value itself if it is an aware instant or a date: not its text parsed again.
    (In UTC: two times of one zone compare by their wall clocks, a fold's apart.)"""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return occurrence_order(key)
        return (1, value if value.tzinfo is UTC else value.astimezone(UTC))
    if isinstance(value, date):
        return (0, days.floating(value))
    return occurrence_order(key)


def canonical_changes(changes: Mapping[str, Any]) -> Content:
    """Requested content changes in canonical form (comparable with snapshots)."""
    return {
        name: canonical_value(name, changes[name]) for name in CONTENT_FIELDS if name in changes
    }


def occurrence_order(value: str) -> tuple[int, datetime]:
    """The order of occurrence keys (dates of all-day series, instants of timed ones)."""
    day = days.parse_day(value)
    return (0, days.floating(day)) if day is not None else (1, parse_iso(value))


def series_of(content: Mapping[Any, Any]) -> recurrence.Series:
    """The recurrence view of some content (or of an event row: start and end may already
    be datetimes, dates may be dates). An all-day event's occurrences are placed in its own
    zone (a viewer's: `series_types.zoned`)."""
    if content.get("all_day"):
        series = recurrence.Series(
            start=days.floating(as_date(content["start_date"])),
            end=days.floating(as_date(content["end_date"])),
            timezone="UTC",
            rule=content["recurrence_pattern"] if content["is_recurring"] else None,
            exdates=tuple(moment(x) for x in content["exdates"]),
            overrides=tuple(
                recurrence.Override(
                    recurrence_id=moment(o["recurrence_id"]),
                    start=moment(o["start_date"]) if "start_date" in o else None,
                    end=moment(o["end_date"]) if "end_date" in o else None,
                    fields={k: o[k] for k in ("title", "description", "location") if k in o},
                )
                for o in content["overrides"]
            ),
            rdates=tuple(sorted(moment(x) for x in content.get("rdates") or ())),
            all_day_zone=content["timezone"],
        )
        return remembered(series, content.get("count_end"))
    start, end = content["start_time"], content["end_time"]
    series = recurrence.Series(
        start=start if isinstance(start, datetime) else parse_iso(start),
        end=end if isinstance(end, datetime) else parse_iso(end),
        timezone=content["timezone"],
        rule=content["recurrence_pattern"] if content["is_recurring"] else None,
        exdates=tuple(parse_iso(x) for x in content["exdates"]),
        overrides=tuple(
            recurrence.Override(
                recurrence_id=parse_iso(o["recurrence_id"]),
                start=parse_iso(o["start_time"]) if "start_time" in o else None,
                end=parse_iso(o["end_time"]) if "end_time" in o else None,
                fields={k: o[k] for k in ("title", "description", "location") if k in o},
            )
            for o in content["overrides"]
        ),
        rdates=tuple(sorted(parse_iso(x) for x in content.get("rdates") or ())),
    )
    return remembered(series, content.get("count_end"))


def remembered(series: recurrence.Series, count_end: str | None) -> recurrence.Series:
    """The series, its plan told where its COUNT rule ends if its row said so (`count_end`):
    a series built from a row, or kept from a write (`expansions.keep_written`). Not that of
    a timed series read in place of a zone the rules dropped: it is where the rule ended in
    that zone (`timezones.DroppedZone`)."""
    if count_end and series.rule is not None and not isinstance(series.timezone, DroppedZone):
        count_ends.remember(series.rule, utc(series.start), series.timezone, count_end)
    return series


def count_end_of(series: recurrence.Series) -> str | None:
    """What `events.count_end` stores of a series: where its COUNT rule ends, or None."""
    if series.rule is None or "COUNT=" not in series.rule:
        return None
    return plans.count_end_text(plans.plan_of(series.rule, utc(series.start), series.timezone))


@orm_event.listens_for(Event, "load")
@orm_event.listens_for(Event, "refresh")
def _remember_count_end(event: Event, *_: Any) -> None:
    """An event loaded with its `count_end` tells the plans where its COUNT rule ends, before
    anything expands it (`count_ends.remember`). Reads only what the query loaded."""
    loaded = inspect(event).dict
    if not loaded.get("count_end") or not all(name in loaded for name in _PLAN_COLUMNS):
        return
    series_of({**{name: loaded[name] for name in _PLAN_COLUMNS}, **_NO_EXCEPTIONS})


# What a series' plan depends on (`series_of` of these alone builds its rule's plan).
_PLAN_COLUMNS = (
    "all_day",
    "start_date",
    "end_date",
    "start_time",
    "end_time",
    "timezone",
    "is_recurring",
    "recurrence_pattern",
    "count_end",
)
_NO_EXCEPTIONS: dict[str, Any] = {"exdates": (), "overrides": (), "rdates": ()}


# Fields that say nothing of when an event is: a change of only these checks no conflict,
# moves no reminder and keeps the span.
TEXT_FIELDS = frozenset({"title", "description", "location"})
# The rest: when it is, and whether it takes the time (a change is checked for conflicts).
SCHEDULE_FIELDS = tuple(name for name in CONTENT_FIELDS if name not in TEXT_FIELDS)
# What the span (`span_of`) depends on: the schedule but whether it takes the time.
_SPAN_FIELDS = frozenset(SCHEDULE_FIELDS) - {"transparency"}
# What an override says of when its occurrence is (the rest of it is text).
_OVERRIDE_TIMES = ("start_time", "end_time", "start_date", "end_date")


def same_times(before: Mapping[str, Any], after: Mapping[str, Any], changed: Iterable[str]) -> bool:
    """Whether a change of these fields leaves every occurrence where it was: only texts
    and transparency changed, or overrides only in their texts (an occurrence's new title).
    Such a change moves no reminder (their messages' titles are read as they fire)."""
    rest = set(changed) - TEXT_FIELDS - {"transparency"}
    if rest != {"overrides"}:
        return not rest
    return _override_times(before["overrides"]) == _override_times(after["overrides"])


def _override_times(overrides: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """The times of the overrides that move their occurrence; one of texts only is where its
    occurrence is (recurrence.Override: no start is the recurrence id's)."""
    return {
        o["recurrence_id"]: times
        for o in overrides
        if (times := tuple((k, o[k]) for k in _OVERRIDE_TIMES if k in o))
    }


def served(content: Mapping[str, Any]) -> Mapping[str, Any]:
    """Content (a version's snapshot, say) with its zone as the zone rules know it
    (`timezones.stored_zone`: a name they dropped is UTC); itself if it is."""
    zone = content.get("timezone")
    if isinstance(zone, str) and zone != (known := stored_zone(zone)):
        return {**content, "timezone": known}
    return content


def apply_content(
    event: Event,
    content: Mapping[str, Any],
    *,
    before: Mapping[str, Any] | None = None,
    series: recurrence.Series | None = None,
) -> None:
    """Write canonical content onto the row, with the span the window query prunes by
    (content from a snapshot older than a field gets that field's default).

    `before`: the row's content as it stands (`content_of`), when the caller has it: only the
    fields that differ are written, and the span is worked out again only if a field it
    depends on changed (a retitled series keeps its span). `series`: the content's
    `series_of`, when the caller has built it (a create's check has: a series of 3,000
    exceptions is 5 ms to build)."""
    content = complete(content)
    # A zone name the rules dropped is read as UTC (`timezones.stored_zone`), from a row or a
    # version's snapshot (an event as it was, `history.service.past_event`); an edit stores
    # the zone it shows, on SQLite (whose flush writes the columns changed) as on PostgreSQL
    # (whose edit writes every column), so an edit's zone is always among those written, and
    # an event read in place of a dropped zone has its span and COUNT end worked out again.
    if inspect(event).persistent:
        flag_modified(event, "timezone")
    content = served(content)
    if isinstance(event.timezone, DroppedZone):
        before = None
    if before is not None:
        changed = changed_fields(before, content, CONTENT_FIELDS)
        if not _SPAN_FIELDS.isdisjoint(changed):
            _apply(event, content, series)
            return
        for name in changed:  # none the span depends on: text, transparency
            setattr(event, name, content[name])
        return
    _apply(event, content, series)


def _apply(event: Event, content: Mapping[str, Any], series: recurrence.Series | None) -> None:
    event.title = content["title"]
    event.description = content["description"]
    event.start_time = parse_iso(content["start_time"])
    event.end_time = parse_iso(content["end_time"])
    event.timezone = content["timezone"]
    event.location = content["location"]
    event.all_day = content["all_day"]
    event.start_date = as_date(content["start_date"]) if content["start_date"] else None
    event.end_date = as_date(content["end_date"]) if content["end_date"] else None
    event.transparency = content["transparency"]
    event.is_recurring = content["is_recurring"]
    event.recurrence_pattern = content["recurrence_pattern"]
    event.exdates = list(content["exdates"])
    event.rdates = list(content["rdates"])
    event.overrides = [dict(o) for o in content["overrides"]]
    series = series or series_of(content)
    event.count_end = count_end_of(series)
    span_start, span_end = span_of(series)
    if content["all_day"]:  # its dates fall at a different instant in every viewer's zone
        span_start -= days.REACH
        span_end = None if span_end is None else span_end + days.REACH
    event.span_start, event.span_end = span_start, span_end


def span_of(series: recurrence.Series) -> tuple[datetime, datetime | None]:
    """The instants every occurrence lies within; no end for a series without one."""
    moved_starts = [o.start for o in series.overrides if o.start is not None]
    return min([series.start, *moved_starts]), recurrence.series_end(series)
