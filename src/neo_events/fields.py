"""Field types every schema and query parameter shares: text without NUL characters, numbers
within the database's ranges, and instants within the supported range.

PostgreSQL text cannot hold U+0000 (and nothing legitimate needs it), nor can any database
hold a lone surrogate (which a JSON escape such as `"\\ud800"` can name), so free text that
reaches the database goes through `Text` and is refused with a 422 naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate, which a JSON escape can name
            raise ValueError("must be Unicode text (a lone surrogate is not)") from None
    return value


# Characters neither iCalendar's TEXT (RFC 5545 §3.3.11: no controls but a tab; line breaks
# are written `\n`) nor XML 1.0 (CalDAV's answers) can carry: an event's text holding one
# made every CalDAV answer with it unreadable to its holders' apps (an outside attack).
# U+0000 is one of them too (RFC 5545's CONTROL): a schema refuses it first (`NO_NUL`, which
# says so by name), and whatever cleans or writes text with this leaves it out with the rest
# (an import's attendee `x\x00@y.com` reached a description and every export of it).
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _no_controls(value: str) -> str:
    if CONTROLS.search(value):
        raise ValueError(
            "must not contain control characters (other than tabs and line breaks) or U+FFFE/U+FFFF"
        )
    return value


NO_CONTROLS = AfterValidator(_no_controls)


# After any StringConstraints, so that stripping and lengths apply first. A bounded text is
# `Annotated[str, StringConstraints(max_length=...), NO_NUL]`: a length put on `Text` itself
# (`Annotated[Text, Field(max_length=...)]`, `Query(max_length=...)`) lands after the
# validator, where pydantic checks a generic length and says "items", not "characters".
NO_NUL = AfterValidator(_no_nul)
Text = Annotated[str, NO_NUL]


# PostgreSQL's ranges: ids and change numbers are BIGINT, version numbers INTEGER. A larger
# number from a client is refused up front instead of overflowing inside a query.
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1

# An id or version in a body is a JSON integer: strict, or pydantic's lax mode read `true`
# as 1 and `"7"` as 7 (an outside attack: `base_version: true` merged against version 1; a
# share's `user_id: true` would have named user 1).
DbId = Annotated[int, Strict(), Field(ge=1, le=MAX_BIGINT)]
VersionNumber = Annotated[int, Strict(), Field(ge=1, le=MAX_INT)]


def bigint(value: object) -> int:
    """An integer from an opaque token or cursor, within BIGINT (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("not an integer")
    number = int(value)
    if not -MAX_BIGINT - 1 <= number <= MAX_BIGINT:
        raise ValueError("out of range")
    return number


def int4(value: object) -> int:
    """An integer from an opaque token or cursor, within INTEGER (ValueError otherwise)."""
    number = bigint(value)
    if not -MAX_INT - 1 <= number <= MAX_INT:
        raise ValueError("out of range")
    return number


# Every instant a client sends (event times, exdates, overrides, windows, as_of, since,
# recurrence ids) lies in [EARLIEST, LATEST]. The range holds every real calendar with room to
# spare, lies where the time zone database has real rules, and stays centuries away from
# datetime's year 1 and 9999, so that no offset, window, horizon or expansion built on an
# accepted instant can overflow (issue #17).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RANGE_MESSAGE = "must be between 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z"


def supported_instant(value: datetime) -> datetime:
    """The instant in UTC; ValueError (a 422) if it is naive or outside [EARLIEST, LATEST]."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must have a UTC offset")
    try:
        instant = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across the date line
        raise ValueError(RANGE_MESSAGE) from None
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(RANGE_MESSAGE)
    return instant


def supported_day(value: date) -> date:
    """The date; ValueError (a 422) outside [EARLIEST, LATEST) by date (an all-day event's)."""
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("must be between 1900-01-01 and 2199-12-31")
    return value


_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")
# An instant as this API writes one, and most clients: whole seconds, `Z` or an offset (of
# minutes under 60: `fromisoformat` reads `+00:60` as an hour, pydantic refuses it).
_PLAIN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-5][0-9])"
)


def _written(value: object) -> object:
    """A time as a client writes it: RFC 3339 text (or a datetime a decoder made), never a
    number or digits, which pydantic would take for seconds since 1970 (SPEC §2)."""
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_TIME.match(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time with an offset")


def whole_seconds(value: datetime) -> datetime:
    """The instant cut to its second: iCalendar's DATE-TIME holds whole seconds (RFC 5545
    §3.3.5), so a fraction stored could not be exported (10:00:00.25-10:00:00.75 was DTSTART
    equal to DTEND), named a series' first occurrence apart from the rest (.5, then :00) and
    made meetings that only touch overlap (JavaScript's toISOString() writes milliseconds).
    Cut, not refused, so that `.000Z` from such clients is taken as it means."""
    return value.replace(microsecond=0)


def plain_instant(value: str) -> datetime | None:
    """`Instant`'s value of text written as `_PLAIN` (`2030-01-01T09:00:00Z`), read by
    `datetime.fromisoformat` at a fifth of what pydantic's reading of one value costs (a
    series' 3,000 exceptions: ~5 ms of a create's CPU); None for any other text, and for one
    either would refuse: `Instant` then reads it, and words its refusal, itself (the two
    readings compared in `tests/unit/test_plain_instants.py`)."""
    if _PLAIN.fullmatch(value) is None:
        return None
    try:
        return supported_instant(datetime.fromisoformat(value))
    except ValueError:
        return None


# An instant a client writes into an event (its times, exdates, rdates, overrides) or names
# an occurrence by: whole seconds. An end its cut makes no later than its start is the usual
# 422 naming the end (events/validation.py).
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_written),
    AfterValidator(supported_instant),
    AfterValidator(whole_seconds),
]
# A bound of a query (a window, `as_of`, `since`, a find-time span): stored nowhere, so kept to
# the microsecond; cut, a window's end would miss what starts within its last second, and an
# `as_of` of a version's own `updated_at` would precede it.
QueryInstant = Annotated[
    AwareDatetime, BeforeValidator(_written), AfterValidator(supported_instant)
]
