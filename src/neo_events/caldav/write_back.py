"""What a PUT over an event it already holds keeps of that event: the resource is read as
a new text, and where the text says the same as the event in another form (an all-day event's
zone, a text an exception only copied, an exception's explicit times, a COUNT served as an
UNTIL), the event's own form is kept, so a client that writes back what it read changes
nothing it did not touch. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from neo_events.events import recurrence
from neo_events.ical.readers import readers_rule

TEXTS = ("title", "description", "location")


def keeps_its_zone(before: Mapping[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """An all-day event written back keeps its zone: a DATE names none (GET writes none, as
    RFC 5545 has it), so the resource was read in the writer's own zone (UTC until they set
    one), and a retitle in a calendar app moved the event there, its midnights for every
    attendee with it, and made an invitee's answer for one day a change they may not make
    (an outside attack)."""
    if content.get("all_day") and content.get("timezone") != before["timezone"]:
        return content | {"timezone": before["timezone"]}
    return content


def follow_master(before: Mapping[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """The resource's content with the texts its RECURRENCE-ID VEVENTs only carried over
    following the series: where the series' title, description or place changes and an
    occurrence's VEVENT still has the series' old one, that occurrence had no such override
    before, so the client copied it (a VEVENT written for answers alone, ical/export.py) and
    did not make one — the occurrence follows the series, as Google Calendar's exceptions do.
    Overrides the event already had are kept as written."""
    changed = [name for name in TEXTS if content.get(name) != before[name]]
    if not changed or not content.get("overrides"):
        return content
    known = {o["recurrence_id"]: o for o in before["overrides"]}
    overrides = []
    for override in content["overrides"]:
        prior = known.get(override["recurrence_id"], {})
        kept = {
            k: v
            for k, v in override.items()
            if not (k in changed and k not in prior and v == before[k])
        }
        if len(kept) > 1:
            overrides.append(kept)
    return content | {"overrides": overrides}


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _times(override: Mapping[str, Any], duration: timedelta) -> tuple[datetime, datetime]:
    start = _instant(override.get("start_time") or override["recurrence_id"])
    end = override.get("end_time")
    return start, start + duration if end is None else _instant(end)


def keeps_override_times(before: Mapping[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """The resource's content with each exception that has the times the event's override
    of that occurrence has, in the override's own form: a RECURRENCE-ID VEVENT always
    carries a DTEND, read as no `end_time` where it is the series' length after its start,
    so an override moved through the API with an explicit end lost it when a client wrote
    the unchanged exception back (the occurrence then followed a later change of the
    series' length, and the version listed `overrides` as changed: an outside attack)."""
    if content.get("all_day") or before["all_day"] or not content.get("overrides"):
        return content
    length_before = _instant(before["end_time"]) - _instant(before["start_time"])
    length = _instant(content["end_time"]) - _instant(content["start_time"])
    known = {_instant(o["recurrence_id"]): o for o in before["overrides"]}
    overrides = []
    for override in content["overrides"]:
        prior = known.get(_instant(override["recurrence_id"]))
        if prior is not None and _times(prior, length_before) == _times(override, length):
            override = {k: v for k, v in override.items() if k not in ("start_time", "end_time")}
            override |= {k: prior[k] for k in ("start_time", "end_time") if prior.get(k)}
        overrides.append(override)
    return content | {"overrides": overrides}


def keeps_its_rule(before: Mapping[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """The resource's content with the event's own rule where the resource's is the one the
    service served for it: a COUNT that readers count otherwise (a start off the rule) is
    served as the UNTIL of its last occurrence (`readers.readers_rule`), and a client's rename
    wrote that UNTIL back, turning the event's COUNT into it (an outside attack). Same start,
    end, zone and rdates, and the rule as served: the event's rule is kept."""
    rule = before["recurrence_pattern"]
    written = content.get("recurrence_pattern")
    if before["all_day"] or rule is None or written in (None, rule) or "COUNT=" not in rule:
        return content
    if content.get("timezone") != before["timezone"] or (content.get("rdates") or []) != (
        before["rdates"] or []
    ):
        return content
    start, end = _instant(before["start_time"]), _instant(before["end_time"])
    if (_instant(content["start_time"]), _instant(content["end_time"])) != (start, end):
        return content
    zone = before["timezone"]
    shown = start.astimezone(ZoneInfo(zone)).replace(fold=0).astimezone(UTC)
    served, _ = readers_rule(rule, start, end, zone, shown)
    if recurrence.normalize_rule(served, start=start, timezone=zone) != written:
        return content
    return content | {"recurrence_pattern": rule}
