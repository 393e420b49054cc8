"""The cross-field rules an event's content obeys, and the one function that applies them:
`build_content`, content with changes applied (end after start, a rule only on a recurring
event, an all-day event's dates and the times they imply, exceptions on real occurrences),
for every write (the API, a batch, an import, CalDAV, a rollback or merge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo_events.errors import ValidationFailed
from neo_events.events import days, occurrence_keys, recurrence
from neo_events.events.all_day_times import all_day_times
from neo_events.events.content import (
    Content,
    as_date,
    canonical_value,
    iso,
    moment,
    occurrence_order,
    parse_iso,
    series_of,
)
from neo_events.events.rrule import localize, until_by_date, wall_time, zone_named
from neo_events.events.sizes import check_size
from neo_events.fields import EARLIEST, LATEST, RANGE_MESSAGE, supported_day
from neo_events.history.diff import CONTENT_FIELDS, complete


class UnsupportedRecurrence(ValidationFailed):
    code = "unsupported_recurrence"
    title = "This recurrence rule is not supported"


Loc = Sequence[str | int]
REQUIRED = (
    "title",
    "start_time",
    "end_time",
    "timezone",
    "all_day",
    "is_recurring",
    "exdates",
    "rdates",
    "overrides",
)
OVERRIDE_FIELDS = tuple(
    ["start_time", "end_time", "start_date", "end_date", "title", "description", "location"]
)
TRANSPARENCY = ("opaque", "transparent")


def default_transparency(all_day: bool) -> str:
    """As in Google Calendar: a timed event is busy time, an all-day one is not."""
    return "transparent" if all_day else "opaque"


def build_content(
    current: Mapping[str, Any] | None, changes: Mapping[str, Any], *, loc: Loc = ()
) -> Content:
    """`current` with `changes` applied, checked against every cross-field rule.

    Raises ValidationFailed whose `loc` starts with `loc` (a batch passes its item index).
    When a change moves a series (start, zone or rule) without restating its exceptions,
    exceptions that no longer fall on an occurrence are dropped, as calendar apps do.
    """
    prefix = list(loc)
    current = complete(current) if current else None
    content: Content = dict(current) if current else {}
    for name in CONTENT_FIELDS:
        if name in changes:
            content[name] = canonical_value(name, changes[name])
    content.setdefault("timezone", "UTC")
    for name, default in (
        ("description", None),
        ("location", None),
        ("all_day", False),
        ("start_date", None),
        ("end_date", None),
        ("transparency", None),
        ("is_recurring", False),
        ("recurrence_pattern", None),
        ("exdates", []),
        ("rdates", []),
        ("overrides", []),
    ):
        content.setdefault(name, default)
    unsaid = content["is_recurring"] is None or "is_recurring" not in changes
    if content["rdates"] and unsaid:
        content["is_recurring"] = True  # an event with rdates is a series (SPEC §4)
    if current is None and content["is_recurring"] is None:
        content["is_recurring"] = False
    if current and changes.get("is_recurring") is False and "recurrence_pattern" not in changes:
        content["recurrence_pattern"] = None
    if not content["is_recurring"] and not {"exdates", "overrides", "rdates"} & changes.keys():
        content["exdates"], content["overrides"], content["rdates"] = [], [], []

    def fail(field: Sequence[str | int], msg: str) -> ValidationFailed:
        return ValidationFailed.field([*prefix, *field], msg)

    if content["all_day"] is None:
        raise fail(["all_day"], "may not be null")
    converted = current is not None and content["all_day"] != current["all_day"]
    if content["transparency"] is None or (
        converted
        and "transparency" not in changes
        and current is not None
        and current["transparency"] == default_transparency(current["all_day"])
    ):
        content["transparency"] = default_transparency(content["all_day"])
    if converted:
        _convert_exceptions(content, changes)
    if content["all_day"]:
        all_day_times(current, content, changes, fail)
    else:
        for name in ("start_date", "end_date"):
            if changes.get(name) is not None:
                raise fail([name], "only an all-day event has dates (send all_day: true)")
            content[name] = None
    for name in REQUIRED:
        if content.get(name) is None:
            raise fail([name], "may not be null")
    start, end = parse_iso(content["start_time"]), parse_iso(content["end_time"])
    if end <= start:
        raise fail(["end_time"], "must be after start_time")
    # What a client sends is checked on the way in (fields.Instant, Day); this holds what a
    # write works out too (a split's new series): the dates of an all-day event, whose
    # midnights east of UTC lie before 1900 on its first day, else the times.
    for name in ("start_date", "end_date") if content["all_day"] else ():
        try:
            supported_day(as_date(content[name]))  # as the schema's Day holds them
        except ValueError as exc:
            raise fail([name], str(exc)) from None
    for name, instant in () if content["all_day"] else (("start_time", start), ("end_time", end)):
        if not EARLIEST <= instant <= LATEST:
            raise fail([name], RANGE_MESSAGE)
    # Whether what decides the occurrences changed: if not, the rule was checked (and made
    # canonical) when it was written, and so were its exceptions. An edit costs what it
    # changes, not what the series holds.
    moved = current is None or any(content[name] != current[name] for name in _SHAPE)
    if content["is_recurring"]:
        if not content["recurrence_pattern"] and not content["rdates"]:
            raise fail(
                ["recurrence_pattern"], "is required when is_recurring is true (or give rdates)"
            )
        if content["recurrence_pattern"] and moved:
            content["recurrence_pattern"] = _checked_rule(content, prefix, fail)
    else:
        if content["recurrence_pattern"] is not None:
            raise fail(["recurrence_pattern"], "must be null unless is_recurring is true")
        for name in ("exdates", "rdates", "overrides"):
            if content[name]:
                raise fail([name], "only a recurring event has occurrences to change")
        check_size(current, content, 0, fail)
        return content

    # Exceptions of a series that did not move: only new ones are checked.
    known = _known_ids(current) if not moved else set()
    content["rdates"] = _check_rdates(
        content, strict="rdates" in changes or not moved, known=known, fail=fail
    )
    # exdates and overrides name occurrences of the series with its rdates: asked together
    series = series_of({**content, "exdates": [], "overrides": []})
    asked = [*content["exdates"], *(o["recurrence_id"] for o in content["overrides"])]
    originals = _originals_among(series, content, asked, known)
    content["exdates"] = _check_exdates(
        content, originals, strict="exdates" in changes or not moved, known=known, fail=fail
    )
    content["overrides"] = _check_overrides(
        content,
        series,
        originals,
        strict="overrides" in changes or not moved,
        known=known,
        fail=fail,
    )
    check_size(current, content, 0, fail)
    return content


_ALL_DAY_RULE = ("FREQ=HOURLY", "FREQ=MINUTELY", "BYHOUR=", "BYMINUTE=", "BYSECOND=")


def _checked_rule(content: Content, prefix: list[str | int], fail: Any) -> str:
    """The canonical rule; an all-day event's recurs by date, in floating time."""
    rule = content["recurrence_pattern"]
    try:
        if content["all_day"]:
            upper = rule.upper()
            if any(part in upper for part in _ALL_DAY_RULE):
                raise fail(
                    ["recurrence_pattern"],
                    "an all-day event recurs by date: no FREQ=HOURLY/MINUTELY, BYHOUR, "
                    "BYMINUTE or BYSECOND",
                )
            start = days.floating(as_date(content["start_date"]))
            return until_by_date(recurrence.normalize_rule(rule, start=start, timezone="UTC"), UTC)
        return recurrence.normalize_rule(
            rule, start=parse_iso(content["start_time"]), timezone=content["timezone"]
        )
    except recurrence.UnsupportedRecurrence as exc:
        raise UnsupportedRecurrence.field([*prefix, "recurrence_pattern"], str(exc)) from None
    except recurrence.RecurrenceError as exc:
        raise fail(["recurrence_pattern"], str(exc)) from None


