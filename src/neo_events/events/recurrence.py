"""RFC 5545 recurrence in the event's wall clock: DTSTART is always the first occurrence."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

MAX_COUNT = 100_000  # bigger COUNTs are rejected: a COUNT rule is iterated once to find its end
MAX_INTERVAL = 1_000  # dateutil normalises huge day steps month by month, so bound the work

_DAY = timedelta(days=1)
_FREQS = {"DAILY": du.DAILY, "WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY, "YEARLY": du.YEARLY}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDER = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
          "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")  # fmt: skip
_SINGLE = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST")
_ONLY = {"BYWEEKNO": "YEARLY", "BYYEARDAY": "YEARLY", "BYMONTHDAY": "DAILY MONTHLY YEARLY"}
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
_LOWEST = datetime(1, 1, 3, tzinfo=UTC)
_HIGHEST = datetime(9999, 12, 29, tzinfo=UTC)


class RecurrenceError(ValueError):
    """Invalid rule; str(exc) is a human-readable message naming the problem."""


class ExpansionLimitExceeded(Exception):
    """More occurrences overlap the window than the caller's limit allows."""


@dataclass(frozen=True, slots=True)
class Override:
    """A change to one occurrence, keyed by its original start instant."""

    recurrence_id: datetime
    start: datetime | None = None
    end: datetime | None = None
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Series:
    """An event and its recurrence; `rule` None means a single event."""

    start: datetime
    end: datetime
    timezone: str
    rule: str | None
    exdates: tuple[datetime, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One expanded occurrence, all datetimes in UTC."""

    recurrence_id: datetime
    start: datetime
    end: datetime
    override: Override | None


@dataclass(frozen=True, slots=True)
class _Rule:
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


@dataclass(frozen=True, slots=True)
class _Plan:
    rule: _Rule
    zone: ZoneInfo
    start: datetime  # UTC first occurrence
    dt0: datetime  # naive wall-clock DTSTART handed to dateutil
    explicit: Mapping[str, Any]  # kwargs plus the defaults dateutil would derive from dt0
    bound: datetime | None  # naive wall time after which no occurrence is generated


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value.isoformat()} must be timezone-aware")
    return value.astimezone(UTC)


def _clamp(value: datetime) -> datetime:
    return min(max(value, _LOWEST), _HIGHEST)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecurrenceError(f"unknown time zone {name!r}") from None


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0 picks the first instant of a repeated wall time and, for a wall time inside a
    # gap, the offset in force before the gap: both what RFC 5545 §3.3.5 asks for.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return _clamp(instant).astimezone(zone).replace(tzinfo=None)


def _format_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _int(name: str, item: str, low: int, high: int, signed: bool) -> int:
    if not _INT.fullmatch(item):
        raise RecurrenceError(f"{name} value {item!r} is not an integer")
    value = int(item)
    if not (low <= abs(value) <= high if signed else low <= value <= high):
        span = f"±{low}..{high}" if signed else f"{low}..{high}"
        raise RecurrenceError(f"{name} value {item!r} is out of range {span}")
    return value


def _parse_until(value: str, zone: ZoneInfo) -> datetime:
    match = _UNTIL.fullmatch(value)
    if not match:
        raise RecurrenceError(f"UNTIL {value!r} is not YYYYMMDD, YYYYMMDDTHHMMSS or …Z")
    try:
        if match[2] is None:  # a date-only UNTIL includes that whole local day
            next_day = datetime.strptime(match[1], "%Y%m%d") + _DAY
            return _localize(next_day, zone) - timedelta(seconds=1)
        wall = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
    except (ValueError, OverflowError):
        raise RecurrenceError(f"UNTIL {value!r} is not a valid date") from None
    return wall.replace(tzinfo=UTC) if match[3] else _localize(wall, zone)


@lru_cache(maxsize=1024)
def _parse(rule: str, timezone: str) -> _Rule:
    if len(rule) > 1000:  # real rules are short; this bounds parsing and cache memory
        raise RecurrenceError("the rule is longer than 1000 characters")
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
    if freq_name in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise RecurrenceError(f"FREQ={freq_name} is not supported: events recur at most daily")
    if freq_name not in _FREQS:
        found = f"unknown FREQ {freq_name!r}" if freq_name else "no FREQ"
        raise RecurrenceError(f"the rule has {found} (use DAILY, WEEKLY, MONTHLY or YEARLY)")
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
        kwargs["byweekday"] = _weekdays(raw["BYDAY"], freq, numbered_ok="BYWEEKNO" not in raw)
        parts["BYDAY"] = ",".join(f"{d.n or ''}{_DAYS[d.weekday]}" for d in kwargs["byweekday"])
    until = None
    if "UNTIL" in raw:
        until = _parse_until(raw["UNTIL"][0], _zone(timezone))
        parts["UNTIL"] = _format_utc(until)
    count = kwargs.pop("count", None)
    return _Rule(
        tuple(parts.items()), freq, kwargs.get("interval", 1), kwargs["wkst"], count, until, kwargs
    )


def _weekdays(items: list[str], freq: int, numbered_ok: bool) -> tuple[du.weekday, ...]:
    days, limit = [], 5 if freq == du.MONTHLY else 53
    for item in items:
        match = _WEEKDAY.fullmatch(item)
        if not match or match[2] not in _DAYS:
            raise RecurrenceError(f"BYDAY value {item!r} is not a weekday like MO, 2TU or -1FR")
        day = du.weekdays[_DAYS.index(match[2])]
        if match[1] is None:
            days.append(day)
            continue
        if freq in (du.DAILY, du.WEEKLY) or not numbered_ok:
            raise RecurrenceError(
                f"BYDAY {item!r}: numbered weekdays need MONTHLY or YEARLY without BYWEEKNO"
            )
        if not 1 <= abs(int(match[1])) <= limit:
            raise RecurrenceError(f"BYDAY value {item!r} is out of range ±1..{limit}")
        days.append(day(int(match[1])))
    if len({d.n is None for d in days}) > 1:
        # dateutil would intersect the two kinds instead of uniting them
        raise RecurrenceError("BYDAY cannot mix numbered and plain weekdays")
    return tuple(days)


def _explicit(rule: _Rule, dt0: datetime) -> dict[str, Any]:
    """The keywords with the defaults dateutil derives from dtstart spelled out."""
    kwargs = dict(rule.kwargs)
    if not kwargs.keys() & {"byweekno", "byyearday", "bymonthday", "byweekday"}:
        if rule.freq == du.YEARLY:
            kwargs.setdefault("bymonth", dt0.month)
            kwargs["bymonthday"] = dt0.day
        elif rule.freq == du.MONTHLY:
            kwargs["bymonthday"] = dt0.day
        elif rule.freq == du.WEEKLY:
            kwargs["byweekday"] = dt0.weekday()
    kwargs.setdefault("byhour", dt0.hour)
    kwargs.setdefault("byminute", dt0.minute)
    kwargs.setdefault("bysecond", dt0.second)
    return kwargs


def _period_start(plan: _Plan, lo: datetime) -> datetime:
    """Start of dt0's period, moved on by whole intervals while staying a period before lo."""
    rule, first = plan.rule, plan.dt0.date()
    step = rule.interval
    if rule.freq == du.DAILY:
        periods = max(0, (lo.date() - first).days // step - 1)
        first += timedelta(days=step * periods)
    elif rule.freq == du.WEEKLY:
        first -= timedelta(days=(first.weekday() - rule.wkst) % 7)
        periods = max(0, (lo.date() - first).days // (7 * step) - 1)
        first += timedelta(weeks=step * periods)
    elif rule.freq == du.MONTHLY:
        periods = max(0, ((lo.year - first.year) * 12 + lo.month - first.month) // step - 1)
        year, month = divmod(first.year * 12 + first.month - 1 + step * periods, 12)
        first = date(year, month + 1, 1)
    else:
        periods = max(0, (lo.year - first.year) // step - 1)
        first = date(first.year + step * periods, 1, 1)
    return datetime.combine(first, time())


def _rrule(dtstart: datetime, kwargs: Mapping[str, Any]) -> Iterator[datetime]:
    return iter(du.rrule(dtstart=dtstart, **kwargs))


def _pattern(plan: _Plan, lo: datetime, skip: bool) -> Iterator[datetime]:
    """Naive wall times the rule generates (callers drop those up to dt0), complete from lo on."""
    shifted = _period_start(plan, lo if skip else plan.dt0)
    # dateutil applies BYSETPOS to DTSTART's week counted from DTSTART only; RFC 5545 means
    # the whole week, which is also what a series split off at a later occurrence sees.
    partial_week = plan.rule.freq == du.WEEKLY and "bysetpos" in plan.rule.kwargs
    if shifted > plan.dt0 or partial_week:
        # Whole periods are skipped, so with the BY* values that dateutil would derive from
        # dt0 given explicitly the generated set is unchanged.
        return _rrule(shifted, plan.explicit)
    return _rrule(plan.dt0, plan.rule.kwargs)


def _instants(plan: _Plan, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """UTC starts of original occurrences generated at wall times in [lo, hi] (may repeat)."""
    if lo <= plan.dt0 <= hi:
        yield plan.start
    stop = hi if plan.bound is None else min(hi, plan.bound)
    until = plan.rule.until
    for wall in _pattern(plan, lo, skip):
        if wall > stop:
            return
        if wall >= lo and wall > plan.dt0:
            instant = _localize(wall, plan.zone)
            if until is None or instant <= until:
                yield instant


def _count_bound(plan: _Plan, count: int) -> datetime:
    # COUNT counts distinct instants in generation order, DTSTART first; two wall times in
    # a spring-forward gap can map to one instant and count once.
    seen, last = {plan.start}, plan.dt0
    if count == 1:
        return last
    for wall in _pattern(plan, plan.dt0, skip=False):
        if wall > plan.dt0 and (instant := _localize(wall, plan.zone)) not in seen:
            seen.add(instant)
            last = wall
            if len(seen) == count:
                break
    return last


@lru_cache(maxsize=1024)
def _plan(rule: str, start: datetime, timezone: str) -> _Plan:
    parsed, zone = _parse(rule, timezone), _zone(timezone)
    # The wall clock is the start instant's own: a start entered as a non-existent 02:30 has
    # already become 03:30 by the time it is an instant, and the series then keeps 03:30.
    dt0 = start.astimezone(zone).replace(tzinfo=None, microsecond=0)
    bound = None
    if parsed.until is not None:
        bound = _wall(parsed.until, zone) + _DAY  # dateutil's order is by wall time
    plan = _Plan(parsed, zone, start, dt0, _explicit(parsed, dt0), bound)
    if parsed.count is not None:
        plan = replace(plan, bound=_count_bound(plan, parsed.count))
    return plan


def normalize_rule(rule: str, *, start: datetime, timezone: str) -> str:
    """Validate an RRULE value and return its canonical form (UNTIL in UTC)."""
    parsed, zone, first = _parse(rule, timezone), _zone(timezone), _utc(start)
    if parsed.until is not None and parsed.until < first:
        raise RecurrenceError(f"UNTIL {_format_utc(parsed.until)} is before the event start")
    dt0 = first.astimezone(zone).replace(tzinfo=None)
    # An unsatisfiable rule would make every expansion scan to year 9999; refuse it once here.
    # A yearly rule with the same day filters matches a superset and scans 20 times faster.
    loose = {k: v for k, v in parsed.kwargs.items() if k not in ("interval", "bysetpos")}
    days = [d.weekday for d in loose.get("byweekday", du.weekdays)]
    loose |= {"freq": du.YEARLY, "byweekday": days}
    if any(next(_rrule(dt0, kwargs), None) is None for kwargs in (loose, parsed.kwargs)):
        raise RecurrenceError("the rule never produces an occurrence")
    text = parsed.text()
    _plan(text, first, timezone)
    return text


def _duration(series: Series) -> timedelta:
    duration = _utc(series.end) - _utc(series.start)
    if duration < timedelta(0):
        raise ValueError("a series cannot end before it starts")
    return duration


def _originals(series: Series, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """Distinct original occurrence starts in [lo, hi], exdates ignored."""
    start = _utc(series.start)
    if series.rule is None:
        if lo <= start <= hi:
            yield start
        return
    plan = _plan(series.rule, start, series.timezone)
    seen: set[datetime] = set()
    for instant in _instants(plan, _wall(lo, plan.zone) - _DAY, _wall(hi, plan.zone) + _DAY, skip):
        if lo <= instant <= hi and instant not in seen:
            seen.add(instant)
            yield instant


def _is_original(series: Series, instant: datetime) -> bool:
    return any(True for _ in _originals(series, instant, instant))


def _exceptions(
    series: Series, duration: timedelta, lo: datetime = _LOWEST, hi: datetime = _HIGHEST
) -> tuple[set[datetime], dict[datetime, Occurrence]]:
    """Exdate instants, and the overridden occurrences overlapping [lo, hi) by recurrence_id."""
    excluded, moved = {_utc(x) for x in series.exdates}, {}
    for override in series.overrides:
        rid = _utc(override.recurrence_id)
        start = rid if override.start is None else _utc(override.start)
        end = start + duration if override.end is None else _utc(override.end)
        # An override of an occurrence that is excluded or does not exist is ignored.
        if rid not in excluded and _overlaps(start, end, lo, hi) and _is_original(series, rid):
            moved[rid] = Occurrence(rid, start, end, override)
    return excluded, moved


def _overlaps(start: datetime, end: datetime, lo: datetime, hi: datetime) -> bool:
    # Half-open intervals; a zero-length occurrence is a point that [lo, hi) may contain.
    return start < hi and (end > lo or start >= lo)


def _expand(
    series: Series, window_start: datetime, window_end: datetime, limit: int, skip: bool
) -> list[Occurrence]:
    lo, hi = _utc(window_start), _utc(window_end)
    duration = _duration(series)
    if hi <= lo:
        return []
    excluded, moved = _exceptions(series, duration, lo, hi)
    overridden = {_utc(o.recurrence_id) for o in series.overrides}
    found = list(moved.values())
    earliest = _clamp(lo) - min(duration, _clamp(lo) - _LOWEST)  # earlier starts end before lo
    for instant in _originals(series, earliest, _clamp(hi), skip):
        end = instant + duration
        if instant in excluded or instant in overridden or not _overlaps(instant, end, lo, hi):
            continue
        found.append(Occurrence(instant, instant, end, None))
        if len(found) > limit:
            raise ExpansionLimitExceeded(f"more than {limit} occurrences in the window")
    if len(found) > limit:
        raise ExpansionLimitExceeded(f"more than {limit} occurrences in the window")
    return sorted(found, key=lambda o: (o.start, o.recurrence_id))


def expand(
    series: Series, window_start: datetime, window_end: datetime, *, limit: int = 10_000
) -> list[Occurrence]:
    """Occurrences overlapping [window_start, window_end), ordered by (start, recurrence_id)."""
    return _expand(series, window_start, window_end, limit, skip=True)


def _last_original(plan: _Plan, excluded: set[datetime]) -> datetime:
    """The latest original start not in `excluded`, or plan.start if all are excluded."""
    assert plan.bound is not None
    per_period = {du.DAILY: 1, du.WEEKLY: 7, du.MONTHLY: 31, du.YEARLY: 366}[plan.rule.freq]
    span = timedelta(days=8 * per_period * plan.rule.interval)
    while True:
        lo = max(plan.bound - span, datetime(1, 1, 2))
        kept = [i for i in _instants(plan, lo, plan.bound) if i not in excluded]
        if kept or lo <= plan.dt0:
            return max(kept, default=plan.start)
        span *= 2  # the tail is all exdates or overrides: look further back


def series_end(series: Series) -> datetime | None:
    """UTC end of the series' last occurrence, or None when the rule never ends."""
    start, duration = _utc(series.start), _duration(series)
    if series.rule is not None and _plan(series.rule, start, series.timezone).bound is None:
        return None
    excluded, moved = _exceptions(series, duration)
    last = start
    if series.rule is not None:
        last = _last_original(_plan(series.rule, start, series.timezone), excluded | set(moved))
    ends = [o.end for o in moved.values()]
    if last not in excluded and last not in moved:
        ends.append(last + duration)
    return max(ends, default=last + duration)


def occurrence_at(series: Series, recurrence_id: datetime) -> bool:
    """True if recurrence_id is an original occurrence start of the series (exdates ignored)."""
    return _is_original(series, _utc(recurrence_id))


def _check_at(series: Series, at: datetime) -> tuple[_Plan, datetime]:
    instant = _utc(at)
    if series.rule is None:
        raise RecurrenceError("a single event has no rule to split")
    if not _is_original(series, instant):
        raise RecurrenceError(f"{instant.isoformat()} is not an occurrence of the series")
    return _plan(series.rule, _utc(series.start), series.timezone), instant


def split_rule(series: Series, at: datetime) -> str | None:
    """The original rule cut to end before occurrence `at`, or None if nothing precedes it."""
    plan, instant = _check_at(series, at)
    if instant <= plan.start:
        return None
    until = (instant - timedelta(seconds=1)).replace(microsecond=0)
    return plan.rule.text(COUNT=None, UNTIL=_format_utc(until))


def following_rule(series: Series, at: datetime) -> str:
    """The rule for the new series that starts at occurrence `at` (COUNT reduced)."""
    plan, instant = _check_at(series, at)
    wall, parts, changes = _wall(instant, plan.zone), dict(plan.rule.parts), {}
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        # An occurrence in a spring-forward gap shows a later wall time than the rule gave
        # it; the new series would adopt that time of day unless the rule's is spelled out.
        field_name = name[2:].lower()
        if name not in parts and getattr(wall, field_name) != getattr(plan.dt0, field_name):
            changes[name] = str(getattr(plan.dt0, field_name))
    if plan.rule.count is not None:
        stop = _wall(instant, plan.zone) + _DAY
        before = {i for i in _instants(plan, plan.dt0, stop) if i < instant}
        changes["COUNT"] = str(plan.rule.count - len(before))
    return plan.rule.text(**changes)
