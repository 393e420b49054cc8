"""Occurrence keys (exdates, rdates, recurrence ids) read and made canonical quicker, as before:
`fields.plain_instant` (`schemas.DayOrInstant`'s reading of the usual text) reads what the
`Instant` type reads and nothing it refuses, compared on texts of its shape, valid or not, and
at the edges (offsets, the supported range, leap seconds); `content.canonical_value` orders a
list as sorting its texts by `occurrence_order` did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from neo_events import fields
from neo_events.events import content
from neo_events.events.schemas import DayOrInstant
from neo_events.fields import Instant, plain_instant

_INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
NY = ZoneInfo("America/New_York")
_KEY: TypeAdapter[object] = TypeAdapter(DayOrInstant)


def _as_instant_reads(text: str) -> datetime | None:
    try:
        return _INSTANT.validate_python(text)
    except ValidationError:
        return None


def _same_reading(text: str) -> None:
    quick, full = plain_instant(text), _as_instant_reads(text)
    if quick is not None:
        assert full == quick and quick.tzinfo is UTC and full.tzinfo is UTC, text
        assert _KEY.validate_python(text) == quick
    else:  # refused by both, or not of the quick shape (then read by the type, as before)
        assert full is None or fields._PLAIN.fullmatch(text) is None, text


_DIGITS = st.text("0123456789", min_size=2, max_size=2)


@st.composite
def _shaped(draw: st.DrawFn) -> str:
    """Texts of the quick shape, their fields anywhere in two digits (a month 00 or 13, an
    hour 24, a second 60, an offset of +24:00 included)."""
    year = draw(st.sampled_from(["1899", "1900", "1999", "2030", "2199", "2200", "2201", "0000"]))
    parts = [draw(_DIGITS) for _ in range(5)]
    zone = draw(st.one_of(st.just("Z"), st.tuples(st.sampled_from("+-"), _DIGITS, _DIGITS)))
    offset = zone if isinstance(zone, str) else f"{zone[0]}{zone[1]}:{zone[2]}"
    return f"{year}-{parts[0]}-{parts[1]}T{parts[2]}:{parts[3]}:{parts[4]}{offset}"


@st.composite
def _real(draw: st.DrawFn) -> str:
    """Real instants near the supported range's ends and between, in offsets of the world."""
    when = draw(st.datetimes(datetime(1899, 12, 30), datetime(2200, 1, 2)))
    minutes = draw(st.integers(-14 * 60, 14 * 60))
    zone = UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
    text = when.replace(microsecond=0, tzinfo=zone).isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


@settings(max_examples=3_000, deadline=None)
@given(st.one_of(_shaped(), _real()))
@example("1900-01-01T00:00:00Z")
@example("1899-12-31T23:59:59Z")
@example("1900-01-01T01:00:00+01:00")
@example("2200-01-01T00:00:00Z")
@example("2200-01-01T00:00:01Z")
@example("2199-12-31T23:00:00-01:00")
@example("2030-06-30T23:59:60Z")
@example("2030-02-29T10:00:00Z")
@example("2028-02-29T10:00:00Z")
@example("2030-01-01T24:00:00Z")
@example("2030-01-01T10:00:00+23:59")
@example("2030-01-01T10:00:00+24:00")
@example("2030-01-01T10:00:00-00:00")
def test_the_quick_reading_is_the_types(text: str) -> None:
    _same_reading(text)


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-01T10:00:00.5Z",  # a fraction: cut to the second by the type
        "2030-01-01t10:00:00z",
        "2030-01-01 10:00:00Z",
        "2030-01-01T10:00Z",
        "2030-01-01T10:00:00",  # no offset: refused by the type
        "2030-01-01T10:00:00+0100",
        "20300101T100000Z",
        "2030-01-01",
        " 2030-01-01T10:00:00Z",
        "2030-01-01T10:00:00Z ",
        "2030-01-01T10:00:00Z\n",
        "٢٠٣٠-01-01T10:00:00Z",  # other digits: no match of [0-9]
    ],
)
def test_other_spellings_are_left_to_the_type(text: str) -> None:
    assert plain_instant(text) is None
    _same_reading(text)


@st.composite
def _keys(draw: st.DrawFn) -> list[object]:
    """Occurrence keys as a request schema or a caller hands them over: aware instants in
    any offset or a zone (one instant in several; a fold's two times of one zone compare by
    their wall clocks), dates, their texts, a naive instant now and then."""
    instants = st.datetimes(datetime(1900, 1, 2), datetime(2199, 12, 30)).map(
        lambda d: d.replace(microsecond=0)
    )
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    zones = st.sampled_from([NY, ZoneInfo("Europe/Berlin")])
    aware = st.builds(
        lambda d, z: d.replace(tzinfo=UTC).astimezone(z), instants, st.one_of(offsets, zones)
    )
    key = st.one_of(aware, instants, st.dates(datetime(1900, 1, 2).date()), aware.map(str))
    values = draw(st.lists(key, max_size=30))
    return values + draw(st.lists(st.sampled_from(values), max_size=5)) if values else values


@settings(max_examples=500, deadline=None)
@given(_keys())
@example([datetime(2030, 11, 3, 1, 30, fold=1, tzinfo=NY), datetime(2030, 11, 3, 1, 45, tzinfo=NY)])
def test_canonical_lists_are_the_texts_sorted_as_occurrence_order_sorts_them(
    values: list[object],
) -> None:
    """`canonical_value` orders a list by its values, not its texts parsed again: its distinct
    texts, in `occurrence_order`."""
    if any(isinstance(v, datetime) and v.tzinfo is None for v in values) and any(
        isinstance(v, datetime) and v.tzinfo is not None for v in values
    ):
        values = [v for v in values if not isinstance(v, datetime) or v.tzinfo is not None]
    texts = {content._key(v) for v in values}
    for name in ("exdates", "rdates"):
        found = content.canonical_value(name, values)
        assert sorted(found) == sorted(texts)  # each text once
        order = [content.occurrence_order(text) for text in found]
        assert order == sorted(order)  # (texts of one instant, a string's and a value's, tie)
