"""`prior_clashes`: a move's clashes less those its occurrences had before it (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neo_events.events import prior_clashes
from neo_events.events.conflicts import Busy
from neo_events.events.prior_clashes import Span, predecessors, sweep
from neo_events.events.recurrence import Override, Series


def at(hour: float, day: int = 4) -> datetime:
    return datetime(2026, 5, day, tzinfo=UTC) + timedelta(hours=hour)


WINDOW = (at(0, 1), at(0, 30))


def test_a_calendar_entry_is_prior_only_for_the_occurrences_whose_old_one_it_overlapped() -> None:
    entry = Busy(at(10), at(11), 7)
    # two added occurrences overlap the entry: the first replaced one that overlapped it,
    # the second replaced one that did not, so the entry is the move's own clash
    first, second = (at(10), at(11.5)), (at(10.5), at(10.75))
    replaced = {first: ((at(10), at(11)),), second: ((at(15), at(16)),)}
    assert sweep_with(replaced, [first, second], [entry]) == [entry]
    assert sweep_with({first: ((at(10), at(11)),)}, [first], [entry]) == []


def sweep_with(
    replaced: dict[Span, tuple[Span, ...]], added: list[Span], calendar: list[Busy]
) -> list[Busy]:
    """`sweep`'s steps for one candidate whose replaced occurrences are given."""
    prior = prior_clashes.met_before(replaced, calendar, 1)
    [found] = prior_clashes.sweep_conflicts([added], calendar, excluded=[1], limit=100 + len(prior))
    return prior_clashes.own(found, added, replaced, prior)


def test_a_single_event_replaces_its_one_occurrence_and_a_series_by_recurrence_id() -> None:
    single = Series(at(10), at(11), "UTC", None)
    resized = Series(at(10), at(11.5), "UTC", None)
    assert predecessors(resized, single, WINDOW, 100) == {(at(10), at(11.5)): ((at(10), at(11)),)}
    assert predecessors(single, single, WINDOW, 100) == {}
    weekly = Series(at(10), at(11), "UTC", "FREQ=WEEKLY")
    moved = Series(
        at(10),
        at(11),
        "UTC",
        "FREQ=WEEKLY",
        overrides=(Override(at(10, 11), at(9, 11), at(11, 11)),),
    )
    assert predecessors(moved, weekly, WINDOW, 100) == {
        (at(9, 11), at(11, 11)): ((at(10, 11), at(11, 11)),)
    }
    # each occurrence made longer: the same recurrence ids, each replacing its own
    longer = Series(at(10), at(11.5), "UTC", "FREQ=WEEKLY")
    found = predecessors(longer, weekly, WINDOW, 100)
    assert found[at(10, 11), at(11.5, 11)] == ((at(10, 11), at(11, 11)),) and len(found) == 4
    # the series moved whole: new recurrence ids, nothing known replaced
    assert (
        predecessors(Series(at(10.25), at(11.25), "UTC", "FREQ=WEEKLY"), weekly, WINDOW, 100) == {}
    )


def test_a_write_that_replaces_nothing_sweeps_as_a_create() -> None:
    entry = Busy(at(10), at(11), 7)
    assert sweep(
        [(Series(at(10), at(11), "UTC", None), None, None)],
        [[(at(10), at(11))]],
        [entry],
        [None],
        100,
        100,
    ) == [[entry]]


def test_occurrences_are_told_apart_by_recurrence_id_where_their_times_meet() -> None:
    """The 11th moved to 09:00-11:00 on the 4th, where the 4th's own occurrence (10:00-11:00)
    clashes with an entry: that clash is the 11th's own (it replaced one far from it); and
    where two occurrences are moved to the same times, one of them from far away, too."""
    entry = Busy(at(10), at(11), 7)
    weekly = Series(at(10), at(11), "UTC", "FREQ=WEEKLY")
    onto = Override(at(10, 11), at(9), at(11))
    moved = Series(at(10), at(11), "UTC", "FREQ=WEEKLY", overrides=(onto,))
    assert predecessors(moved, weekly, WINDOW, 100) == {
        (at(9), at(11)): ((at(10, 11), at(11, 11)),)
    }
    first = Override(at(10), at(9), at(11))
    was = Series(at(10), at(11), "UTC", "FREQ=WEEKLY", overrides=(first,))
    both = Series(at(10), at(11), "UTC", "FREQ=WEEKLY", overrides=(first, onto))
    # the 4th was there already: only the 11th is added, and it replaced one far away
    assert predecessors(both, was, WINDOW, 100) == {(at(9), at(11)): ((at(10, 11), at(11, 11)),)}
    assert sweep_with(predecessors(both, was, WINDOW, 100), [(at(9), at(11))], [entry]) == [entry]
    # both moved there in one write: the 4th's clash is older, the 11th's is not
    assert predecessors(both, weekly, WINDOW, 100) == {
        (at(9), at(11)): ((at(10), at(11)), (at(10, 11), at(11, 11)))
    }
    assert sweep_with(predecessors(both, weekly, WINDOW, 100), [(at(9), at(11))], [entry]) == [
        entry
    ]
    # ...and with one that was cancelled before: it replaced none, so the clash is new
    cancelled = Series(at(10), at(11), "UTC", "FREQ=WEEKLY", exdates=(at(10, 11),))
    assert predecessors(both, cancelled, WINDOW, 100) == {}
