"""RRULE text: parse and validate it (naming the problem), in one canonical form.

Pure: only the standard library and dateutil. `plans.py` generates and `recurrence.py` expands what
this accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

MAX_COUNT = 10_000  # bigger COUNTs are rejected: a COUNT rule is iterated once to find its end
MAX_INTERVAL = 1_000  # dateutil normalises huge day steps month by month, so bound the work
MAX_RULE_CHARS = 1_000  # real rules are short; this bounds parsing and cache memory

DAY = timedelta(days=1)
_FREQS = {
    "MINUTELY": du.MINUTELY,
    "HOURLY": du.HOURLY,
    "DAILY": du.DAILY,
    "WEEKLY": du.WEEKLY,
    "MONTHLY": du.MONTHLY,
    "YEARLY": du.YEARLY,
}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDER = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
          "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")  # fmt: skip
_SINGLE = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST")
_ONLY = {
    "BYWEEKNO": "YEARLY",
    "BYYEARDAY": "MINUTELY HOURLY YEARLY",
    "BYMONTHDAY": "MINUTELY HOURLY DAILY MONTHLY YEARLY",
}
_NUMERIC = {  # name: (dateutil keyword, lowest, highest, negative values allowed)
    "INTERVAL": ("interval", 1, MAX_INTERVAL, False), "COUNT": ("count", 1, MAX_COUNT, False),
    "BYSECOND": ("bysecond", 0, 59, False), "BYMINUTE": ("byminute", 0, 59, False),
    "BYHOUR": ("byhour", 0, 23, False), "BYMONTHDAY": ("bymonthday", 1, 31, True),
    "BYYEARDAY": ("byyearday", 1, 366, True), "BYWEEKNO": ("byweekno", 1, 53, True),
    "BYMONTH": ("bymonth", 1, 12, False), "BYSETPOS": ("bysetpos", 1, 366, True),
}  # fmt: skip
_INT = re.compile(r"[+-]?\d{1,9}")
_WEEKDAY = re.compile(r"([+-]?\d{1,2})?([A-Z]{2})")
_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")
# Dates this close to datetime.min/max cannot be moved between zones without overflowing.
LOWEST = datetime(1, 1, 3, tzinfo=UTC)
HIGHEST = datetime(9999, 12, 29, tzinfo=UTC)


class RecurrenceError(ValueError):
    """Invalid rule; str(exc) is a human-readable message naming the problem."""


class UnsupportedRecurrence(RecurrenceError):
    """A valid RFC 5545 rule this service refuses by design: it would recur more often than
    once a minute (FREQ=SECONDLY, BYSECOND lists), which no calendar needs and every
    expansion would pay for."""


@dataclass(frozen=True, slots=True)
class Rule:
    parts: tuple[tuple[str, str], ...]  # canonical (NAME, value), in _ORDER
    freq: int
    interval: int
    wkst: int
    count: int | None
    until: datetime | None  # UTC
    kwargs: Mapping[str, Any]  # for dateutil.rrule, without dtstart/count/until

    def text(self, **changes: str | None) -> str:
        parts = {**dict(self.parts), **changes}
        return ";".join(f"{n}={parts[n]}" for n in _ORDER if parts.get(n) is not None)


def values(value: int | tuple[int, ...]) -> tuple[int, ...]:
    """A BY part's value in `Rule.kwargs` as a tuple (dateutil takes one int or several)."""
    return value if isinstance(value, tuple) else (value,)


def utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value.isoformat()} must be timezone-aware")
    return value.astimezone(UTC)


def clamp(value: datetime) -> datetime:
    return min(max(value, LOWEST), HIGHEST)


@lru_cache(maxsize=512)
def zone_named(name: str) -> ZoneInfo:
    """The IANA zone of that name: the one check for every zone the API takes (an event's,
    an import's default). What zoneinfo opens but is no zone (`localtime`, `Factory`,
    `posixrules`, `posix/…`, paths) is refused like an unknown name."""
    from neo_events.timezones import iana_zone_names  # local: this module's imports are shared

    if name not in iana_zone_names():
        raise RecurrenceError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecurrenceError(f"unknown time zone {name!r}") from None


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)


def localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant of a naive wall time in the zone.

    fold=0 picks the first instant of a repeated wall time and, for a wall time inside a
    gap, the offset in force before the gap: both what RFC 5545 §3.3.5 asks for. Written
    as arithmetic, which gives what `wall.replace(tzinfo=zone, fold=0).astimezone(UTC)`
    gives at a tenth of the cost (`replace` with keywords costs ~1.5 µs on CPython 3.11,
    and expansions localize every occurrence; tests/unit/test_recurrence.py compares the
    two over every zone)."""
    if wall.fold:
        wall = wall.replace(fold=0)
    offset = zone.utcoffset(wall)
    assert offset is not None  # a ZoneInfo always has one
    return _EPOCH_UTC + (wall - _EPOCH) - offset


def labelled_utc(wall: datetime) -> datetime:
    """A naive wall time's digits labelled UTC. `labelled - zone.utcoffset(labelled)` is
    then `localize(wall, zone)` in one subtraction: ZoneInfo reads only a datetime's
    fields and fold (never its tzinfo) to find the offset, and arithmetic leaves fold 0.
    For loops that localize thousands of wall times (tests/unit/test_recurrence.py holds
    them to `localize` over every zone)."""
    return _EPOCH_UTC + (wall - _EPOCH)


def wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    return clamp(instant).astimezone(zone).replace(tzinfo=None)


_TIME_PARTS = (("BYHOUR", "hour"), ("BYMINUTE", "minute"), ("BYSECOND", "second"))


def fixed_time_parts(freq: int) -> tuple[tuple[str, str], ...]:
    """The parts of the time of day (rule part, datetime field) that a rule of this
    frequency repeats unchanged from its start: all three for a daily rule or a coarser one,
    minute and second for an hourly one, the second for a minutely one. Where an occurrence
    shows another time than the rule's (a start in a spring-forward gap), these are the
    parts to spell out; an hourly rule's hour is meant to change."""
    return _TIME_PARTS[max(0, freq - du.DAILY) :]


def without_idle_setpos(rule: Rule) -> Rule:
    """The rule without a BYSETPOS that selects nothing away: where each period (a minute, an
    hour, a day) holds at most one instance, its one time of day, position 1 and -1 are that
    instance, and a BYSETPOS naming either keeps every period as it is (RFC 5545 §3.3.10).
    `FREQ=MINUTELY;BYSETPOS=1;BYHOUR=5` is then walked by days × times (`lattice`), not
    minute by minute in dateutil (a window past the limit: 70 ms → 20 ms)."""
    setpos = rule.kwargs.get("bysetpos")
    if setpos is None or rule.freq < du.DAILY or not {1, -1} & set(values(setpos)):
        return rule
    per_period = 1
    for part, _ in _TIME_PARTS[max(0, rule.freq - du.DAILY) :]:
        found = rule.kwargs.get(part.lower())
        per_period *= len(values(found)) if found is not None else 1
    if per_period > 1:
        return rule
    kwargs = {name: value for name, value in rule.kwargs.items() if name != "bysetpos"}
    parts = tuple(part for part in rule.parts if part[0] != "BYSETPOS")
    return replace(rule, parts=parts, kwargs=kwargs)


def format_utc(value: datetime) -> str:
    utc_value = value.astimezone(UTC)  # %Y does not pad years below 1000
    return f"{utc_value.year:04d}{utc_value:%m%dT%H%M%S}Z"


def _int(name: str, item: str, low: int, high: int, signed: bool) -> int:
    if not _INT.fullmatch(item):
        raise RecurrenceError(f"{name} value {item!r} is not an integer")
    value = int(item)
    if not (low <= abs(value) <= high if signed else low <= value <= high):
        span = f"±{low}..{high}" if signed else f"{low}..{high}"
        raise RecurrenceError(f"{name} value {item!r} is out of range {span}")
    return value


def _parse_until(value: str, zone: ZoneInfo) -> datetime:
    """UNTIL in UTC, within [LOWEST, HIGHEST]: an UNTIL near year 1 or 9999 (a "forever"
    some clients write) is beyond every event's reach, and so the same as those bounds."""
    match = _UNTIL.fullmatch(value)
    if not match:
        raise RecurrenceError(f"UNTIL {value!r} is not YYYYMMDD, YYYYMMDDTHHMMSS or …Z")
    try:
        wall = datetime.strptime(match[1] + (match[2] or "000000"), "%Y%m%d%H%M%S")
    except ValueError:
        raise RecurrenceError(f"UNTIL {value!r} is not a valid date") from None
    if match[3]:
        return clamp(wall.replace(tzinfo=UTC))
    try:
        if match[2] is None:  # a date-only UNTIL includes that whole local day
            return clamp(localize(wall + DAY, zone) - timedelta(seconds=1))
        return clamp(localize(wall, zone))
    except OverflowError:  # year 1 or 9999 moved into UTC
        return HIGHEST if wall.year > 1 else LOWEST


