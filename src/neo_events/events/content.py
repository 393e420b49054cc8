"""An event's content: one canonical form for snapshots, and the cross-field rules it obeys.

Content is a JSON-ready dict of the CONTENT_FIELDS with instants as UTC RFC 3339 strings.
Version snapshots, diffs and merges all use this form; the rules that relate one field to
another (end after start, a rule only on a recurring event, overrides on real occurrences)
live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo_events.errors import ValidationFailed
from neo_events.events import recurrence
from neo_events.history.diff import CONTENT_FIELDS
from neo_events.models import Event

Content = dict[str, Any]


class UnsupportedRecurrence(ValidationFailed):
    code = "unsupported_recurrence"
    title = "This recurrence rule is not supported"


Loc = Sequence[str | int]
REQUIRED = ("title", "start_time", "end_time", "timezone", "is_recurring", "exdates", "overrides")
OVERRIDE_FIELDS = ("start_time", "end_time", "title", "description", "location")


def iso(value: datetime) -> str:
    """An instant as the API writes it: UTC, `Z`."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def content_of(event: Event) -> Content:
    """The canonical content of a stored event."""
    return {
        "title": event.title,
        "description": event.description,
        "start_time": iso(event.start_time),
        "end_time": iso(event.end_time),
        "timezone": event.timezone,
        "location": event.location,
        "is_recurring": event.is_recurring,
        "recurrence_pattern": event.recurrence_pattern,
        "exdates": list(event.exdates),
        "overrides": [dict(o) for o in event.overrides],
    }


def canonical_value(name: str, value: Any) -> Any:
    """A value from a request schema in canonical form."""
    if isinstance(value, datetime):
        return iso(value)
    if name == "exdates" and value is not None:
        return sorted({iso(v) if isinstance(v, datetime) else v for v in value})
    if name == "overrides" and value is not None:
        items = []
        for item in value:
            raw = item.model_dump(exclude_unset=True) if hasattr(item, "model_dump") else item
            items.append({k: canonical_value(k, v) for k, v in raw.items() if v is not None})
        return items
    return value


def canonical_changes(changes: Mapping[str, Any]) -> Content:
    """Requested content changes in canonical form (comparable with snapshots)."""
    return {
        name: canonical_value(name, changes[name]) for name in CONTENT_FIELDS if name in changes
    }


def series_of(content: Mapping[Any, Any]) -> recurrence.Series:
    """The recurrence view of some content (or of an event row: start and end may already
    be datetimes)."""
    start, end = content["start_time"], content["end_time"]
    return recurrence.Series(
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
    )


def build_content(
    current: Mapping[str, Any] | None, changes: Mapping[str, Any], *, loc: Loc = ()
) -> Content:
    """`current` with `changes` applied, checked against every cross-field rule.

    Raises ValidationFailed whose `loc` starts with `loc` (a batch passes its item index).
    When a change moves a series (start, zone or rule) without restating its exceptions,
    exceptions that no longer fall on an occurrence are dropped, as calendar apps do.
    """
    prefix = list(loc)
    content: Content = dict(current) if current else {}
    for name in CONTENT_FIELDS:
        if name in changes:
            content[name] = canonical_value(name, changes[name])
    content.setdefault("timezone", "UTC")
    for name, default in (
        ("description", None),
        ("location", None),
        ("is_recurring", False),
        ("recurrence_pattern", None),
        ("exdates", []),
        ("overrides", []),
    ):
        content.setdefault(name, default)
    if current and changes.get("is_recurring") is False and "recurrence_pattern" not in changes:
        content["recurrence_pattern"] = None
    if not content["is_recurring"] and "exdates" not in changes and "overrides" not in changes:
        content["exdates"], content["overrides"] = [], []

    def fail(field: Sequence[str | int], msg: str) -> ValidationFailed:
        return ValidationFailed.field([*prefix, *field], msg)

    for name in REQUIRED:
        if content.get(name) is None:
            raise fail([name], "may not be null")
    start, end = parse_iso(content["start_time"]), parse_iso(content["end_time"])
    if end <= start:
        raise fail(["end_time"], "must be after start_time")
    if content["is_recurring"]:
        if not content["recurrence_pattern"]:
            raise fail(["recurrence_pattern"], "is required when is_recurring is true")
        try:
            content["recurrence_pattern"] = recurrence.normalize_rule(
                content["recurrence_pattern"], start=start, timezone=content["timezone"]
            )
        except recurrence.UnsupportedRecurrence as exc:
            raise UnsupportedRecurrence.field([*prefix, "recurrence_pattern"], str(exc)) from None
        except recurrence.RecurrenceError as exc:
            raise fail(["recurrence_pattern"], str(exc)) from None
    else:
        if content["recurrence_pattern"] is not None:
            raise fail(["recurrence_pattern"], "must be null unless is_recurring is true")
        for name in ("exdates", "overrides"):
            if content[name]:
                raise fail([name], "only a recurring event has occurrences to change")
        return content

    # Exceptions of a series that did not move were checked when they were written: only new
    # ones are checked, so an edit costs what it changes, not what the series holds.
    moved = current is None or any(content[name] != current[name] for name in _SHAPE)
    known = _known_ids(current) if not moved else set()
    content["exdates"] = _check_exdates(
        content, strict="exdates" in changes or not moved, known=known, fail=fail
    )
    content["overrides"] = _check_overrides(
        content, strict="overrides" in changes or not moved, known=known, fail=fail
    )
    return content