def _convert_exceptions(content: Content, changes: Mapping[str, Any]) -> None:
    """Exceptions not restated keep naming the same occurrences when an event turns
    all-day (an instant becomes its date in the event's zone) or timed (a date becomes that
    day's occurrence, at the new start's time there), and a rule not restated ends on the
    same day (`until_by_date`)."""
    zone = zone_named(content["timezone"])
    if content["recurrence_pattern"] and "recurrence_pattern" not in changes:
        ends_in = zone if content["all_day"] else UTC  # a floating rule's UNTIL is its date's
        content["recurrence_pattern"] = until_by_date(content["recurrence_pattern"], ends_in)
    clock = None if content["all_day"] else wall_time(parse_iso(content["start_time"]), zone)

    def convert(value: str) -> str:
        day = days.parse_day(value)
        if clock is None:
            return value if day else days.date_in(parse_iso(value), zone).isoformat()
        return iso(localize(datetime.combine(day, clock.time()), zone)) if day else value

    for name in ("exdates", "rdates"):
        if name not in changes:
            content[name] = sorted({convert(v) for v in content[name]}, key=occurrence_order)
    if "overrides" not in changes:
        moves = ("start_time", "end_time", "start_date", "end_date")
        content["overrides"] = [
            {k: v for k, v in o.items() if k not in moves}
            | {"recurrence_id": convert(o["recurrence_id"])}
            for o in content["overrides"]
        ]


