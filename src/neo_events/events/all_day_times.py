"""An all-day event's dates and the times they imply (their midnights in its zone), as a
write gives them: dates derived when a timed event turns all-day, a move that keeps the
length, and which times a client may send with them (what it read, never others)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from neo_events.events import days
from neo_events.events.content import Content, as_date, iso, parse_iso
from neo_events.events.rrule import zone_named


def all_day_times(
    current: Content | None, content: Content, changes: Mapping[str, Any], fail: Any
) -> None:
    """An all-day event's dates (from its times when a timed event is converted) and the
    times they imply: their midnights in its zone. Times sent with it must be those or an
    echo of what the client read — the event's times, or the midnights of its dates (sent or
    current) in one zone, as a listing with `timezone=` shows them — never other times."""
    zone = zone_named(content["timezone"])
    if content["start_date"] is None:
        if current is None or current["all_day"]:
            raise fail(["start_date"], "is required for an all-day event")
        # a timed event becomes all-day: the dates it touched in its zone
        start = days.date_in(parse_iso(current["start_time"]), zone)
        last = days.date_in(parse_iso(current["end_time"]) - timedelta(microseconds=1), zone)
        content["start_date"] = start.isoformat()
        content["end_date"] = max(last + timedelta(days=1), start + timedelta(days=1)).isoformat()
    start_day = as_date(content["start_date"])
    moved_only = "start_date" in changes and "end_date" not in changes
    if moved_only and current is not None and current["all_day"] and current["start_date"]:
        length = as_date(current["end_date"]) - as_date(current["start_date"])  # a move keeps it
        content["end_date"] = (start_day + length).isoformat()
    if content["end_date"] is None:
        content["end_date"] = (start_day + timedelta(days=1)).isoformat()
    end_day = as_date(content["end_date"])
    if end_day <= start_day:
        raise fail(["end_date"], "must be after start_date (it is exclusive)")
    times = {
        "start_time": iso(days.midnight(start_day, zone)),
        "end_time": iso(days.midnight(end_day, zone)),
    }
    elsewhere: dict[str, datetime] = {}  # times sent that are neither, by field
    for name, value in times.items():
        sent = changes.get(name)
        sent = iso(sent) if isinstance(sent, datetime) else sent  # a create's are instants
        if sent is not None and sent != value and (current is None or sent != current[name]):
            elsewhere[name] = parse_iso(sent)
        content[name] = value
    spans = [{"start_time": start_day, "end_time": end_day}]  # each time's date, by field
    if current is not None and current["all_day"] and current["start_date"]:
        read = {"start_time": current["start_date"], "end_time": current["end_date"]}
        spans.append({name: as_date(day) for name, day in read.items()})

    def echoed(names: Sequence[str]) -> bool:
        return any(
            days.midnights_somewhere((span[name], elsewhere[name]) for name in names)
            for span in spans
        )

    if elsewhere and not echoed(list(elsewhere)):
        wrong = next((n for n in elsewhere if not echoed([n])), next(iter(elsewhere)))
        raise fail(
            [wrong], "an all-day event is given by start_date and end_date: leave the times out"
        )
