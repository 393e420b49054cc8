"""Unit tests for neo_events.history.diff: word diffs, snapshot diffs, summaries, HTML."""

from __future__ import annotations

import html
import time
from html.parser import HTMLParser
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.history import diff
from neo_events.history.diff import (
    CONTENT_FIELDS,
    TEXT_FIELDS,
    apply_changes,
    diff_snapshots,
    render_html,
    word_diff,
)
from neo_events.history.summary import summarize
from tests.timing import budget

# No example database: the test run must not write a .hypothesis directory into the repo.
quick = settings(database=None, deadline=None)


def rebuild(ops: list[dict[str, str]], kept: str) -> str:
    """Join the equal texts plus those of the given side ("delete" = old, "insert" = new)."""
    return "".join(op["text"] for op in ops if op["op"] in ("equal", kept))


def snapshot(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Standup",
        "description": "Daily sync",
        "start_time": "2026-03-30T07:00:00Z",
        "end_time": "2026-03-30T07:15:00Z",
        "timezone": "Europe/Berlin",
        "location": None,
        "is_recurring": True,
        "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",
        "exdates": [],
        "overrides": [],
        "version": 1,
        "updated_at": "2026-03-01T10:00:00Z",
        "owner": "alice",
    }
    base.update(overrides)
    return base


# --- word_diff ------------------------------------------------------------------------------


def test_identical_text_is_one_equal_op() -> None:
    assert word_diff("same text", "same text") == [{"op": "equal", "text": "same text"}]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, None, []),
        ("", "", []),
        (None, "hello", [{"op": "insert", "text": "hello"}]),
        ("", "hello world", [{"op": "insert", "text": "hello world"}]),
        ("hello", None, [{"op": "delete", "text": "hello"}]),
        ("hello world", "", [{"op": "delete", "text": "hello world"}]),
    ],
)
def test_none_and_empty(old: str | None, new: str | None, expected: list[dict[str, str]]) -> None:
    assert word_diff(old, new) == expected


def test_single_changed_word() -> None:
    assert word_diff("The quick brown fox", "The slow brown fox") == [
        {"op": "equal", "text": "The "},
        {"op": "delete", "text": "quick"},
        {"op": "insert", "text": "slow"},
        {"op": "equal", "text": " brown fox"},
    ]


def test_granularity_is_words_not_characters() -> None:
    assert word_diff("cat", "cart") == [
        {"op": "delete", "text": "cat"},
        {"op": "insert", "text": "cart"},
    ]


def test_accented_words() -> None:
    assert word_diff("café crème", "café brûlée") == [
        {"op": "equal", "text": "café "},
        {"op": "delete", "text": "crème"},
        {"op": "insert", "text": "brûlée"},
    ]


def test_combining_accent_stays_with_its_letter() -> None:
    decomposed = "cafe\u0301"
    ops = word_diff(f"{decomposed} x", f"{decomposed} y")
    assert ops[0] == {"op": "equal", "text": f"{decomposed} "}


def test_emoji_is_a_token() -> None:
    assert word_diff("ship it 🚀", "ship it 🎉") == [
        {"op": "equal", "text": "ship it "},
        {"op": "delete", "text": "🚀"},
        {"op": "insert", "text": "🎉"},
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👦"), ("👍🏽", "👍🏿"), ("🇩🇪", "🇫🇷")],
)
def test_emoji_sequences_are_never_split(old: str, new: str) -> None:
    assert word_diff(f"go {old}", f"go {new}") == [
        {"op": "equal", "text": "go "},
        {"op": "delete", "text": old},
        {"op": "insert", "text": new},
    ]


def test_cjk_diffs_per_character() -> None:
    assert word_diff("会議は明日です", "会議は今日です") == [
        {"op": "equal", "text": "会議は"},
        {"op": "delete", "text": "明"},
        {"op": "insert", "text": "今"},
        {"op": "equal", "text": "日です"},
    ]


