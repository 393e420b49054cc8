"""A changelog entry's one-line summary (≤300 characters; never raises): "moved to
2026-03-02 09:00–10:00 (Europe/Berlin); title changed from “a” to “b”", with times in the
event's zone and occurrence edits counted."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from neo_events.graphemes import cut
from neo_events.history.diff import CONTENT_FIELDS, LABELS, is_empty, quote, show

_LINE_WIDTH = 300


def _clamp(line: str) -> str:
    return line if len(line) <= _LINE_WIDTH else cut(line, _LINE_WIDTH - 1) + "…"


def summarize(
    change_type: str,
    changes: Sequence[Mapping[str, Any]],
    *,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """One-line (≤300 chars) human summary of a changelog entry; never raises."""
    info: Mapping[str, Any] = extra if isinstance(extra, Mapping) else {}
    by_field = {
        c["field"]: c
        for c in (changes if isinstance(changes, Sequence) else ())
        if isinstance(c, Mapping) and isinstance(c.get("field"), str)
    }
    kind = change_type if isinstance(change_type, str) else show(change_type)
    user = "someone" if is_empty(info.get("username")) else show(info.get("username"))
    role = info.get("role")

    if kind == "created":
        title = info.get("title", by_field.get("title", {}).get("new"))
        return _clamp(f"created {quote(title)}" if not is_empty(title) else "created")
    if kind == "deleted":
        title = info.get("title")
        return _clamp(f"deleted {quote(title)}" if not is_empty(title) else "deleted")
    if kind == "shared":
        return _clamp(f"shared with {user}" + ("" if is_empty(role) else f" as {show(role)}"))
    if kind in ("permission_changed", "role_changed"):
        was = info.get("old_role")
        line = f"{user}'s role changed" if is_empty(role) else f"{user} is now {show(role)}"
        return _clamp(line + ("" if is_empty(was) else f" (was {show(was)})"))
    if kind in ("unshared", "share_revoked"):
        return _clamp(f"{user} removed")
    if kind.startswith("occurrence_") and not is_empty(info.get("recurrence_id")):
        verb = {"deleted": "cancelled", "overridden": "changed", "updated": "changed"}
        action = kind.removeprefix("occurrence_")
        when = _when(info.get("recurrence_id"), _zone_name(info, by_field))
        return _clamp(f"occurrence on {when} {verb.get(action, action.replace('_', ' '))}")

    phrases = _field_phrases(by_field, _zone_name(info, by_field))
    if kind in ("rolled_back", "rollback", "reverted", "restored"):
        target = info.get("rolled_back_to")
        head = "rolled back"
        if isinstance(target, int | str) and not isinstance(target, bool):
            head += f" to version {show(target)}"
        return _fit(head + ": ", phrases) if phrases else _clamp(head + " (no changes)")
    if phrases:
        return _fit("", phrases)
    return _clamp("no changes" if kind in ("updated", "edited") else kind.replace("_", " "))


def _fit(head: str, phrases: list[str]) -> str:
    """Join phrases after head, dropping trailing ones (noted as '+N more') to stay in width."""
    for keep in range(len(phrases), 0, -1):
        dropped = len(phrases) - keep
        line = head + "; ".join(phrases[:keep]) + (f"; +{dropped} more" if dropped else "")
        if len(line) <= _LINE_WIDTH:
            return line
    return _clamp(head + "; ".join(phrases))


def _zone_name(info: Mapping[str, Any], by_field: Mapping[str, Mapping[str, Any]]) -> str:
    # A timezone change in the same edit is the zone the new times are meant in.
    new_zone = by_field.get("timezone", {}).get("new")
    zone = new_zone if isinstance(new_zone, str) else info.get("timezone")
    return zone if isinstance(zone, str) and zone else "UTC"


def _local(value: Any, zone_name: str) -> tuple[datetime, str] | None:
    """An RFC 3339 instant as wall time in the zone (UTC if the zone is unknown), else None."""
    try:
        zone: tzinfo = ZoneInfo(zone_name)
    except Exception:  # zoneinfo raises assorted error types for bad keys; all mean "use UTC"
        zone, zone_name = UTC, "UTC"
    try:
        instant = datetime.fromisoformat(value)
        instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        return instant.astimezone(zone), zone_name
    # OverflowError: instants at the edge of year 1 / 9999 can't be shifted into a zone.
    except (TypeError, ValueError, OverflowError):
        return None


def _when(value: Any, zone_name: str) -> str:
    local = _local(value, zone_name)
    return f"{local[0]:%Y-%m-%d %H:%M} ({show(local[1])})" if local else quote(value)


def _field_phrases(by_field: Mapping[str, Mapping[str, Any]], zone_name: str) -> list[str]:
    phrases: list[str] = []
    moved = ""
    begin = _local(by_field.get("start_time", {}).get("new"), zone_name)
    finish = _local(by_field.get("end_time", {}).get("new"), zone_name)
    if begin and finish:
        # "09:00–10:00" reads better than repeating the date when both ends share it.
        end_format = "%H:%M" if begin[0].date() == finish[0].date() else "%Y-%m-%d %H:%M"
        moved = f"moved to {begin[0]:%Y-%m-%d %H:%M}–{finish[0]:{end_format}} ({show(begin[1])})"
    for field in CONTENT_FIELDS:
        change = by_field.get(field)
        if moved and field in ("start_time", "end_time"):
            if field == "start_time":
                phrases.append(moved)
        elif change is not None:
            phrases.append(_field_phrase(field, change.get("old"), change.get("new"), zone_name))
    return phrases


def _field_phrase(field: str, before: Any, after: Any, zone_name: str) -> str:
    label = LABELS.get(field, field)
    if field == "is_recurring" and isinstance(after, bool):
        return "made recurring" if after else "no longer recurring"
    lists = isinstance(before, list | None) and isinstance(after, list | None)
    if field in ("exdates", "overrides") and lists:
        return _occurrence_phrase(field, before or [], after or [], zone_name)
    if is_empty(after):
        return f"{label} cleared"
    if field in ("start_time", "end_time"):
        return f"{label} moved to {_when(after, zone_name)}"
    if is_empty(before):
        return f"{label} set to {quote(after)}"
    return f"{label} changed from {quote(before)} to {quote(after)}"


def _occurrence_phrase(field: str, before: list[Any], after: list[Any], zone_name: str) -> str:
    """Describe exdates/overrides edits per occurrence (keyed by instant or recurrence_id)."""
    old, new = _keyed(before), _keyed(after)
    verbs = ("cancelled", "restored") if field == "exdates" else ("changed", "reset")
    touched: Collection[str]
    if _TEXTS.issuperset(map(type, before)) and _TEXTS.issuperset(map(type, after)):
        touched = new.keys() - old.keys()  # an item is its key
    else:
        touched = [k for k, item in new.items() if k not in old or old[k] != item]
    parts = [
        _count(touched, verbs[0], zone_name),
        _count(old.keys() - new.keys(), verbs[1], zone_name),
    ]
    return "; ".join(p for p in parts if p) or f"{LABELS[field]} changed"


_TEXTS = frozenset({str})
_DICTS = frozenset({dict})
_RECURRENCE_ID = itemgetter("recurrence_id")


def _keyed(items: list[Any]) -> dict[str, Any]:
    """Items by their occurrence's key. A snapshot's exdates are texts and its overrides
    dicts keyed by a text: told by C-speed passes (a page of history keys thousands of items
    a version, 0.8 s of its CPU one by one); anything else (an odd snapshot) by the rule."""
    kinds = set(map(type, items))
    if kinds <= _TEXTS:
        return dict(zip(items, items, strict=True))
    if kinds <= _DICTS:
        try:
            keys = list(map(_RECURRENCE_ID, items))
        except KeyError:
            keys = [None]
        if _TEXTS.issuperset(map(type, keys)):
            return dict(zip(keys, items, strict=True))
    return {show(i.get("recurrence_id") if isinstance(i, Mapping) else i, None): i for i in items}


def _count(instants: Collection[str], verb: str, zone_name: str) -> str:
    """The one occurrence by its time, or how many (not sorted: only counted)."""
    if len(instants) == 1:
        return f"occurrence on {_when(next(iter(instants)), zone_name)} {verb}"
    return f"{len(instants)} occurrences {verb}" if instants else ""
