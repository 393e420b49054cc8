"""Content read from DATE values as an all-day event: the codec reads every VEVENT's times as
instants (an all-day one's as days from midnight in its zone, vevents.py), then writes an
all-day one's as the dates they begin. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from neo_events.events import days
from neo_events.events.rrule import parse_rule


def as_all_day(content: dict[str, Any], zone_name: str) -> dict[str, Any]:
    """Content read from DATE values (days from midnight in the zone) as an all-day event:
    its instants as the dates they begin (an end, the date it ends before)."""
    zone = ZoneInfo(zone_name)

    def day(value: str, *, end: bool = False) -> str:
        instant = datetime.fromisoformat(value)
        found = days.date_in(instant, zone)
        if end and days.midnight(found, zone) != instant:
            found += timedelta(days=1)  # a part of a day counts as that day
        return found.isoformat()

    start, end = day(content["start_time"]), day(content["end_time"], end=True)
    if end <= start:
        end = (date.fromisoformat(start) + timedelta(days=1)).isoformat()
    overrides = []
    for override in content["overrides"]:
        moved = {"recurrence_id": day(override["recurrence_id"])}
        if "start_time" in override:
            moved["start_date"] = day(override["start_time"])
        if "end_time" in override:
            moved["end_date"] = day(override["end_time"], end=True)
        keep = ("title", "description", "location")
        overrides.append(moved | {k: override[k] for k in keep if k in override})
    rule = content["recurrence_pattern"]
    if rule is not None:  # by date: UNTIL a date, no time of day
        parsed = parse_rule(rule, zone_name)
        until = None if parsed.until is None else f"{days.date_in(parsed.until, zone):%Y%m%d}"
        rule = parsed.text(UNTIL=until, BYHOUR=None, BYMINUTE=None, BYSECOND=None)
    others = {k: v for k, v in content.items() if k not in ("start_time", "end_time")}
    return others | {
        "all_day": True,
        "start_date": start,
        "end_date": end,
        "recurrence_pattern": rule,
        "exdates": sorted({day(x) for x in content["exdates"]}),
        "rdates": sorted({day(x) for x in content.get("rdates", [])}),
        "overrides": overrides,
    }