def test_multiline_text_keeps_newlines() -> None:
    old, new = "line one\nline two\n\nend", "line one\nline 2\n\nend"
    ops = word_diff(old, new)
    assert ops == [
        {"op": "equal", "text": "line one\nline "},
        {"op": "delete", "text": "two"},
        {"op": "insert", "text": "2"},
        {"op": "equal", "text": "\n\nend"},
    ]


def test_reordered_words() -> None:
    old, new = "one two three", "three two one"
    ops = word_diff(old, new)
    assert rebuild(ops, "delete") == old
    assert rebuild(ops, "insert") == new
    assert {"op": "equal", "text": " two "} in ops


def test_repeated_spaces_are_diffed() -> None:
    assert word_diff("a  b", "a b") == [
        {"op": "equal", "text": "a"},
        {"op": "delete", "text": "  "},
        {"op": "insert", "text": " "},
        {"op": "equal", "text": "b"},
    ]


def test_punctuation_is_separate_from_words() -> None:
    ops = word_diff("Hello, world!", "Hello world?")
    assert ops == [
        {"op": "equal", "text": "Hello"},
        {"op": "delete", "text": ","},
        {"op": "equal", "text": " world"},
        {"op": "delete", "text": "!"},
        {"op": "insert", "text": "?"},
    ]


def test_space_between_two_edits_is_folded_into_one_replacement() -> None:
    assert word_diff("keep a b keep", "keep x y keep") == [
        {"op": "equal", "text": "keep "},
        {"op": "delete", "text": "a b"},
        {"op": "insert", "text": "x y"},
        {"op": "equal", "text": " keep"},
    ]


_pieces = st.sampled_from(
    ["a", "b", "word", " ", "  ", "\n", "é", "e\u0301", "😀", ",", "中", "\t"]
)
texts = st.one_of(st.text(), st.lists(_pieces, max_size=30).map("".join))


@quick
@given(old=st.one_of(st.none(), texts), new=st.one_of(st.none(), texts))
def test_ops_rebuild_both_texts(old: str | None, new: str | None) -> None:
    ops = word_diff(old, new)
    assert rebuild(ops, "delete") == (old or "")
    assert rebuild(ops, "insert") == (new or "")


@quick
@given(old=texts, new=texts)
def test_ops_are_coalesced_and_non_empty(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert all(op["text"] and op["op"] in ("equal", "insert", "delete") for op in ops)
    assert all(a["op"] != b["op"] for a, b in zip(ops, ops[1:], strict=False))


def lcs_only() -> Any:
    """Force the bounded LCS path (rapidfuzz) that long or repetitive texts take."""
    return mock.patch.object(diff, "_MATCHER_BUDGET", -1)


@quick
@given(old=st.one_of(st.none(), texts), new=st.one_of(st.none(), texts))
def test_lcs_path_rebuilds_both_texts_and_coalesces(old: str | None, new: str | None) -> None:
    with lcs_only():
        ops = word_diff(old, new)
    assert rebuild(ops, "delete") == (old or "")
    assert rebuild(ops, "insert") == (new or "")
    assert all(op["text"] and op["op"] in ("equal", "insert", "delete") for op in ops)
    assert all(a["op"] != b["op"] for a, b in zip(ops, ops[1:], strict=False))


_long = st.lists(_pieces, min_size=100, max_size=600).map("".join)


@quick
@given(old=_long, new=_long)
def test_long_repetitive_texts_rebuild(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert rebuild(ops, "delete") == old
    assert rebuild(ops, "insert") == new


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Talk about the plan", "Talk about the new plan", ["Talk about the ", "+new ", "plan"]),
        ("one two three", "one three", ["one ", "-two ", "three"]),
        ("keep a b keep", "keep x y keep", ["keep ", "-a b", "+x y", " keep"]),
        ("会議は明日です", "会議は今日です", ["会議は", "-明", "+今", "日です"]),
    ],
)
def test_lcs_path_reads_like_the_small_path(old: str, new: str, expected: list[str]) -> None:
    sign = {"equal": "", "delete": "-", "insert": "+"}
    with lcs_only():
        shown = [sign[op["op"]] + op["text"] for op in word_diff(old, new)]
    assert shown == expected
    assert [sign[op["op"]] + op["text"] for op in word_diff(old, new)] == expected