# What decides which occurrences exist. An all-day event's start_time follows its date, but
# not one to one: two dates a zone skipped over share a midnight (Samoa, 30-31 December 2011).
_SHAPE = (
    "start_time",
    "start_date",
    "timezone",
    "all_day",
    "is_recurring",
    "recurrence_pattern",
    "rdates",
)


def _known_ids(current: Mapping[str, Any] | None) -> set[str]:
    if current is None:
        return set()
    return {
        *current["exdates"],
        *current["rdates"],
        *(o["recurrence_id"] for o in current["overrides"]),
    }


def _kind_error(content: Content, value: str) -> str | None:
    """Why an occurrence key is of the wrong kind for the event, or None."""
    is_day = days.parse_day(value) is not None
    if content["all_day"] and not is_day:
        return "must be a date (YYYY-MM-DD): the event is all-day"
    if not content["all_day"] and is_day:
        return "must be a time with an offset: the event is not all-day"
    return None


def _originals_among(
    series: recurrence.Series, content: Content, values: Sequence[str], known: set[str]
) -> set[datetime]:
    """Which of the occurrence keys not already known (and of the event's kind) are original
    starts of the series: checked together (`occurrence_keys.originals_among`), not one by one."""
    asked = [moment(v) for v in values if v not in known and _kind_error(content, v) is None]
    return occurrence_keys.originals_among(series, asked)


def _check_rdates(content: Content, *, strict: bool, known: set[str], fail: Any) -> list[str]:
    """Extra occurrences: after the start, of the event's kind, never one the rule has."""
    series = series_of({**content, "exdates": [], "overrides": [], "rdates": []})
    ruled = _originals_among(series, content, content["rdates"], known)
    kept = []
    for index, value in enumerate(content["rdates"]):
        if value in known:
            kept.append(value)
            continue
        problem = _kind_error(content, value)
        if problem is None and moment(value) <= series.start:
            problem = "must be after the event's start (which is its first occurrence)"
        if problem is None and moment(value) in ruled:
            problem = "is already an occurrence of this series"
        if problem is None:
            kept.append(value)
        elif strict:
            raise fail(["rdates", index], problem)
    return kept


def _check_exdates(
    content: Content, originals: set[datetime], *, strict: bool, known: set[str], fail: Any
) -> list[str]:
    kept = []
    for index, value in enumerate(content["exdates"]):
        problem = _kind_error(content, value)
        if problem is None and (value in known or moment(value) in originals):
            kept.append(value)
        elif strict:
            raise fail(
                ["exdates", index], problem or "is not the start of an occurrence of this series"
            )
    return kept


def _check_overrides(
    content: Content,
    series: recurrence.Series,
    originals: set[datetime],
    *,
    strict: bool,
    known: set[str],
    fail: Any,
) -> list[dict[str, Any]]:
    duration = series.end - series.start
    moves, other = (
        (("start_date", "end_date"), ("start_time", "end_time"))
        if content["all_day"]
        else (("start_time", "end_time"), ("start_date", "end_date"))
    )
    kept: dict[str, dict[str, Any]] = {}
    for index, override in enumerate(content["overrides"]):
        problem = _kind_error(content, override["recurrence_id"])
        if problem is not None:
            if strict:
                raise fail(["overrides", index, "recurrence_id"], problem)
            continue
        rid = moment(override["recurrence_id"])
        if override["recurrence_id"] not in known and rid not in originals:
            if strict:
                raise fail(
                    ["overrides", index, "recurrence_id"],
                    "is not the start of an occurrence of this series",
                )
            continue
        if override["recurrence_id"] in kept:
            raise fail(["overrides", index, "recurrence_id"], "occurs twice")
        for name in other:
            if override.get(name) is not None:
                raise fail(
                    ["overrides", index, name],
                    f"{'an all-day' if content['all_day'] else 'a timed'} occurrence moves by "
                    f"{' and '.join(moves)}",
                )
        start = moment(override[moves[0]]) if moves[0] in override else rid
        end = moment(override[moves[1]]) if moves[1] in override else start + duration
        if any(_kind_error(content, override[name]) for name in moves if name in override):
            raise fail(["overrides", index, moves[0]], "is of the wrong kind for this event")
        if end <= start:
            raise fail(["overrides", index, moves[1]], "must be after the occurrence's start")
        if "title" in override and not override["title"]:
            raise fail(["overrides", index, "title"], "must not be empty")
        kept[override["recurrence_id"]] = {"recurrence_id": override["recurrence_id"]} | {
            k: override[k] for k in OVERRIDE_FIELDS if k in override and k not in other
        }
    return [kept[k] for k in sorted(kept, key=occurrence_order)]
