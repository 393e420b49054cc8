"""Cross-check expand() against recurring-ical-events on random rules, zones and DST windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neo_events.events.recurrence import RecurrenceError, Series, expand, normalize_rule

# Local wall times of DST changes (or any date for zones without DST) to draw starts near.
TRANSITIONS = {
    "Europe/Berlin": [datetime(2026, 3, 29, 2), datetime(2026, 10, 25, 2, 30)],
    "America/New_York": [datetime(2026, 3, 8, 2, 30), datetime(2026, 11, 1, 1, 30)],
    "Australia/Lord_Howe": [datetime(2026, 4, 5, 1, 45), datetime(2026, 10, 4, 2, 15)],
    "Asia/Kolkata": [datetime(2026, 3, 29, 2)],
    "UTC": [datetime(2026, 3, 29, 2)],
}
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
MARGIN = timedelta(days=3)


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 3))}"]
    by = draw(st.sampled_from(["none", "byday", "nth", "monthday", "setpos"]))
    if by in ("byday", "setpos") or (by == "nth" and freq in ("DAILY", "WEEKLY")):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        # An empty rule is rejected, but only after normalize_rule scanned to year 9999 (about
        # 1 s for DAILY/WEEKLY); keep BYSETPOS within reach to keep this test fast.
        if by == "setpos" and freq != "DAILY":
            reach = len(days) if freq == "WEEKLY" else 2
            parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1, reach, -reach]))}")
    elif by == "nth":
        parts.append(f"BYDAY={draw(st.sampled_from([1, 2, 3, -1]))}{draw(st.sampled_from(DAYS))}")
    elif by == "monthday" and freq != "WEEKLY":
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 13, 29, 30, 31, -1, -3]))}")
    if draw(st.integers(0, 2)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    return ";".join(parts)


def ical_starts(series: Series, lo: datetime, hi: datetime) -> list[datetime]:
    wall = series.start.astimezone(ZoneInfo(series.timezone)).replace(tzinfo=None)
    dtstart = (
        f"DTSTART:{wall:%Y%m%dT%H%M%S}Z"
        if series.timezone == "UTC"
        else f"DTSTART;TZID={series.timezone}:{wall:%Y%m%dT%H%M%S}"
    )
    text = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//neo-events//oracle//EN",
            "BEGIN:VEVENT",
            "UID:oracle@neo-events",
            "DTSTAMP:20260101T000000Z",
            dtstart,
            "DURATION:PT30M",
            f"RRULE:{series.rule}",
            "SUMMARY:oracle",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    calendar = icalendar.Calendar.from_ical(text)
    found = recurring_ical_events.of(calendar).between(lo - MARGIN, hi + MARGIN)
    return [event["DTSTART"].dt.astimezone(UTC) for event in found]


def matches_rule(series: Series) -> bool:
    """Whether the rule itself generates DTSTART (dateutil alone, without COUNT/UNTIL)."""
    assert series.rule is not None
    wall = series.start.astimezone(ZoneInfo(series.timezone)).replace(tzinfo=None)
    parts = [p for p in series.rule.split(";") if not p.startswith(("COUNT=", "UNTIL="))]
    return next(iter(rrulestr(";".join(parts), dtstart=wall))) == wall


@settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    rule=rules(),
    tz=st.sampled_from(sorted(TRANSITIONS)),
    anchor=st.integers(0, 1),
    start_days=st.integers(-400, 60),
    start_minutes=st.sampled_from([0, 15, 30, 45, 60, 90, -30, -60, 600, 1200]),
    end=st.sampled_from(["open", "count", "until"]),
    count=st.integers(1, 80),
    until_days=st.integers(20, 900),
    window_anchor=st.integers(0, 3),
    window_days=st.integers(-30, 700),
    window_length=st.integers(10, 200),
)
def test_expand_agrees_with_recurring_ical_events(
    rule: str,
    tz: str,
    anchor: int,
    start_days: int,
    start_minutes: int,
    end: str,
    count: int,
    until_days: int,
    window_anchor: int,
    window_days: int,
    window_length: int,
) -> None:
    zone = ZoneInfo(tz)
    transitions = TRANSITIONS[tz]
    wall = transitions[anchor % len(transitions)] + timedelta(
        days=start_days, minutes=start_minutes
    )
    start = wall.replace(tzinfo=zone)
    # Known policy difference: a Series start is an instant, so a DTSTART wall time that does
    # not exist (02:30 on a spring-forward day) reaches us as the instant 07:30Z, whose wall
    # time is 03:30, and later occurrences keep 03:30; recurring-ical-events keeps 02:30.
    # Generated occurrences in a gap are still compared (both use the offset before the gap).
    assume(start.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall)
    if end == "count":
        rule += f";COUNT={count}"
    elif end == "until":
        rule += f";UNTIL={start.astimezone(UTC) + timedelta(days=until_days):%Y%m%dT%H%M%SZ}"
    try:
        canonical = normalize_rule(rule, start=start, timezone=tz)
    except RecurrenceError:
        assume(False)  # e.g. BYMONTHDAY=30 with a BYDAY=2MO that never meet
        raise
    series = Series(start, start.astimezone(UTC) + timedelta(minutes=30), tz, canonical)
    # Known policy difference: RFC 5545 says DTSTART is always the first instance and COUNT
    # counts it. recurring-ical-events also emits a DTSTART that the rule does not generate,
    # but then emits COUNT more instances from the rule (one too many). Only that case is
    # left out; a matching DTSTART, or a non-matching one without COUNT, is compared.
    assume(end != "count" or matches_rule(series))
    # Known difference: for FREQ=WEEKLY with BYSETPOS, dateutil (under recurring-ical-events)
    # takes the positions in DTSTART's week from DTSTART on only; RFC 5545 and expand() take
    # them in the whole week. It shows only when DTSTART is not on the week's first day.
    wkst = canonical.split("WKST=")[1][:2] if "WKST=" in canonical else "MO"
    partial_week = wall.weekday() != DAYS.index(wkst)
    assume(not ("FREQ=WEEKLY" in canonical and "BYSETPOS" in canonical and partial_week))

    if end == "count":  # the series is finite: compare all of it
        lo, hi = start.astimezone(UTC) - timedelta(days=1), datetime(3000, 1, 1, tzinfo=UTC)
    elif window_anchor < 2:  # a window around a DST change in one of the next two years
        near = transitions[window_anchor % len(transitions)].replace(tzinfo=zone)
        lo = near.astimezone(UTC) + timedelta(days=365 * (window_days % 3) - window_days % 20)
    elif window_anchor == 2:  # from just before the start, to see where COUNT ends
        lo = start.astimezone(UTC) - timedelta(days=window_days % 20, hours=window_days % 24)
    else:  # anywhere after the start
        lo = start.astimezone(UTC) + timedelta(days=window_days, hours=window_days % 24)
    hi = lo + timedelta(days=window_length)
    ours = [o.start for o in expand(series, lo - MARGIN, hi + MARGIN) if lo <= o.start < hi]
    theirs = [s for s in ical_starts(series, lo, hi) if lo <= s < hi]
    assert len(ours) == len(set(ours))
    assert sorted(ours) == sorted(set(theirs)), canonical
