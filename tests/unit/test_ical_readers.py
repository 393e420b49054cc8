"""The RRULE an export writes for readers (`ical.readers.readers_rule`): held to what dateutil
itself reads (the oracle below walks it, as readers do), and bounded where dateutil is not."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neo_events.events import recurrence
from neo_events.events.recurrence import RecurrenceError, normalize_rule
from neo_events.events.rrule import MAX_COUNT, format_utc, parse_rule
from neo_events.ical.readers import readers_rule
from tests.timing import budget


def dateutil_reads(
    rule: str, start: datetime, end: datetime, name: str, shown: datetime
) -> tuple[str, bool]:
    """What `readers_rule` answers, worked out by walking dateutil as readers do (unbounded:
    for the rules below, which dateutil walks quickly)."""
    dtstart = shown.astimezone(ZoneInfo(name))
    read = (t.astimezone(UTC) for t in du.rrulestr(rule, dtstart=dtstart))
    name_start = next(read, None) != shown
    parsed = parse_rule(rule, name)
    if parsed.count is None:
        return rule, name_start
    bare = recurrence.Series(start, end, name, rule)
    last = recurrence.series_end(bare)
    assert last is not None
    ours = {
        o.recurrence_id
        for o in recurrence.expand(bare, bare.start, last + timedelta(seconds=1), limit=MAX_COUNT)
    }
    as_read = {shown, *(t.astimezone(UTC) for t in du.rrulestr(rule, dtstart=dtstart))}
    if as_read == {shown if t == bare.start else t for t in ours}:
        return rule, name_start
    return parsed.text(COUNT=None, UNTIL=format_utc(max(ours))), name_start


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
SHAPES = [
    "FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=1,2,3",
    "FREQ=DAILY;BYHOUR=2;BYMINUTE=0,30",
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=HOURLY;BYHOUR=2,3",
    "FREQ=MINUTELY;INTERVAL=45;BYHOUR=1,2,3",
    "FREQ=WEEKLY;BYDAY=TU",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1,-1",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=TU,-1TU",  # every Tuesday to us, the last one to dateutil
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    shape=st.sampled_from(SHAPES),
    ends=st.sampled_from(
        ["", ";COUNT=1", ";COUNT=2", ";COUNT=7", ";UNTIL=20280101T000000Z", "soon"]
    ),
    zone=st.sampled_from(ZONES),
    # around the spring and autumn changes of 2026 in both hemispheres, and anywhere
    start=st.one_of(
        st.datetimes(datetime(2026, 3, 26), datetime(2026, 4, 6)),
        st.datetimes(datetime(2026, 10, 1), datetime(2026, 11, 2)),
        st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)),
    ),
)
def test_the_rule_written_is_the_one_dateutil_reads(
    shape: str, ends: str, zone: str, start: datetime
) -> None:
    begin = start.replace(second=0, microsecond=0, tzinfo=UTC)
    if ends == "soon":  # an UNTIL the rule may reach first after it, or not at all
        ends = f";UNTIL={format_utc(begin + timedelta(hours=20))}"
    try:
        rule = normalize_rule(shape + ends, start=begin, timezone=zone)
    except RecurrenceError:
        assume(False)
    end = begin + timedelta(minutes=30)
    shown = begin.astimezone(ZoneInfo(zone)).replace(fold=0).astimezone(UTC)
    assert readers_rule(rule, begin, end, zone, shown) == dateutil_reads(
        rule, begin, end, zone, shown
    )


def test_a_rule_dateutil_reads_as_never_is_written_as_the_oracle_says() -> None:
    # MO,1TU: every Monday and the first Tuesday to us, Mondays that are first Tuesdays
    # (none) to dateutil, which the oracle walks to year 9999 and readers_rule as far as a
    # search of the plan may
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for ends in ("", ";COUNT=7"):
        rule = normalize_rule("FREQ=MONTHLY;BYDAY=MO,1TU" + ends, start=start, timezone="UTC")
        end = start + timedelta(hours=1)
        assert readers_rule(rule, start, end, "UTC", start) == dateutil_reads(
            rule, start, end, "UTC", start
        )


# A minutely rule that falls only on a Sunday 31 December: its fourteenth time is 98 years
# on, which dateutil reached minute by minute (4.6 s; an outside attack's export, #16).
SPARSE = "FREQ=MINUTELY;BYMONTH=12;BYMONTHDAY=31;BYDAY=SU;BYHOUR=23;BYMINUTE={minute}"


@pytest.mark.parametrize("ends", [";COUNT=14", ";UNTIL=20990101T000000Z", ""])
def test_a_sparse_sub_daily_rule_is_read_within_a_bound(ends: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.process_time()
    for minute in range(3):  # not the cache's answer
        rule = normalize_rule(SPARSE.format(minute=minute) + ends, start=start, timezone="UTC")
        written, name_start = readers_rule(rule, start, start + timedelta(hours=1), "UTC", start)
        assert name_start  # 1 January is no Sunday 31 December
        assert ("UNTIL=" in written) == bool(ends)  # a COUNT that readers count off by one
    assert time.process_time() - started < budget(0.5)