# Inputs that made SequenceMatcher cubic, at the description's 10,000-character maximum.
WORST = [
    ("a " * 5000, "b " * 5000),
    ("a b " * 2500, "a c " * 2500),
    ("!" * 10_000, "?" + "!" * 9998 + "?"),
    ("!." * 5000, "?." * 5000),
    ("会議" * 5000, "議会" * 5000),
    ("Room 1\n" * 1428, "Room 2\n" * 1428),
    ("a " * 5000, "a  " * 3333),
]


@pytest.mark.parametrize(("old", "new"), WORST, ids=range(len(WORST)))
def test_worst_case_word_diffs_are_cheap(old: str, new: str) -> None:
    started = time.process_time()
    ops = word_diff(old, new)
    spent = time.process_time() - started
    # ~20-30 ms measured; the bound only rules out the seconds (minutes) of the cubic path.
    assert spent < budget(0.5), f"{spent:.2f} s"
    assert rebuild(ops, "delete") == old
    assert rebuild(ops, "insert") == new


def test_matcher_is_used_only_within_its_proven_bound() -> None:
    small = diff.word_diff("a " * 40, "b " * 40)
    assert rebuild(small, "delete") == "a " * 40
    assert diff._matcher_work(["a"] * 10, ["a"] * 10) == (100 + 10) * 11
    assert diff._matcher_work(["a"] * 5000, ["b"] * 5000) > diff._MATCHER_BUDGET


# --- diff_snapshots / apply_changes ----------------------------------------------------------


