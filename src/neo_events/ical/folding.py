"""A component's text as icalendar writes it, folded a line at a time rather than a character
at a time.

icalendar folds each content line (RFC 5545 §3.1: lines of at most 75 octets, a fold is CRLF
and a space) with a Python loop over its characters; for an event of many overrides with long
descriptions that loop was half of rendering it (BENCHMARKS.md). `to_ical` writes the same
bytes: icalendar's content lines, cut where icalendar cuts them, found on the line's UTF-8
bytes by slicing (tests/unit/test_folding.py holds the two to each other).
"""

from __future__ import annotations

from icalendar.cal.component import Component

LIMIT = 74  # octets of a folded line before its CRLF (75 with a continuation's space)
_ESCAPES = b"\\^"  # never the last character of a folded line (icalendar #1501)


def fold(line: str) -> bytes:
    """The content line `line` folded as icalendar folds it: each piece the longest run of
    whole characters of at most LIMIT octets, except that a backslash or caret that would end
    a piece (a TEXT escape or an RFC 6868 parameter escape) starts the next one instead."""
    data = line.encode()
    if len(data) <= LIMIT:
        return data
    pieces = []
    start, size = 0, len(data)
    while size - start > LIMIT:
        end = start + LIMIT
        while data[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence: cut before it
            end -= 1
        if end - start > 1 and data[end - 1] in _ESCAPES:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


def to_ical(component: Component) -> bytes:
    """`component.to_ical()`, byte for byte."""
    return b"".join(fold(line) + b"\r\n" for line in component.content_lines() if line)