@lru_cache(maxsize=1024)
def parse_rule(rule: str, timezone: str) -> Rule:
    if len(rule) > MAX_RULE_CHARS:
        raise RecurrenceError(f"the rule is longer than {MAX_RULE_CHARS} characters")
    text = rule.strip()
    text = text[6:] if text[:6].upper() == "RRULE:" else text
    segments = text.split(";")
    if len(segments) > 1 and not segments[-1].strip():
        segments.pop()  # a trailing ';' is a common, harmless slip
    raw: dict[str, list[str]] = {}
    for segment in segments if text.strip() else ():
        name, eq, value = (s.strip().upper() for s in segment.partition("="))
        items = [item.strip() for item in value.split(",")]  # Exchange writes "MO, WE"
        if not eq or not name:
            raise RecurrenceError(f"rule part {segment.strip()!r} is not NAME=VALUE")
        if name not in _ORDER:
            raise RecurrenceError(f"unknown rule part {name!r}")
        if name in raw:
            raise RecurrenceError(f"rule part {name} appears twice")
        if not value or "" in items:
            raise RecurrenceError(f"rule part {name} has an empty value")
        if len(items) > 1 and name in _SINGLE:
            raise RecurrenceError(f"rule part {name} takes a single value")
        raw[name] = items
    freq_name = raw.get("FREQ", [""])[0]
    if freq_name == "SECONDLY":
        raise UnsupportedRecurrence(
            "FREQ=SECONDLY is not supported: events recur at most once a minute"
        )
    if len(raw.get("BYSECOND", ())) > 1:
        raise UnsupportedRecurrence(
            "BYSECOND takes one value here: events recur at most once a minute"
        )
    if freq_name not in _FREQS:
        found = f"unknown FREQ {freq_name!r}" if freq_name else "no FREQ"
        raise RecurrenceError(
            f"the rule has {found} (use MINUTELY, HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)"
        )
    if "COUNT" in raw and "UNTIL" in raw:
        raise RecurrenceError("COUNT and UNTIL cannot be used together")
    for name, freqs in _ONLY.items():
        if name in raw and freq_name not in freqs.split():
            raise RecurrenceError(f"{name} cannot be used with FREQ={freq_name}")
    if "BYSETPOS" in raw and not any(n.startswith("BY") and n != "BYSETPOS" for n in raw):
        raise RecurrenceError("BYSETPOS needs another BYxxx part to select from")
    freq, wkst = _FREQS[freq_name], raw.get("WKST", ["MO"])[0]
    if wkst not in _DAYS:
        raise RecurrenceError(f"WKST {wkst!r} is not one of {', '.join(_DAYS)}")
    # WKST is always passed: dateutil's default is calendar.firstweekday(), a process global.
    kwargs: dict[str, Any] = {"freq": freq, "wkst": _DAYS.index(wkst)}
    parts = {"FREQ": freq_name} | ({"WKST": wkst} if "WKST" in raw else {})
    for name, (keyword, low, high, signed) in _NUMERIC.items():
        if name in raw:
            values = [_int(name, item, low, high, signed) for item in raw[name]]
            kwargs[keyword] = values[0] if name in _SINGLE else tuple(values)
            parts[name] = ",".join(map(str, values))
    if "BYDAY" in raw:
        kwargs["byweekday"] = _weekdays(
            raw["BYDAY"], freq, numbered_ok="BYWEEKNO" not in raw, in_month="BYMONTH" in raw
        )
        parts["BYDAY"] = ",".join(f"{d.n or ''}{_DAYS[d.weekday]}" for d in kwargs["byweekday"])
    until = None
    if "UNTIL" in raw:
        until = _parse_until(raw["UNTIL"][0], zone_named(timezone))
        parts["UNTIL"] = format_utc(until)
    count = kwargs.pop("count", None)
    return Rule(
        tuple(parts.items()), freq, kwargs.get("interval", 1), kwargs["wkst"], count, until, kwargs
    )


def until_by_date(rule: str, zone: tzinfo) -> str:
    """The rule with its UNTIL (an instant; a floating rule's, read in UTC) as the date it
    falls on in `zone` (`UNTIL=20270320`): an all-day rule's is a date (RFC 5545: as its
    DTSTART), and a series converted between timed and all-day ends on the same day."""
    parsed = parse_rule(rule, "UTC")
    if parsed.until is None:
        return rule
    return parsed.text(UNTIL=parsed.until.astimezone(zone).strftime("%Y%m%d"))


# parts that pick days other than by weekday: a rule with one keeps its BYDAY when it moves
_PICKS_DAYS = frozenset(("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"))