def test_content_fields_order_and_text_fields() -> None:
    assert CONTENT_FIELDS == (
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
    assert frozenset({"title", "description", "location"}) == TEXT_FIELDS


def test_identical_snapshots_have_no_changes() -> None:
    assert diff_snapshots(snapshot(), snapshot()) == []


def test_bookkeeping_fields_are_ignored() -> None:
    new = snapshot(version=7, updated_at="2026-04-01T00:00:00Z", owner="bob", etag="x")
    assert diff_snapshots(snapshot(), new) == []


def test_text_field_change_carries_word_diff() -> None:
    changes = diff_snapshots(snapshot(title="Alpha team"), snapshot(title="Beta team"))
    assert changes == [
        {
            "field": "title",
            "old": "Alpha team",
            "new": "Beta team",
            "diff": word_diff("Alpha team", "Beta team"),
        }
    ]


def test_non_text_field_has_no_word_diff() -> None:
    changes = diff_snapshots(snapshot(), snapshot(start_time="2026-03-30T08:00:00Z"))
    assert changes == [
        {"field": "start_time", "old": "2026-03-30T07:00:00Z", "new": "2026-03-30T08:00:00Z"}
    ]


def test_changes_follow_content_field_order() -> None:
    new = {"overrides": [{"recurrence_id": "2026-04-06T07:00:00Z"}], "title": "X"}
    new = {**new, "exdates": ["2026-04-13T07:00:00Z"], "location": "Room 1"}
    old = {k: v for k, v in snapshot().items() if k not in new}
    fields = [c["field"] for c in diff_snapshots(old, {**old, **new})]
    assert fields == ["title", "location", "exdates", "overrides"]


def test_missing_field_equals_none() -> None:
    old = snapshot()
    del old["location"]
    assert diff_snapshots(old, snapshot(location=None)) == []
    changes = diff_snapshots(old, snapshot(location="Room 1"))
    assert [(c["field"], c["old"], c["new"]) for c in changes] == [("location", None, "Room 1")]


def test_list_fields_are_whole_values() -> None:
    new = snapshot(exdates=["2026-04-06T07:00:00Z"])
    assert diff_snapshots(snapshot(), new) == [
        {"field": "exdates", "old": [], "new": ["2026-04-06T07:00:00Z"]}
    ]


def test_a_diff_holds_the_snapshots_values_not_copies() -> None:
    """Its callers' snapshots are their own, decoded for the request and written to by
    nothing: deep copies of each changed value were three quarters of a page of history
    whose versions each changed 3,000 small items (a thirteenth outside attack)."""
    new = snapshot(exdates=["2026-04-06T07:00:00Z"])
    changes = diff_snapshots(snapshot(), new)
    assert changes[0]["field"] == "exdates" and changes[0]["new"] is new["exdates"]


_instant = st.sampled_from(["2026-03-30T07:00:00Z", "2026-03-30T09:30:00Z", "2026-04-06T07:00:00Z"])
_small_text = st.sampled_from(["", "Standup", "Stand up", "Planning 🗓", "会議", "a\nb"])
_override = st.fixed_dictionaries(
    {"recurrence_id": _instant}, optional={"title": _small_text, "start_time": _instant}
)
_field_values: dict[str, st.SearchStrategy[Any]] = {
    "title": _small_text,
    "description": st.one_of(st.none(), _small_text, st.text(max_size=40)),
    "start_time": _instant,
    "end_time": _instant,
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Tokyo"]),
    "location": st.one_of(st.none(), _small_text),
    "is_recurring": st.booleans(),
    "recurrence_pattern": st.one_of(st.none(), st.just("FREQ=DAILY")),
    "exdates": st.lists(_instant, unique=True, max_size=3).map(sorted),
    "overrides": st.lists(_override, max_size=2),
}
# Fields are optional (missing == None) and bookkeeping keys vary freely.
snapshots = st.fixed_dictionaries(
    {"version": st.integers(1, 9)},
    optional={**_field_values, "updated_at": _instant, "owner": st.sampled_from(["al", "bo"])},
)


@quick
@given(old=snapshots, new=snapshots)
def test_apply_changes_round_trips(old: dict[str, Any], new: dict[str, Any]) -> None:
    result = apply_changes(old, diff_snapshots(old, new))
    assert {f: result.get(f) for f in CONTENT_FIELDS} == {f: new.get(f) for f in CONTENT_FIELDS}
    for key in ("version", "updated_at", "owner"):
        assert result.get(key) == old.get(key)


@quick
@given(a=snapshots, b=snapshots)
def test_diff_is_antisymmetric(a: dict[str, Any], b: dict[str, Any]) -> None:
    forward, backward = diff_snapshots(a, b), diff_snapshots(b, a)
    assert [c["field"] for c in forward] == [c["field"] for c in backward]
    for f, r in zip(forward, backward, strict=True):
        assert (f["old"], f["new"]) == (r["new"], r["old"])


@quick
@given(a=snapshots, b=snapshots)
def test_diff_lists_only_differing_content_fields(a: dict[str, Any], b: dict[str, Any]) -> None:
    fields = [c["field"] for c in diff_snapshots(a, b)]
    assert fields == [f for f in CONTENT_FIELDS if a.get(f) != b.get(f)]


def test_apply_changes_does_not_mutate_input() -> None:
    old = snapshot()
    apply_changes(old, [{"field": "exdates", "old": [], "new": ["2026-04-06T07:00:00Z"]}])
    assert old == snapshot()


# --- summarize -------------------------------------------------------------------------------


def change(field: str, old: Any, new: Any) -> dict[str, Any]:
    return {"field": field, "old": old, "new": new}


@pytest.mark.parametrize(
    ("change_type", "changes", "extra", "expected"),
    [
        (
            "updated",
            [change("title", "Alpha", "Beta")],
            None,
            "title changed from “Alpha” to “Beta”",
        ),
        (
            "updated",
            [change("title", "Alpha", "Beta"), change("location", None, "Room 1")],
            None,
            "title changed from “Alpha” to “Beta”; location set to “Room 1”",
        ),
        ("updated", [change("description", "Agenda", None)], None, "description cleared"),
        ("updated", [change("description", "Agenda", "")], None, "description cleared"),
        ("updated", [], None, "no changes"),
        ("created", [change("title", None, "Standup")], None, "created “Standup”"),
        ("created", [], {"title": "Standup"}, "created “Standup”"),
        ("created", [], None, "created"),
        ("deleted", [], None, "deleted"),
        ("rolled_back", [], {"rolled_back_to": 3}, "rolled back to version 3 (no changes)"),
        (
            "rolled_back",
            [change("title", "B", "A")],
            {"rolled_back_to": 3},
            "rolled back to version 3: title changed from “B” to “A”",
        ),
        (
            "shared",
            [],
            {"username": "alice", "role": "editor"},
            "shared with alice as editor",
        ),
        (
            "permission_changed",
            [],
            {"username": "alice", "role": "viewer", "old_role": "editor"},
            "alice is now viewer (was editor)",
        ),
        ("unshared", [], {"username": "alice"}, "alice removed"),
        ("unshared", [], {"username": None}, "someone removed"),
        ("shared", [], {"username": "bob"}, "shared with bob"),
        ("permission_changed", [], {"username": "bob"}, "bob's role changed"),
        (
            "occurrence_cancelled",
            [],
            {"recurrence_id": "2026-03-30T07:00:00Z", "timezone": "Europe/Berlin"},
            "occurrence on 2026-03-30 09:00 (Europe/Berlin) cancelled",
        ),
        ("updated", [change("is_recurring", False, True)], None, "made recurring"),
        ("updated", [change("is_recurring", True, False)], None, "no longer recurring"),
        ("some_new_kind", [], None, "some new kind"),
    ],
)
def test_summaries(
    change_type: str, changes: list[dict[str, Any]], extra: dict[str, Any] | None, expected: str
) -> None:
    assert summarize(change_type, changes, extra=extra) == expected


def test_move_is_shown_in_event_timezone() -> None:
    changes = [
        change("start_time", "2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"),
        change("end_time", "2026-03-30T08:00:00Z", "2026-03-31T08:00:00Z"),
    ]
    assert (
        summarize("updated", changes, extra={"timezone": "Europe/Berlin"})
        == "moved to 2026-03-31 09:00–10:00 (Europe/Berlin)"
    )
    assert summarize("updated", changes) == "moved to 2026-03-31 07:00–08:00 (UTC)"


def test_move_across_midnight_shows_both_dates() -> None:
    changes = [
        change("start_time", None, "2026-03-30T21:00:00Z"),
        change("end_time", None, "2026-03-30T23:00:00Z"),
    ]
    assert (
        summarize("updated", changes, extra={"timezone": "Europe/Berlin"})
        == "moved to 2026-03-30 23:00–2026-03-31 01:00 (Europe/Berlin)"
    )


def test_timezone_change_in_same_edit_is_used_for_times() -> None:
    changes = [
        change("start_time", "x", "2026-03-30T07:00:00Z"),
        change("timezone", "UTC", "Asia/Tokyo"),
    ]
    assert summarize("updated", changes, extra={"timezone": "UTC"}) == (
        "start moved to 2026-03-30 16:00 (Asia/Tokyo); timezone changed from “UTC” to “Asia/Tokyo”"
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe", "../../etc/passwd", "Europe/", ""])
def test_unknown_timezone_falls_back_to_utc(zone: str) -> None:
    changes = [change("start_time", None, "2026-03-30T07:00:00Z")]
    assert (
        summarize("updated", changes, extra={"timezone": zone})
        == "start moved to 2026-03-30 07:00 (UTC)"
    )


@pytest.mark.parametrize("value", ["soon", "9999-12-31T23:59:59Z", 42])
def test_unreadable_time_is_shown_raw(value: Any) -> None:
    changes = [change("end_time", None, value)]
    expected = f"end moved to “{value}”"
    assert summarize("updated", changes, extra={"timezone": "Asia/Tokyo"}) == expected


def test_exdate_and_override_changes_are_described() -> None:
    changes = [
        change("exdates", ["2026-04-06T07:00:00Z"], ["2026-03-30T07:00:00Z"]),
        change("overrides", [], [{"recurrence_id": "2026-04-13T07:00:00Z", "title": "x"}]),
    ]
    assert summarize("updated", changes, extra={"timezone": "Europe/Berlin"}) == (
        "occurrence on 2026-03-30 09:00 (Europe/Berlin) cancelled; "
        "occurrence on 2026-04-06 09:00 (Europe/Berlin) restored; "
        "occurrence on 2026-04-13 09:00 (Europe/Berlin) changed"
    )
    many = [change("exdates", [], ["2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"])]
    assert summarize("updated", many) == "2 occurrences cancelled"


def _phrase_one_by_one(field: str, before: list[Any], after: list[Any], zone: str) -> str:
    """The occurrence phrase as it was worked out before 2026-12-08, item by item with its
    keys sorted: the oracle of the quicker passes (`summary._keyed`)."""
    from collections.abc import Mapping

    from neo_events.history.diff import LABELS, show
    from neo_events.history.summary import _count

    def keyed(items: list[Any]) -> dict[str, Any]:
        return {
            show(i.get("recurrence_id") if isinstance(i, Mapping) else i, None): i for i in items
        }

    old, new = keyed(before), keyed(after)
    verbs = ("cancelled", "restored") if field == "exdates" else ("changed", "reset")
    touched = sorted(k for k, item in new.items() if k not in old or old[k] != item)
    parts = [
        _count(touched, verbs[0], zone),
        _count(sorted(old.keys() - new.keys()), verbs[1], zone),
    ]
    return "; ".join(p for p in parts if p) or f"{LABELS[field]} changed"


_keys = st.sampled_from(["2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z", "2026-04-13", "x"])
_odd_item = st.one_of(
    _keys,
    st.fixed_dictionaries({"recurrence_id": _keys}, optional={"title": _small_text}),
    st.fixed_dictionaries({"recurrence_id": st.one_of(st.integers(0, 3), st.none())}),
    st.fixed_dictionaries({}, optional={"title": _small_text}),
    st.integers(0, 3),
    st.none(),
)


@settings(max_examples=400)
@given(
    field=st.sampled_from(["exdates", "overrides"]),
    before=st.lists(_odd_item, max_size=6),
    after=st.lists(_odd_item, max_size=6),
)
def test_occurrence_phrases_are_as_one_by_one(
    field: str, before: list[Any], after: list[Any]
) -> None:
    from neo_events.history.summary import _occurrence_phrase

    assert _occurrence_phrase(field, before, after, "Europe/Berlin") == _phrase_one_by_one(
        field, before, after, "Europe/Berlin"
    )


def test_long_values_are_shortened() -> None:
    line = summarize("updated", [change("title", "a" * 200, "b " * 200)])
    quoted = line.split("“")[1:]
    assert all(len(q.split("”")[0]) <= 60 for q in quoted)
    assert line.count("…") == 2
    assert len(line) <= 300


def test_newlines_do_not_break_the_line() -> None:
    assert summarize("updated", [change("title", "a\nb", "c\r\n\td")]) == (
        "title changed from “a b” to “c d”"
    )


@pytest.mark.parametrize("change_type", ["x" * 500, "occurrence_" + "y" * 500])
def test_long_change_type_is_capped(change_type: str) -> None:
    extra = {"recurrence_id": "2026-03-30T07:00:00Z"}
    line = summarize(change_type, [], extra=extra)
    assert len(line) == 300
    assert line.endswith("…")


def test_whole_line_is_capped_and_says_what_was_left_out() -> None:
    changes = [change(f, "x" * 100, "y" * 100) for f in ("title", "description", "location")]
    line = summarize("updated", changes)
    assert len(line) <= 300
    assert line.endswith("; +2 more")


_EXTRA_KEYS = [
    "title",
    "username",
    "role",
    "old_role",
    "rolled_back_to",
    "recurrence_id",
    "timezone",
]
_weird = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@quick
@given(
    change_type=st.sampled_from(
        ["created", "updated", "rolled_back", "deleted", "shared", "permission_changed"]
        + ["unshared", "occurrence_cancelled", "weird"]
    ),
    changes=st.lists(
        st.one_of(
            st.builds(change, st.sampled_from(CONTENT_FIELDS), _weird, _weird),
            _weird,
        ),
        max_size=6,
    ),
    extra=st.one_of(st.none(), st.dictionaries(st.sampled_from(_EXTRA_KEYS), _weird)),
)
def test_summarize_never_raises_and_stays_short(
    change_type: str, changes: list[Any], extra: dict[str, Any] | None
) -> None:
    line = summarize(change_type, changes, extra=extra)
    assert isinstance(line, str)
    assert 0 < len(line) <= 300
    assert "\n" not in line


# --- render_html -----------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def page(changes: list[dict[str, Any]], title: str = "Standup") -> str:
    return render_html(event_id=12, title=title, from_version=2, to_version=5, changes=changes)


def test_page_is_self_contained_html5() -> None:
    out = page(diff_snapshots(snapshot(), snapshot(title="Retro")))
    assert out.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in out
    assert "Event 12 — version 2 → 5" in out
    tags = set(parse(out).tags)
    assert {"html", "head", "style", "body", "table"} <= tags
    assert not tags & {"script", "link", "img", "iframe", "object"}
    assert "http://" not in out and "https://" not in out


def test_text_changes_show_del_left_and_ins_right() -> None:
    out = page(diff_snapshots(snapshot(title="Alpha team"), snapshot(title="Beta team")))
    assert '<td class="old"><del>Alpha</del> team</td>' in out
    assert '<td class="new"><ins>Beta</ins> team</td>' in out
    assert "line-through" in out


def test_word_diff_is_computed_when_missing() -> None:
    out = page([change("location", "Room 1", "Room 2")])
    assert "<del>1</del>" in out and "<ins>2</ins>" in out


def test_non_text_values_are_shown_whole() -> None:
    new = snapshot(exdates=["2026-04-06T07:00:00Z"], is_recurring=False)
    changes = diff_snapshots(snapshot(), new)
    out = page(changes)
    assert "2026-04-06T07:00:00Z" in out
    assert "<pre>" in out and "<del>" not in out


def test_no_differences() -> None:
    out = page([])
    assert "No differences" in out
    assert "<table" not in out


SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="alert(1)" x="'


IMG = "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize("payload", [SCRIPT, ATTR, "Tom & Jerry's <b>", IMG])
def test_user_text_is_escaped_everywhere(payload: str) -> None:
    changes = [
        change("title", "Old", payload),
        {**change("description", payload, "plain"), "diff": word_diff(payload, "plain")},
        change("exdates", [], [payload]),
        change("overrides", [], [{"recurrence_id": "r", "title": payload}]),
        change(payload, payload, payload),
    ]
    out = page(changes, title=payload)
    parsed = parse(out)
    assert not set(parsed.tags) & {"script", "img", "b"}
    assert "onmouseover" not in parsed.attrs and "onerror" not in parsed.attrs
    assert payload not in out
    assert html.escape(payload, quote=True) in out
    # Escaped text still reads as the original to a browser.
    assert payload in "".join(parsed.text)
