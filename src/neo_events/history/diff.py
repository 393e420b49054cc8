"""Diffs compare only CONTENT_FIELDS, and word diffs always rebuild both texts exactly."""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from difflib import SequenceMatcher
from typing import Any
from zoneinfo import ZoneInfo

CONTENT_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "all_day",
    "start_date",
    "end_date",
    "start_time",
    "end_time",
    "timezone",
    "location",
    "transparency",
    "is_recurring",
    "recurrence_pattern",
    "exdates",
    "rdates",
    "overrides",
)
# What a snapshot written before a field existed means by its absence (migration 0007).
SNAPSHOT_DEFAULTS: Mapping[str, Any] = {
    "all_day": False,
    "start_date": None,
    "end_date": None,
    "transparency": "opaque",
    "rdates": [],
}
# An all-day event's times are its dates' midnights: derived, so a diff shows the dates.
DERIVED_WHEN_ALL_DAY = ("start_time", "end_time")


def complete(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot with every content field, older snapshots' missing ones at their defaults."""
    return {**SNAPSHOT_DEFAULTS, **snapshot}


TEXT_FIELDS: frozenset[str] = frozenset({"title", "description", "location"})

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_EMOJI_TAIL = f"\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f{_MARKS}"
# The alternatives cover every character, so the tokens always join back to the input.
# CJK has no spaces, so each ideograph is its own "word"; combining accents and emoji
# modifiers stay glued to their base so a diff never splits a visible character.
_TOKEN = re.compile(
    rf"[{_CJK}][{_MARKS}]*"
    rf"|(?:[^\W{_CJK}]|[{_MARKS}])+"
    r"|\s+"
    r"|[\U0001f1e6-\U0001f1ff]{2}"
    rf"|[^\w\s](?:[{_EMOJI_TAIL}]|\u200d[^\w\s])*"
)

_VALUE_WIDTH = 60
_LINE_WIDTH = 300
_LABELS = {
    "start_time": "start",
    "end_time": "end",
    "is_recurring": "recurring",
    "recurrence_pattern": "recurrence",
    "exdates": "cancelled occurrences",
    "rdates": "added occurrences",
    "overrides": "changed occurrences",
    "all_day": "all-day",
    "start_date": "start date",
    "end_date": "end date",
}


def word_diff(old: str | None, new: str | None) -> list[dict[str, str]]:
    """Word-level diff whose equal+delete texts rebuild old and equal+insert texts rebuild new."""
    a = _TOKEN.findall(old or "")
    b = _TOKEN.findall(new or "")
    raw: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            raw.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            raw.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            raw.append(("insert", "".join(b[j1:j2])))

    ops: list[dict[str, str]] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        for op, parts in (("delete", deleted), ("insert", inserted)):
            if parts:
                ops.append({"op": op, "text": "".join(parts)})
                parts.clear()

    for index, (op, text) in enumerate(raw):
        if op == "equal":
            # A lone space between two edits would chop "a b" -> "x y" into four fragments;
            # folding it into both sides shows one readable replacement instead.
            next_is_edit = index + 1 < len(raw) and raw[index + 1][0] != "equal"
            if (deleted or inserted) and next_is_edit and text.isspace():
                deleted.append(text)
                inserted.append(text)
                continue
            flush()
            # SequenceMatcher never yields two equal blocks in a row, so this can't repeat an op.
            ops.append({"op": "equal", "text": text})
        else:
            (deleted if op == "delete" else inserted).append(text)
    flush()
    return ops


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """List the content fields that differ, in CONTENT_FIELDS order, with word diffs for text."""
    changes: list[dict[str, Any]] = []
    old, new = complete(old), complete(new)
    both_all_day = old["all_day"] is True and new["all_day"] is True
    for field in CONTENT_FIELDS:
        before, after = old.get(field), new.get(field)
        if before == after or (both_all_day and field in DERIVED_WHEN_ALL_DAY):
            continue
        # Copies keep later edits of either snapshot from rewriting stored history.
        change: dict[str, Any] = {
            "field": field,
            "old": copy.deepcopy(before),
            "new": copy.deepcopy(after),
        }
        if field in TEXT_FIELDS:
            change["diff"] = word_diff(_as_text(before), _as_text(after))
        changes.append(change)
    return changes


def apply_changes(old: Mapping[str, Any], changes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return a copy of old with each change's new value written to its field."""
    result = copy.deepcopy(dict(old))
    for change in changes:
        result[change["field"]] = copy.deepcopy(change["new"])
    return result


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
    kind = change_type if isinstance(change_type, str) else _show(change_type)
    user = "someone" if _is_empty(info.get("username")) else _show(info.get("username"))
    role = info.get("role")

    if kind == "created":
        title = info.get("title", by_field.get("title", {}).get("new"))
        return _clamp(f"created {_quote(title)}" if not _is_empty(title) else "created")
    if kind == "deleted":
        title = info.get("title")
        return _clamp(f"deleted {_quote(title)}" if not _is_empty(title) else "deleted")
    if kind == "shared":
        return _clamp(f"shared with {user}" + ("" if _is_empty(role) else f" as {_show(role)}"))
    if kind in ("permission_changed", "role_changed"):
        was = info.get("old_role")
        line = f"{user}'s role changed" if _is_empty(role) else f"{user} is now {_show(role)}"
        return _clamp(line + ("" if _is_empty(was) else f" (was {_show(was)})"))
    if kind in ("unshared", "share_revoked"):
        return _clamp(f"{user} removed")
    if kind.startswith("occurrence_") and not _is_empty(info.get("recurrence_id")):
        verb = {"deleted": "cancelled", "overridden": "changed", "updated": "changed"}
        action = kind.removeprefix("occurrence_")
        when = _when(info.get("recurrence_id"), _zone_name(info, by_field))
        return _clamp(f"occurrence on {when} {verb.get(action, action.replace('_', ' '))}")

    phrases = _field_phrases(by_field, _zone_name(info, by_field))
    if kind in ("rolled_back", "rollback", "reverted", "restored"):
        target = info.get("rolled_back_to")
        head = "rolled back"
        if isinstance(target, int | str) and not isinstance(target, bool):
            head += f" to version {_show(target)}"
        return _fit(head + ": ", phrases) if phrases else _clamp(head + " (no changes)")
    if phrases:
        return _fit("", phrases)
    return _clamp("no changes" if kind in ("updated", "edited") else kind.replace("_", " "))


def render_html(
    *,
    event_id: int,
    title: str,
    from_version: int,
    to_version: int,
    changes: Sequence[Mapping[str, Any]],
) -> str:
    """Render a self-contained HTML5 page showing the changes side by side, all text escaped."""
    heading = _esc(f"Event {event_id} — version {from_version} → {to_version}")
    rows: list[str] = []
    for change in changes:
        field = change.get("field")
        before, after = change.get("old"), change.get("new")
        if field in TEXT_FIELDS:
            ops = change.get("diff")
            if not isinstance(ops, list):
                ops = word_diff(_as_text(before), _as_text(after))
            left = _render_ops(ops, "delete", "del")
            right = _render_ops(ops, "insert", "ins")
        else:
            left, right = _render_value(before), _render_value(after)
        label = _LABELS.get(field, field) if isinstance(field, str) else _show(field)
        rows.append(
            f'<tr><th scope="row">{_esc(label)}</th>'
            f'<td class="old">{left}</td><td class="new">{right}</td></tr>'
        )
    table_rows = "\n".join(rows)
    body = (
        '<table><thead><tr><th scope="col">Field</th><th scope="col">Before</th>'
        f'<th scope="col">After</th></tr></thead><tbody>\n{table_rows}\n</tbody></table>'
        if rows
        else '<p class="none">No differences</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(_show(title))} — {heading}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 70rem; }}
h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }} p {{ color: #59636e; margin-top: 0; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
th, td {{ border: 1px solid #d1d9e0; padding: .5rem .7rem; vertical-align: top; text-align: left; }}
thead th {{ background: #f6f8fa; }} tbody th {{ width: 11rem; }}
td, pre {{ white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }}
del, .old .whole {{ background: #ffebe9; color: #b31d28; text-decoration: line-through; }}
ins, .new .whole {{ background: #dafbe1; color: #116329; text-decoration: none; }}
.empty, .none {{ color: #59636e; font-style: italic; text-decoration: none; }}
</style>
</head>
<body>
<header><h1>{heading}</h1><p>{_esc(_show(title, None))}</p></header>
<main>{body}</main>
</body>
</html>
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _render_ops(ops: Sequence[Any], changed_op: str, tag: str) -> str:
    parts: list[str] = []
    for op in ops:
        if not isinstance(op, Mapping):
            continue
        text = _esc(_show(op.get("text", ""), None))
        if op.get("op") == "equal":
            parts.append(text)
        elif op.get("op") == changed_op:
            parts.append(f"<{tag}>{text}</{tag}>")
    return "".join(parts) or '<span class="empty">(empty)</span>'


def _render_value(value: Any) -> str:
    if _is_empty(value):
        return '<span class="empty">(empty)</span>'
    if isinstance(value, list | dict):
        shown = f"<pre>{_esc(_json(value, indent=2))}</pre>"
    elif isinstance(value, bool):
        shown = "yes" if value else "no"
    else:
        shown = _esc(_show(value, None))
    return f'<div class="whole">{shown}</div>'


def _as_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else _show(value, None)


def _json(value: Any, indent: int | None = None) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    except Exception:  # summaries and pages must survive values json (or their str) rejects
        return object.__repr__(value)


def _show(value: Any, width: int | None = _VALUE_WIDTH) -> str:
    """Plain one-line text for any value, shortened with '…' when width is given."""
    text = value if isinstance(value, str) else _json(value)
    if width is None:
        return text
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _quote(value: Any) -> str:
    return f"“{_show(value)}”"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _clamp(line: str) -> str:
    return line if len(line) <= _LINE_WIDTH else line[: _LINE_WIDTH - 1] + "…"


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
    return f"{local[0]:%Y-%m-%d %H:%M} ({_show(local[1])})" if local else _quote(value)


def _field_phrases(by_field: Mapping[str, Mapping[str, Any]], zone_name: str) -> list[str]:
    phrases: list[str] = []
    moved = ""
    begin = _local(by_field.get("start_time", {}).get("new"), zone_name)
    finish = _local(by_field.get("end_time", {}).get("new"), zone_name)
    if begin and finish:
        # "09:00–10:00" reads better than repeating the date when both ends share it.
        end_format = "%H:%M" if begin[0].date() == finish[0].date() else "%Y-%m-%d %H:%M"
        moved = f"moved to {begin[0]:%Y-%m-%d %H:%M}–{finish[0]:{end_format}} ({_show(begin[1])})"
    for field in CONTENT_FIELDS:
        change = by_field.get(field)
        if moved and field in ("start_time", "end_time"):
            if field == "start_time":
                phrases.append(moved)
        elif change is not None:
            phrases.append(_field_phrase(field, change.get("old"), change.get("new"), zone_name))
    return phrases


def _field_phrase(field: str, before: Any, after: Any, zone_name: str) -> str:
    label = _LABELS.get(field, field)
    if field == "is_recurring" and isinstance(after, bool):
        return "made recurring" if after else "no longer recurring"
    lists = isinstance(before, list | None) and isinstance(after, list | None)
    if field in ("exdates", "overrides") and lists:
        return _occurrence_phrase(field, before or [], after or [], zone_name)
    if _is_empty(after):
        return f"{label} cleared"
    if field in ("start_time", "end_time"):
        return f"{label} moved to {_when(after, zone_name)}"
    if _is_empty(before):
        return f"{label} set to {_quote(after)}"
    return f"{label} changed from {_quote(before)} to {_quote(after)}"


def _occurrence_phrase(field: str, before: list[Any], after: list[Any], zone_name: str) -> str:
    """Describe exdates/overrides edits per occurrence (keyed by instant or recurrence_id)."""

    def keyed(items: list[Any]) -> dict[str, Any]:
        return {
            _show(i.get("recurrence_id") if isinstance(i, Mapping) else i, None): i for i in items
        }

    old, new = keyed(before), keyed(after)
    verbs = ("cancelled", "restored") if field == "exdates" else ("changed", "reset")
    touched = sorted(k for k, item in new.items() if k not in old or old[k] != item)
    parts = [
        _count(touched, verbs[0], zone_name),
        _count(sorted(old.keys() - new.keys()), verbs[1], zone_name),
    ]
    return "; ".join(p for p in parts if p) or f"{_LABELS[field]} changed"


def _count(instants: list[str], verb: str, zone_name: str) -> str:
    if len(instants) == 1:
        return f"occurrence on {_when(instants[0], zone_name)} {verb}"
    return f"{len(instants)} occurrences {verb}" if instants else ""