def weekdays_moved(rule: str, days: int) -> str:
    """A canonical rule (`normalize_rule`'s) whose series moved `days` days: its BYDAY's
    weekdays as many days later, as calendar apps do (Monday's weekly meeting moved to
    Tuesday recurs on Tuesdays, not on Mondays after one Tuesday). Kept as it is: a rule
    with numbered weekdays (which Tuesday a "first Monday" becomes depends on the month) or
    that picks days by another part too (`_PICKS_DAYS`), and every weekday (Monday to Friday
    stays so: a stand-up moved to Tuesday does not take in Saturdays). Every other week
    (INTERVAL past 1), the week's first day (WKST) moves with them, so days on both sides of it
    stay in one week. The web client's `weekdaysMoved` does the same for a series it moves
    whole."""
    segments = rule.split(";")
    names = [segment.partition("=")[0] for segment in segments]
    if not days % 7 or "BYDAY" not in names or _PICKS_DAYS.intersection(names):
        return rule
    at = names.index("BYDAY")
    weekdays = segments[at].partition("=")[2].split(",")
    if not set(weekdays) <= set(_DAYS) or set(weekdays) == set(_DAYS[:5]):
        return rule

    def moved(day: str) -> str:
        return _DAYS[(_DAYS.index(day) + days) % 7]

    segments[at] = "BYDAY=" + ",".join(moved(d) for d in weekdays)
    values = dict(segment.partition("=")[::2] for segment in segments)
    if int(values.get("INTERVAL", "1")) > 1:
        week_start = "WKST=" + moved(values.get("WKST", "MO"))
        if "WKST" in names:
            segments[names.index("WKST")] = week_start
        else:
            segments.append(week_start)  # (WKST is the last part of a canonical rule)
    return ";".join(segments)


def _weekdays(
    items: list[str], freq: int, numbered_ok: bool, in_month: bool
) -> tuple[du.weekday, ...]:
    """The weekdays of a BYDAY; a number counts within the month for MONTHLY, and for YEARLY
    with BYMONTH (RFC 5545 §3.3.10), else within the year. (Past ±5 within a month no month
    has the day; dateutil raised IndexError on `53TH` with BYMONTH: a 500 before.)"""
    days, limit = [], 5 if freq == du.MONTHLY or in_month else 53
    for item in items:
        match = _WEEKDAY.fullmatch(item)
        if not match or match[2] not in _DAYS:
            raise RecurrenceError(f"BYDAY value {item!r} is not a weekday like MO, 2TU or -1FR")
        day = du.weekdays[_DAYS.index(match[2])]
        if match[1] is None:
            days.append(day)
            continue
        if freq not in (du.MONTHLY, du.YEARLY) or not numbered_ok:
            raise RecurrenceError(
                f"BYDAY {item!r}: numbered weekdays need MONTHLY or YEARLY without BYWEEKNO"
            )
        if not 1 <= abs(int(match[1])) <= limit:
            raise RecurrenceError(f"BYDAY value {item!r} is out of range ±1..{limit}")
        days.append(day(int(match[1])))
    # Mixed plain and numbered weekdays mean their union; dateutil would intersect them, so
    # plans.py generates each kind on its own (never hand this rule to dateutil as is).
    return tuple(days)


def wall_bounds(lo: datetime, hi: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The wall times whose instants can lie in [lo, hi]: a wall time is its instant plus
    an offset in force within a day of it (a gap's wall time takes the offset before it),
    so lo plus the least offset near lo, to hi plus the greatest near hi. Tighter than a
    day's slack either side, which a rule of every minute would generate 2,880 times.

    The offsets near an instant are remembered by its UTC day (`_offsets_near`): every
    series of a calendar read asks this of a window widened by its own duration, so the
    instants themselves rarely repeat, and their days do."""
    lo, hi = clamp(utc(lo)), clamp(utc(hi))
    least = _offsets_near(lo.toordinal(), zone)[0]
    greatest = _offsets_near(hi.toordinal(), zone)[1]
    return clamp(lo + least).replace(tzinfo=None), clamp(hi + greatest).replace(tzinfo=None)


@lru_cache(maxsize=4096)
def _offsets_near(day: int, zone: ZoneInfo) -> tuple[timedelta, timedelta]:
    """The least and the greatest offset of the zone at the UTC midnights from the day
    before `day` (an ordinal) to the day after it ends: every offset in force within a day
    of an instant of that day, as long as the zone changes its offset at most once a day."""
    midnight = datetime.combine(date.fromordinal(day), time(), UTC)
    found = [
        offset
        for shift in (-1, 0, 1, 2)
        if (offset := clamp(midnight + shift * DAY).astimezone(zone).utcoffset()) is not None
    ]
    return min(found), max(found)