_SHAPE = ("start_time", "timezone", "is_recurring", "recurrence_pattern")  # what occurrences exist


def _known_ids(current: Mapping[str, Any] | None) -> set[str]:
    if current is None:
        return set()
    return {*current["exdates"], *(o["recurrence_id"] for o in current["overrides"])}


def _check_exdates(content: Content, *, strict: bool, known: set[str], fail: Any) -> list[str]:
    series = series_of({**content, "exdates": [], "overrides": []})
    kept = []
    for index, value in enumerate(content["exdates"]):
        if value in known or recurrence.occurrence_at(series, parse_iso(value)):
            kept.append(value)
        elif strict:
            raise fail(["exdates", index], "is not the start of an occurrence of this series")
    return kept


def _check_overrides(
    content: Content, *, strict: bool, known: set[str], fail: Any
) -> list[dict[str, Any]]:
    series = series_of({**content, "exdates": [], "overrides": []})
    duration = series.end - series.start
    kept: dict[str, dict[str, Any]] = {}
    for index, override in enumerate(content["overrides"]):
        rid = parse_iso(override["recurrence_id"])
        if override["recurrence_id"] not in known and not recurrence.occurrence_at(series, rid):
            if strict:
                raise fail(
                    ["overrides", index, "recurrence_id"],
                    "is not the start of an occurrence of this series",
                )
            continue
        if override["recurrence_id"] in kept:
            raise fail(["overrides", index, "recurrence_id"], "occurs twice")
        start = parse_iso(override["start_time"]) if "start_time" in override else rid
        end = parse_iso(override["end_time"]) if "end_time" in override else start + duration
        if end <= start:
            raise fail(["overrides", index, "end_time"], "must be after the occurrence's start")
        if "title" in override and not override["title"]:
            raise fail(["overrides", index, "title"], "must not be empty")
        kept[override["recurrence_id"]] = {"recurrence_id": override["recurrence_id"]} | {
            k: override[k] for k in OVERRIDE_FIELDS if k in override
        }
    return [kept[k] for k in sorted(kept, key=parse_iso)]


def apply_content(event: Event, content: Mapping[str, Any]) -> None:
    """Write canonical content onto the row, with the span the window query prunes by."""
    event.title = content["title"]
    event.description = content["description"]
    event.start_time = parse_iso(content["start_time"])
    event.end_time = parse_iso(content["end_time"])
    event.timezone = content["timezone"]
    event.location = content["location"]
    event.is_recurring = content["is_recurring"]
    event.recurrence_pattern = content["recurrence_pattern"]
    event.exdates = list(content["exdates"])
    event.overrides = [dict(o) for o in content["overrides"]]
    event.span_start, event.span_end = span_of(series_of(content))


def span_of(series: recurrence.Series) -> tuple[datetime, datetime | None]:
    """The instants every occurrence lies within; no end for a series without one."""
    moved_starts = [o.start for o in series.overrides if o.start is not None]
    return min([series.start, *moved_starts]), recurrence.series_end(series)
