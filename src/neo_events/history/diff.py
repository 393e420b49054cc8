"""Diffs compare only CONTENT_FIELDS, and word diffs always rebuild both texts exactly."""

from __future__ import annotations

import copy
import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any, cast

import regex
from rapidfuzz.distance import Indel

from neo_events.graphemes import cut

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


def derived_in(*contents: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields that follow from others in every one of these contents, and so are
    compared through those (dates and zone) alone: an all-day event's times, when each is
    all-day (a conversion to or from timed compares the times themselves)."""
    return DERIVED_WHEN_ALL_DAY if all(c.get("all_day") is True for c in contents) else ()


def complete(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot with every content field, older snapshots' missing ones at their defaults."""
    return {**SNAPSHOT_DEFAULTS, **snapshot}


TEXT_FIELDS: frozenset[str] = frozenset({"title", "description", "location"})

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# Tokens are made of whole grapheme clusters (UAX #29, the `regex` module's `\X`), so a diff
# never splits a visible character: a letter and its accents, a Devanagari or Thai letter and
# its vowel signs, Arabic harakat, a keycap, an emoji and its modifiers or ZWJ sequence, a
# flag. A word is a run of clusters that start with a word character; CJK has no spaces, so
# each ideograph's cluster is its own "word"; a run of whitespace is one token; any other
# cluster (punctuation, an emoji) is one. The alternatives cover every cluster, so the
# tokens always join back to the input.
_TOKEN = regex.compile(rf"(?:(?=[^\W{_CJK}])\X)+|(?:(?=\s)\X)+|\X")

_VALUE_WIDTH = 60
LABELS = {
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
    codes = _opcodes(a, b)
    ops: list[dict[str, str]] = []
    deleted: list[str] = []
    inserted: list[str] = []

    def flush() -> None:
        for op, parts in (("delete", deleted), ("insert", inserted)):
            if parts:
                ops.append({"op": op, "text": "".join(parts)})
                parts.clear()

    for index, (tag, i1, i2, j1, j2) in enumerate(codes):
        if tag != "equal":
            deleted += a[i1:i2]
            inserted += b[j1:j2]
            continue
        text = "".join(a[i1:i2])
        # A lone space between two edits would chop "a b" -> "x y" into four fragments;
        # folding it into both sides shows one readable replacement instead.
        next_is_edit = index + 1 < len(codes) and codes[index + 1][0] != "equal"
        if (deleted or inserted) and next_is_edit and text.isspace():
            deleted.append(text)
            inserted.append(text)
            continue
        flush()
        # Neither matcher yields two equal blocks in a row, so this can't repeat an op.
        ops.append({"op": "equal", "text": text})
    flush()
    return ops


# SequenceMatcher's output reads best (longest common runs first), but with repeated tokens
# its cost grows with the cube of the length: "a " * 250 -> "b " * 250 took a second. It is
# used only while its worst case is provably small; beyond, a bit-parallel LCS (rapidfuzz,
# O(n*m/64) in C++) aligns even 10,000 tokens a side in ~20 ms, whatever they contain.
_MATCHER_BUDGET = 300_000


def _opcodes(a: list[str], b: list[str]) -> Sequence[tuple[str, int, int, int, int]]:
    """Opcodes turning tokens a into b, from whichever matcher is bounded on this input."""
    if _matcher_work(a, b) <= _MATCHER_BUDGET:
        return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    # Distinct tokens get distinct small ints, so no hash collision can fake an "equal".
    ids: dict[str, int] = {}
    ia = [ids.setdefault(token, len(ids)) for token in a]
    ib = [ids.setdefault(token, len(ids)) for token in b]
    # as_list() gives difflib-style tuples (its docstring); the type stub says Opcode objects.
    return cast(list[tuple[str, int, int, int, int]], Indel.opcodes(ia, ib).as_list())


def _matcher_work(a: Sequence[str], b: Sequence[str]) -> int:
    """An upper bound on SequenceMatcher's inner-loop steps for a against b (no junk).

    Each find_longest_match call visits, for every token of its slice of a, that token's
    positions in b; the calls at one depth of its recursion have disjoint slices of a, so a
    depth costs at most pairs + len(a), and every depth shortens both sides by a token.
    """
    depth = min(len(a), len(b)) + 1
    if len(a) * depth > _MATCHER_BUDGET:  # over budget before counting a single pair
        return len(a) * depth
    counts = Counter(b)
    pairs = sum(counts.get(token, 0) for token in a)
    return (pairs + len(a)) * depth


def diff_snapshots(
    old: Mapping[str, Any], new: Mapping[str, Any], *, word_diffs: bool = True
) -> list[dict[str, Any]]:
    """List the content fields that differ, in CONTENT_FIELDS order, with word diffs for text.

    A word diff costs ~20 ms of CPU for a 10,000-character description, so only the diff
    endpoint (one pair of versions) asks for them; history and changelog pages, which hold up
    to 500 versions and only summarise or list old/new values, pass word_diffs=False and stay
    linear in the snapshots' size.
    """
    changes: list[dict[str, Any]] = []
    old, new = complete(old), complete(new)
    derived = derived_in(old, new)
    for field in CONTENT_FIELDS:
        before, after = old.get(field), new.get(field)
        if before == after or field in derived:
            continue
        # The values themselves, not copies: the snapshots are this request's own, decoded
        # for it, and nothing writes to them (deep copies were three quarters of a page of
        # history whose versions each changed 3,000 small items).
        change: dict[str, Any] = {"field": field, "old": before, "new": after}
        if word_diffs and field in TEXT_FIELDS:
            change["diff"] = word_diff(_as_text(before), _as_text(after))
        changes.append(change)
    return changes


def apply_changes(old: Mapping[str, Any], changes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return a copy of old with each change's new value written to its field."""
    result = copy.deepcopy(dict(old))
    for change in changes:
        result[change["field"]] = copy.deepcopy(change["new"])
    return result


# The diff page's one inline style. Its response allows exactly this text by hash
# (`history.router`): keep every style of the page here, never in a `style` attribute.
PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 70rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } p { color: #59636e; margin-top: 0; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #d1d9e0; padding: .5rem .7rem; vertical-align: top; text-align: left; }
thead th { background: #f6f8fa; } tbody th { width: 11rem; }
td, pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
del, .old .whole { background: #ffebe9; color: #b31d28; text-decoration: line-through; }
ins, .new .whole { background: #dafbe1; color: #116329; text-decoration: none; }
.empty, .none { color: #59636e; font-style: italic; text-decoration: none; }
"""


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
        label = LABELS.get(field, field) if isinstance(field, str) else show(field)
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
<title>{_esc(show(title))} — {heading}</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<header><h1>{heading}</h1><p>{_esc(show(title, None))}</p></header>
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
        text = _esc(show(op.get("text", ""), None))
        if op.get("op") == "equal":
            parts.append(text)
        elif op.get("op") == changed_op:
            parts.append(f"<{tag}>{text}</{tag}>")
    return "".join(parts) or '<span class="empty">(empty)</span>'


def _render_value(value: Any) -> str:
    if is_empty(value):
        return '<span class="empty">(empty)</span>'
    if isinstance(value, list | dict):
        shown = f"<pre>{_esc(_json(value, indent=2))}</pre>"
    elif isinstance(value, bool):
        shown = "yes" if value else "no"
    else:
        shown = _esc(show(value, None))
    return f'<div class="whole">{shown}</div>'


def _as_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else show(value, None)


def _json(value: Any, indent: int | None = None) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    except Exception:  # summaries and pages must survive values json (or their str) rejects
        return object.__repr__(value)


def show(value: Any, width: int | None = _VALUE_WIDTH) -> str:
    """Plain one-line text for any value, shortened with '…' when width is given."""
    text = value if isinstance(value, str) else _json(value)
    if width is None:
        return text
    # Collapse whitespace only in a prefix that fills the width (collapsing a prefix gives a
    # prefix of the collapsed whole): a summary quotes 60 characters of a 10,000-character
    # description, and a page of history quotes a thousand of them.
    end = 2 * width + 2
    while True:
        line = " ".join(text[:end].split())
        if len(line) > width or end >= len(text):
            break
        end *= 4
    return line if len(line) <= width else cut(line, width - 1).rstrip() + "…"


def quote(value: Any) -> str:
    return f"“{show(value)}”"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)
