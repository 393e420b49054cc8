"""A field conflicts only when both sides changed it since base to different values."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neo_events.history.diff import CONTENT_FIELDS, complete, derived_in

__all__ = ["FieldConflict", "MergeResult", "three_way_merge"]


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field that you and someone else both changed, to different values."""

    field: str
    base: Any
    yours: Any
    theirs: Any


@dataclass(frozen=True, slots=True)
class MergeResult:
    """Outcome of merging a client's edit onto the current snapshot."""

    # Your real changes, minus conflicting fields; write these on top of `theirs`, but only
    # when `conflicts` is empty - otherwise the edit must be rejected or resolved first.
    changes: dict[str, Any]
    conflicts: tuple[FieldConflict, ...]
    # True when someone else changed a content field since base and nothing conflicts.
    merged: bool


def three_way_merge(
    base: Mapping[str, Any], theirs: Mapping[str, Any], yours: Mapping[str, Any]
) -> MergeResult:
    """Merge a partial edit (yours) made against base onto the current snapshot (theirs).

    Only CONTENT_FIELDS take part; other keys in `yours` (version, updated_at, ...) are
    ignored, and a missing field counts as None. A field in `yours` equal to base is not a
    change, so a PATCH body that echoes unchanged fields never undoes someone else's edit.
    Both sides changing a field to the same value is not a conflict.

    `exdates` and `overrides` are compared as whole values, not element by element: both
    sides changing them differently is a conflict even if they touched different dates.
    Element-wise merging would need recurrence rules (an override for a date the other side
    cancelled, say) that belong in the recurrence code, not here; a conflict the user sees is
    safer than a silent merge that resurrects or drops an occurrence.

    Values must be in the same JSON-compatible form as the snapshots (e.g. RFC 3339 strings,
    sorted lists), since equality is plain `==`.
    """
    changes: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    they_changed_any = False
    base, theirs = complete(base), complete(theirs)  # a base from before a field existed
    # An all-day event's times follow from its dates and zone, which merge on their own (a
    # date moved on one side and the zone changed on the other is both: the new dates'
    # midnights in the new zone, `build_content`), so they are never a change or a conflict.
    derived = derived_in(base, theirs, {"all_day": yours.get("all_day", theirs["all_day"])})
    for field in CONTENT_FIELDS:
        base_value = base.get(field)
        their_value = theirs.get(field)
        they_changed = their_value != base_value
        they_changed_any = they_changed_any or they_changed
        if field not in yours or yours[field] == base_value or field in derived:
            continue
        your_value = yours[field]
        if they_changed and your_value != their_value:
            conflicts.append(
                FieldConflict(
                    field=field,
                    base=copy.deepcopy(base_value),
                    yours=copy.deepcopy(your_value),
                    theirs=copy.deepcopy(their_value),
                )
            )
        else:
            # Copied so that mutating the request body later cannot alter what gets written.
            changes[field] = copy.deepcopy(your_value)
    return MergeResult(
        changes=changes,
        conflicts=tuple(conflicts),
        merged=they_changed_any and not conflicts,
    )


def lost_by(
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    sent: Mapping[str, Any],
    result: Mapping[str, Any],
) -> tuple[FieldConflict, ...]:
    """The fields a merged edit would change without having sent them that another writer
    changed since its base: what validation changes as a consequence of the edit (a series
    moved drops the exceptions no longer on one of its occurrences, `build_content`). Their
    sender never saw those changes, so each is a conflict, not a silent loss (an outside
    attack moved a series against an older version, and the exdates and overrides made
    since were dropped). `result`: the whole content the merge would write."""
    base, theirs = complete(base), complete(theirs)
    derived = derived_in(base, theirs, result)  # an all-day event's times: of its dates
    return tuple(
        FieldConflict(
            field=field,
            base=copy.deepcopy(base.get(field)),
            yours=copy.deepcopy(result.get(field)),
            theirs=copy.deepcopy(theirs.get(field)),
        )
        for field in CONTENT_FIELDS
        if field not in sent
        and field not in derived
        and result.get(field) != theirs.get(field)
        and base.get(field) != theirs.get(field)
    )
