"""ical/folding.py writes what icalendar writes: each content line cut where icalendar's own
fold cuts it, and whole components byte for byte (the real-world samples' components, parsed
and written again)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.parser import Contentline

from neo_events.ical.folding import fold, to_ical

# the repository's copy of the real-world samples (tests/fixtures/ics/README.md), not the
# team's shared folder beside the checkout: a clone elsewhere (CI) has only this one
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "ics"

# ASCII, the two escapes icalendar keeps whole, and characters of two, three and four octets
_CHARACTERS = st.sampled_from(list('ab ;:,\\^"') + ["é", "ß", "中", "€", "😀", "\u200d"])


@settings(max_examples=2_000, deadline=None)
@given(st.lists(_CHARACTERS, max_size=400).map("".join))
def test_a_line_is_cut_where_icalendar_cuts_it(line: str) -> None:
    assert fold(line) == Contentline(line).to_ical()


@pytest.mark.parametrize(
    "line",
    [
        "",
        "x" * 74,
        "x" * 75,
        "x" * 73 + "\\n" + "y" * 100,  # an escape at the cut moves to the next line
        "\\" * 300,
        "^" * 75 + "é" * 100,
        "DESCRIPTION:" + "中文" * 200,
        "X:" + "😀" * 80,
    ],
)
def test_the_edges_of_a_cut(line: str) -> None:
    assert fold(line) == Contentline(line).to_ical()


def _components() -> list[tuple[str, object]]:
    found = []
    for path in sorted(SAMPLES.glob("*.ics")):
        try:
            with warnings.catch_warnings():  # a guessed TZID: what the codec decides, not here
                warnings.simplefilter("ignore")
                calendars = Calendar.from_ical(path.read_bytes(), multiple=True)
        except ValueError:
            continue  # the samples icalendar cannot read whole are tested by the codec
        for calendar in calendars:
            found.append((path.name, calendar))
            found.extend((path.name, c) for c in calendar.subcomponents)
    return found


def test_the_samples_components_are_written_byte_for_byte() -> None:
    components = _components()
    assert len(components) > 500  # the samples were found and read
    for name, component in components:
        assert to_ical(component) == component.to_ical(), name  # type: ignore[attr-defined]
