"""The instants at which an IANA zone's offset may change, read from its TZif file (RFC 8536):
the file zoneinfo itself reads, found as zoneinfo finds it (`zoneinfo.TZPATH`, then the
`tzdata` package): its transitions, and after the last of them its footer's rule.

Only where the changes are is taken from the file; what they are (offsets, names) is asked of
zoneinfo (`vtimezones`). Reading a file is a few hundred bytes unpacked: microseconds, where
finding the same instants by sampling zoneinfo costs about 40 ms a zone."""

from __future__ import annotations

import calendar
import importlib.resources
import os
import re
import struct
import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta

_HEADER = struct.Struct(">4s c 15x 6l")  # magic, version, then the six counts
_EPOCH = date(1970, 1, 1).toordinal()
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: 29 in a leap year
# A POSIX TZ string (RFC 8536 §3.3): std offset [dst [offset] [,start[/time],end[/time]]],
# names alphabetic or <quoted>; the rules only in the Mm.w.d form that tzdata writes.
_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_DATE = r"M(\d{1,2})\.([1-5])\.([0-6])(?:/(" + _OFFSET + "))?"
_TZ = re.compile(
    rf"{_NAME}(?P<standard>{_OFFSET})"
    rf"(?:(?P<named>{_NAME})(?P<daylight>{_OFFSET})?(?:,{_DATE},{_DATE})?)?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Footer:
    """A zone's rule after its last transition: its offsets (UTC+) in standard and daylight
    time, and (when it has daylight time) each year's start and end of it, each as (month,
    week 1-5 with 5 the last, weekday 0-6 from Sunday, time on the clock it ends)."""

    standard: timedelta
    daylight: timedelta | None = None
    start: tuple[int, int, int, timedelta] | None = None
    end: tuple[int, int, int, timedelta] | None = None

    def changes(self, year: int) -> tuple[tuple[int, bool], ...]:
        """The year's changes (POSIX seconds, whether to daylight time), start then end."""
        if self.start is None or self.end is None or self.daylight is None:
            return ()
        return (
            (_instant(year, self.start, self.standard), True),
            (_instant(year, self.end, self.daylight), False),
        )


def transitions(name: str) -> tuple[int, ...] | None:
    """The zone's transition times (POSIX seconds, ascending) from its version 2+ data (64-bit
    times) or, in a version 1 file, its only data; None if the file cannot be found or read
    as TZif."""
    data = _read(name)
    if data is None:
        return None
    try:
        return _parsed(data)[0]
    except (struct.error, ValueError):
        return None


def footer(name: str) -> Footer | None:
    """The rule the zone keeps after its last transition, from its version 2+ footer; None if
    the file cannot be read, has no footer, or one this module does not read (a Jn or n
    date, which tzdata does not write: such a zone is sampled)."""
    data = _read(name)
    if data is None:
        return None
    try:
        return _footer(data[_parsed(data)[1] :])
    except (struct.error, ValueError):
        return None


def _parsed(data: bytes) -> tuple[tuple[int, ...], int]:
    """The transition times and where the data after them ends (a v2+ footer starts there)."""
    magic, version, *counts = _HEADER.unpack_from(data, 0)
    if magic != b"TZif":
        raise ValueError("not a TZif file")
    size = 4
    offset = _HEADER.size
    if version != b"\x00":  # skip the 32-bit block to the second header
        offset += _block_length(counts, size)
        magic, _, *counts = _HEADER.unpack_from(data, offset)
        if magic != b"TZif":
            raise ValueError("no second TZif header")
        size = 8
        offset += _HEADER.size
    timecnt = counts[3]
    times = struct.unpack_from(f">{timecnt}{'q' if size == 8 else 'l'}", data, offset)
    if any(a >= b for a, b in zip(times, times[1:], strict=False)):
        raise ValueError("transition times out of order")
    return times, (offset + _block_length(counts, size) if size == 8 else len(data))


def _footer(data: bytes) -> Footer | None:
    """The footer `\\n<POSIX TZ string>\\n` read, if it is one this module reads."""
    if data[:1] != b"\n" or data.count(b"\n") != 2 or not data.endswith(b"\n"):
        return None
    found = _TZ.fullmatch(data[1:-1].decode("ascii", "replace"))
    if found is None:
        return None
    standard, named, daylight, *rule = found.groups()
    if named is None:  # no daylight time: no change after the last transition
        return Footer(-_seconds(standard))
    if rule[0] is None:  # a daylight name and POSIX's default rule, which tzdata never writes
        return None
    summer = -_seconds(standard) + timedelta(hours=1) if daylight is None else -_seconds(daylight)
    return Footer(-_seconds(standard), summer, _date(rule[:4]), _date(rule[4:]))


def _date(parts: list[str | None]) -> tuple[int, int, int, timedelta]:
    month, week, weekday, time = parts
    assert month is not None and week is not None and weekday is not None
    if not 1 <= int(month) <= 12:
        raise ValueError("no such month")
    return int(month), int(week), int(weekday), _seconds(time or "2")


def _seconds(text: str) -> timedelta:
    """[+-]hh[:mm[:ss]] (hours up to 167 in a rule's time, RFC 8536 §3.3.1)."""
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    if parts[0] > 167 or any(part > 59 for part in parts[1:]):
        raise ValueError("offset out of range")
    hours, minutes, seconds = (*parts, 0, 0)[:3]
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _instant(year: int, rule: tuple[int, int, int, timedelta], offset: timedelta) -> int:
    """When Mm.w.d/time happens in `year` on a clock at UTC+`offset`, in POSIX seconds."""
    month, week, weekday, time = rule
    first = date(year, month, 1)
    day = (weekday - first.weekday() - 1) % 7 + 7 * (week - 1)  # days after the 1st
    if day >= _MONTH_DAYS[month] + (month == 2 and calendar.isleap(year)):  # week 5: last
        day -= 7
    return (first.toordinal() - _EPOCH + day) * 86400 + int((time - offset).total_seconds())


def _block_length(counts: list[int], size: int) -> int:
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
    times = timecnt * (size + 1)  # each time and its type's index
    return times + typecnt * 6 + charcnt + leapcnt * (size + 4) + isstdcnt + isutcnt


def raw(name: str) -> bytes | None:
    """The zone's TZif file as it is, None if it cannot be found (aliases share their data)."""
    return _read(name)


def _read(name: str) -> bytes | None:
    if not name or name.startswith("/") or ".." in name.split("/"):
        return None
    for root in zoneinfo.TZPATH:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read()
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        return resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
