"""Unit tests for neo_events.history.merge.three_way_merge."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.history.diff import CONTENT_FIELDS
from neo_events.history.merge import FieldConflict, MergeResult, lost_by, three_way_merge

# No example database: the test run must not write a .hypothesis directory into the repo.
quick = settings(database=None, deadline=None)

MONDAY = "2026-04-06T07:00:00Z"
NEXT_MONDAY = "2026-04-13T07:00:00Z"


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
        "version": 3,
        "updated_at": "2026-03-01T10:00:00Z",
    }
    base.update(overrides)
    return base


def test_nothing_changed_anywhere() -> None:
    result = three_way_merge(snapshot(), snapshot(), {})
    assert result == MergeResult(changes={}, conflicts=(), merged=False)


def test_plain_update_when_nobody_else_changed_anything() -> None:
    result = three_way_merge(snapshot(), snapshot(), {"title": "Retro", "location": "Room 1"})
    assert result == MergeResult(
        changes={"title": "Retro", "location": "Room 1"}, conflicts=(), merged=False
    )


def test_disjoint_changes_merge() -> None:
    theirs = snapshot(title="Team standup", version=4)
    result = three_way_merge(snapshot(), theirs, {"location": "Room 1"})
    assert result.changes == {"location": "Room 1"}
    assert result.conflicts == ()
    assert result.merged is True
    merged = {**theirs, **result.changes}
    assert (merged["title"], merged["location"]) == ("Team standup", "Room 1")


def test_same_field_different_values_conflicts() -> None:
    result = three_way_merge(snapshot(), snapshot(title="Theirs"), {"title": "Yours"})
    assert result.conflicts == (
        FieldConflict(field="title", base="Standup", yours="Yours", theirs="Theirs"),
    )
    assert result.changes == {}
    assert result.merged is False


def test_conflicting_field_is_left_out_of_changes_but_others_stay() -> None:
    theirs = snapshot(title="Theirs")
    result = three_way_merge(snapshot(), theirs, {"title": "Yours", "location": "Room 1"})
    assert [c.field for c in result.conflicts] == ["title"]
    assert result.changes == {"location": "Room 1"}
    assert result.merged is False


def test_same_field_same_value_is_not_a_conflict() -> None:
    result = three_way_merge(snapshot(), snapshot(title="Retro"), {"title": "Retro"})
    assert result.conflicts == ()
    assert result.merged is True
    assert {**snapshot(title="Retro"), **result.changes}["title"] == "Retro"


def test_fields_equal_to_base_are_not_changes() -> None:
    # A client that PATCHes the whole form back must not undo someone else's edit.
    theirs = snapshot(title="Team standup", description="New agenda")
    yours = {**snapshot(), "location": "Room 1"}
    result = three_way_merge(snapshot(), theirs, yours)
    assert result.changes == {"location": "Room 1"}
    assert result.conflicts == ()
    assert result.merged is True


def test_clearing_a_field_is_a_change() -> None:
    result = three_way_merge(snapshot(), snapshot(), {"description": None})
    assert result.changes == {"description": None}


def test_clearing_while_they_edit_conflicts() -> None:
    result = three_way_merge(snapshot(), snapshot(description="Longer"), {"description": None})
    assert result.conflicts == (
        FieldConflict(field="description", base="Daily sync", yours=None, theirs="Longer"),
    )


def test_missing_field_counts_as_none() -> None:
    base = snapshot()
    del base["location"]
    result = three_way_merge(base, snapshot(), {"location": None})
    assert result == MergeResult(changes={}, conflicts=(), merged=False)


def test_exdates_conflict_as_whole_values() -> None:
    result = three_way_merge(snapshot(), snapshot(exdates=[MONDAY]), {"exdates": [NEXT_MONDAY]})
    assert result.conflicts == (
        FieldConflict(field="exdates", base=[], yours=[NEXT_MONDAY], theirs=[MONDAY]),
    )
    assert result.changes == {}


def test_identical_exdates_on_both_sides_do_not_conflict() -> None:
    result = three_way_merge(snapshot(), snapshot(exdates=[MONDAY]), {"exdates": [MONDAY]})
    assert result.conflicts == ()


def test_overrides_conflict_as_whole_values() -> None:
    theirs = snapshot(overrides=[{"recurrence_id": MONDAY, "title": "Demo"}])
    yours = {"overrides": [{"recurrence_id": NEXT_MONDAY, "location": "Lab"}]}
    result = three_way_merge(snapshot(), theirs, yours)
    assert [c.field for c in result.conflicts] == ["overrides"]


def test_unknown_and_bookkeeping_keys_are_ignored() -> None:
    yours = {"version": 99, "updated_at": "2030-01-01T00:00:00Z", "owner": "mallory", "x": 1}
    result = three_way_merge(snapshot(), snapshot(), yours)
    assert result == MergeResult(changes={}, conflicts=(), merged=False)


def test_bookkeeping_changes_on_their_side_do_not_count_as_merged() -> None:
    theirs = snapshot(version=9, updated_at="2026-03-02T10:00:00Z")
    result = three_way_merge(snapshot(), theirs, {"title": "Retro"})
    assert result == MergeResult(changes={"title": "Retro"}, conflicts=(), merged=False)


def test_all_conflicts_reported_in_content_field_order() -> None:
    theirs = snapshot(title="T", location="L", exdates=[MONDAY], timezone="UTC")
    yours = {"exdates": [NEXT_MONDAY], "timezone": "Asia/Tokyo", "location": "M", "title": "Y"}
    result = three_way_merge(snapshot(), theirs, yours)
    assert [c.field for c in result.conflicts] == ["title", "timezone", "location", "exdates"]
    assert result.changes == {}
    assert result.merged is False


def test_an_all_day_events_times_follow_its_dates_and_are_never_merged() -> None:
    """An all-day event's times are its dates' midnights in its zone: they change with
    either, so a date moved on one side and the zone on the other touch different fields."""
    day = {"all_day": True, "start_date": "2027-02-01", "end_date": "2027-02-03"}
    base = snapshot(**day, start_time="2027-01-31T23:00:00Z", end_time="2027-02-02T23:00:00Z")
    theirs = base | {"start_date": "2027-02-02", "start_time": "2027-02-01T23:00:00Z"}
    yours = {"timezone": "America/New_York", "start_time": "2027-02-01T05:00:00Z"}
    result = three_way_merge(base, theirs, yours)
    assert result == MergeResult(
        changes={"timezone": "America/New_York"}, conflicts=(), merged=True
    )
    # what the merge writes has other times than theirs, which nobody sent: derived, not lost
    written = theirs | result.changes | {"start_time": "2027-02-02T05:00:00Z"}
    assert lost_by(base, theirs, yours, written) == ()
    # an event turned timed on one side compares its times as they are
    timed = theirs | {"all_day": False, "start_date": None, "end_date": None}
    assert [c.field for c in three_way_merge(base, timed, yours).conflicts] == ["start_time"]


def test_result_is_frozen_and_copies_inputs() -> None:
    yours = {"exdates": [MONDAY]}
    result = three_way_merge(snapshot(), snapshot(), yours)
    yours["exdates"].append(NEXT_MONDAY)
    assert result.changes == {"exdates": [MONDAY]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.merged = True  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

# Tiny value pools make "both sides picked the same value" and "you echoed base" common.
_values: dict[str, st.SearchStrategy[Any]] = {
    "title": st.sampled_from(["A", "B", "C"]),
    "description": st.sampled_from([None, "", "x", "y"]),
    "start_time": st.sampled_from(["2026-03-30T07:00:00Z", MONDAY]),
    "end_time": st.sampled_from(["2026-03-30T08:00:00Z", NEXT_MONDAY]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
    "location": st.sampled_from([None, "Room 1", "Room 2"]),
    "is_recurring": st.booleans(),
    "recurrence_pattern": st.sampled_from([None, "FREQ=DAILY"]),
    "exdates": st.sampled_from([[], [MONDAY], [MONDAY, NEXT_MONDAY]]),
    "overrides": st.sampled_from([[], [{"recurrence_id": MONDAY, "title": "Demo"}]]),
}
snapshots = st.fixed_dictionaries({}, optional={**_values, "version": st.integers(1, 5)})
patches = st.fixed_dictionaries(
    {}, optional={**_values, "version": st.integers(1, 5), "unknown": st.none()}
)


@quick
@given(base=snapshots, yours=patches)
def test_merge_onto_unchanged_base_is_the_plain_update(
    base: dict[str, Any], yours: dict[str, Any]
) -> None:
    result = three_way_merge(base, dict(base), yours)
    plain = {f: yours[f] for f in CONTENT_FIELDS if f in yours and yours[f] != base.get(f)}
    assert result == MergeResult(changes=plain, conflicts=(), merged=False)


@quick
@given(base=snapshots, theirs=snapshots, yours=patches)
def test_merge_invariants(
    base: dict[str, Any], theirs: dict[str, Any], yours: dict[str, Any]
) -> None:
    result = three_way_merge(base, theirs, yours)
    mine = [f for f in CONTENT_FIELDS if f in yours and yours[f] != base.get(f)]
    others = [f for f in CONTENT_FIELDS if theirs.get(f) != base.get(f)]
    clashing = [f for f in mine if f in others and yours[f] != theirs.get(f)]

    assert [c.field for c in result.conflicts] == clashing
    for c in result.conflicts:
        expected = (base.get(c.field), yours[c.field], theirs.get(c.field))
        assert (c.base, c.yours, c.theirs) == expected
    assert set(result.changes) == set(mine) - set(clashing)
    assert result.merged == (bool(others) and not clashing)

    applied = {**theirs, **result.changes}
    for f in mine:
        if f not in clashing:
            assert applied[f] == yours[f]
    for f in others:
        if f not in clashing:
            assert applied.get(f) == theirs.get(f)
