"""A write's occurrence keys (exdates, rdates, overrides' recurrence ids) checked together:
which are original starts of the series, as `recurrence.occurrence_at` says of each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from neo_events.events.recurrence import Series, is_original, rdates_within, ruled_originals
from neo_events.events.rrule import utc

# Instants asked about together that lie within this span of the first of them are one
# group; a group of at least GROUP_MIN is walked once over its span, if that meets at most
# GROUP_WALK_PER_INSTANT originals per instant asked (+ GROUP_WALK_SLACK). Smaller groups
# are asked at each instant: a walk of a daily rule over a month (31 originals) costs more
# than two look-ups, and one given up after its budget would cost them both.
GROUP_SPAN = timedelta(days=31)
GROUP_MIN = 8
GROUP_WALK_PER_INSTANT = 2
GROUP_WALK_SLACK = 8


def originals_among(series: Series, candidates: Iterable[datetime]) -> set[datetime]:
    """Which of these instants (UTC) are original occurrence starts of the series (exdates
    ignored): `occurrence_at` of each, asked together. A series' exceptions (up to a
    thousand of each kind) cluster where its occurrences were changed, so where GROUP_MIN or
    more lie within GROUP_SPAN the rule is walked once over their span and stopped after two
    originals per instant asked; a group the walk does not finish within that, and a small
    one, is checked at each instant. A walk given up costs at most a few originals per
    instant on top of the look-ups (tested against asking each, for spread-out keys), and
    a dense cluster costs far less: 3,000 exceptions of an every-7-minutes series are a few
    walks of a few days, not 3,000 look-ups of a day's walls each."""
    wanted = sorted({utc(c) for c in candidates})
    found: set[datetime] = set()
    first = 0
    while first < len(wanted):
        last = first
        while last + 1 < len(wanted) and wanted[last + 1] - wanted[first] <= GROUP_SPAN:
            last += 1
        group = wanted[first : last + 1]
        first = last + 1
        walked = _walk(series, group) if len(group) >= GROUP_MIN else None
        if walked is None:
            found.update(instant for instant in group if is_original(series, instant))
        else:
            found.update(instant for instant in group if instant in walked)
    return found


def _walk(series: Series, group: list[datetime]) -> set[datetime] | None:
    """The originals in [group[0], group[-1]], or None if there are more than the group's
    budget (then it is cheaper to ask at each instant)."""
    budget = GROUP_WALK_PER_INSTANT * len(group) + GROUP_WALK_SLACK
    walked = set(rdates_within(series, group[0], group[-1]))  # the rule's, and these
    for instant in ruled_originals(series, group[0], group[-1]):
        walked.add(instant)
        if len(walked) > budget:
            return None
    return walked if len(walked) <= budget else None
