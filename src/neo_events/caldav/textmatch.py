"""The text-match of a calendar-query (RFC 4791 §9.7.5), at a bounded cost.

A value is folded by a collation (RFC 4790) once per query, whatever the number of filters
on it (`Matcher`), and at C speed: i;ascii-casemap folds the UTF-8 bytes (`fold`). What the
filters scan is counted before they run (`Matcher.weight`; caldav/listing.py's MAX_SCANNED).

The values of a property the event model does not hold (CATEGORIES, X-…) are read off the
resource's text by the raw line reader (ical/blocks.py), never by icalendar: an outside
attack's stored texts cost icalendar 4.6-14 s each to parse, or a RecursionError
(`text_values`). Pure: no web framework, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from neo_events.ical.blocks import (
    Block,
    MalformedStream,
    split_stream,
)

COLLATIONS = frozenset({"i;ascii-casemap", "i;octet", "i;unicode-casemap"})
Folded = str | bytes


# What a character becomes in i;unicode-casemap (`unicode_casemap`): at most MAX_GROWTH
# characters, but for the few of _GROWING (squared katakana words, parenthesised Hangul,
# two Arabic ligatures: U+FDFA is 18), each at most MAX_GROWTH + _MORE. A value's fold is so
# bounded before it is made (`Matcher.weight`); tests/unit/test_caldav_collations.py checks
# these against every code point.
MAX_GROWTH = 4
_MORE = 14
_GROWING = re.compile("[\u321d\u321e\u327c\u3300-\u3356\u33ae\u33af\ufdfa\ufdfb]")


def casemap_size(text: str) -> int:
    """At most how long `unicode_casemap(text)` is, without making it (C speed)."""
    if text.isascii():
        return len(text)
    return MAX_GROWTH * len(text) + _MORE * len(_GROWING.findall(text))


def fold(collation: str, text: str) -> Folded:
    """`text` as the collation compares it (RFC 4790): i;octet as it is, i;unicode-casemap
    as RFC 5051 canonicalises it (`unicode_casemap`), i;ascii-casemap (§9.2) with only the
    ASCII letters folded: its UTF-8 bytes lowered (a multi-byte sequence holds no ASCII
    byte, so only A-Z change, and a substring of such bytes is a substring of the text:
    UTF-8 is self-synchronising). ~1-4 ns a character; `str.translate` took ~80 ns for
    non-ASCII text."""
    if collation == "i;octet":
        return text
    if collation == "i;unicode-casemap":
        return unicode_casemap(text)
    return text.encode("utf-8", "surrogatepass").lower()


def unicode_casemap(text: str) -> str:
    """RFC 5051's "titlecased canonical" form (§2), at C speed: each character's
    decomposition (UnicodeData's, compatibility ones included: NFKD) and its case mapped,
    then decomposed again. RFC 5051 maps to simple titlecase, which Python does not expose;
    after NFKD, full uppercase (`str.upper`) differs from it only where SpecialCasing.txt
    widens a character with no decomposition: "ß" becomes "SS" (so "Straße" matches
    "STRASSE", where RFC 5051 keeps ß apart from ss and from "ẞ"), and Georgian Mkhedruli
    matches Mtavruli. Unlike `str.casefold` it keeps the RFC's titlecase classes: dotless
    "ı" and "ſ" fold with I and S, and "ǆ", "ǅ", "Ǆ" are one. Composed and decomposed
    forms (NFC and NFD) compare equal; "e" is a substring of "é", as in the RFC's
    decomposed forms."""
    return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).upper())


@dataclass(frozen=True, slots=True)
class TextFilter:
    """One prop-filter of a calendar-query (RFC 4791 §9.7.2, §9.7.5)."""

    name: str
    needle: str | None  # None: the property must exist (no text-match)
    negate: bool = False
    undefined: bool = False  # is-not-defined
    collation: str = "i;ascii-casemap"
    folded: Folded = ""  # the needle folded by the collation, once (`text_match`)

    def matches(self, values: Sequence[str]) -> bool:
        """Whether the property's values pass, each folded here (`Matcher` folds once)."""
        if self.needle is None:
            return self.passes(values)
        return self.passes([fold(self.collation, value) for value in values])

    def passes(self, folded: Sequence[Folded]) -> bool:
        """Whether the property's values, folded by this filter's collation, pass."""
        if self.undefined:
            return not folded
        if not folded:
            return False
        if self.needle is None:
            return True
        needle = self.folded
        found = any(needle in value for value in folded)  # type: ignore[operator]
        return found != self.negate


def text_match(name: str, needle: str, *, negate: bool, collation: str) -> TextFilter:
    """A prop-filter's text-match, its needle folded once: an outside attack's 4,000 of
    them folded their needles again for each of 1,000 events (21 s on the event loop)."""
    folded = fold(collation, needle)
    return TextFilter(name, needle, negate=negate, collation=collation, folded=folded)


class Matcher:
    """A query's prop-filters over each item's property values: the same filter twice is
    tested once, and each value is folded once per collation, not once per filter (16
    negated filters over 200 descriptions of 10,000 "é" folded 32 million characters,
    2.5 s on the event loop)."""

    def __init__(self, filters: Iterable[TextFilter]) -> None:
        self.filters = list(dict.fromkeys(filters))
        # the characters a filter scans: its property's values (folded once, searched once)
        self.scans = Counter(
            (f.name, f.collation == "i;unicode-casemap")
            for f in self.filters
            if f.needle is not None
        )

    def weight(self, values: Mapping[str, Sequence[str]]) -> int:
        """The characters the filters scan in one item whose properties hold `values`; in
        i;unicode-casemap, what a value's fold may grow to (`casemap_size`)."""
        total = 0
        for (name, decomposed), count in self.scans.items():
            found = values[name]
            total += count * sum(map(casemap_size if decomposed else len, found))
        return total

    def keeps(self, values: Mapping[str, Sequence[str]]) -> bool:
        folded: dict[tuple[str, str], list[Folded]] = {}
        for f in self.filters:
            found = values[f.name]
            if f.needle is not None and found:
                key = (f.name, f.collation)
                done = folded.get(key)
                if done is None:
                    done = folded[key] = [fold(f.collation, value) for value in found]
                if not f.passes(done):
                    return False
            elif not f.passes(found):
                return False
        return True


def scanned(matcher: Matcher, values: Mapping[str, Sequence[str]]) -> int:
    """`Matcher.weight` of one item's values as read (`text_values`)."""
    return matcher.weight(values)


# The values as the code before compared them, icalendar's `prop.to_ical()`: a TEXT property
# unescaped and escaped again (`\N` becomes `\n`, a bare `,` or `;` is escaped), CATEGORIES
# the same for each category, joined by ","; a URI unescaped; any other (X-…, dates,
# numbers) as written. Deliberate differences: a VALUE parameter does not change how a value
# is read, dates and numbers are not normalised (`1` for `01`), and a text icalendar would
# refuse for one bad property still has values (it had none).
_TEXT = frozenset(  # icalendar's TEXT properties (its TypesFactory)
    "ACTION CALSCALE CLASS COMMENT CONTACT DESCRIPTION LOCATION METHOD PRODID RELATED-TO "  # noqa: SIM905
    "REQUEST-STATUS RESOURCES STATUS SUMMARY TRANSP TZID TZNAME UID VERSION".split()
)
_URI = frozenset({"ATTACH", "CONFERENCE", "SOURCE", "TZURL", "URL"})
# Markers within a value: lone surrogates, never in a text decoded from UTF-8
_PAIR, _COMMA = "\ud800", "\ud801"


def _unescape(raw: str) -> str:
    r"""icalendar's `unescape_backslash` (`\\`, `\,`, `\;`, `\:`, `\n`, `\N`, read from the
    left), by replacements at C speed: the pairs of backslashes first, left to right."""
    if "\\" not in raw:
        return raw
    for escaped, plain in (("\\\\", _PAIR), ("\\n", "\n"), ("\\N", "\n"), ("\\,", ",")):
        raw = raw.replace(escaped, plain)
    return raw.replace("\\;", ";").replace("\\:", ":").replace(_PAIR, "\\")


def _escape(text: str) -> str:
    """icalendar's `_escape_char` (the order matters, as there)."""
    text = text.replace("\\N", "\n").replace("\\", "\\\\").replace(";", "\\;")
    text = text.replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    return text.replace("\r", "\\n")


def _categories(raw: str) -> str:
    """icalendar's CATEGORIES: split at each comma not escaped by a backslash (a backslash
    escapes the character after it), each category unescaped and escaped, joined by ",".
    Done whole: the escaped commas marked, the rest escaped, the bare commas put back."""
    marked = raw.replace("\\\\", _PAIR).replace("\\,", _COMMA).replace(_PAIR, "\\\\")
    return _escape(_unescape(marked)).replace("\\,", ",").replace(_COMMA, "\\,")


def _as_compared(name: str, raw: str) -> str:
    if name in _TEXT:
        return _escape(_unescape(raw))
    if name == "CATEGORIES":
        return _categories(raw)
    if name in _URI:  # a URI unescaped; one with a line break as TEXT (icalendar's vBroken)
        plain = _unescape(raw)
        return _escape(plain) if "\n" in plain or "\r" in plain else plain
    return raw


def text_values(text: bytes, names: Iterable[str]) -> dict[str, list[str]]:
    """The values of the named properties of the resource's VEVENTs (their own lines, in
    order: the master's first), read off the raw lines (`blocks.split_stream`) in one pass,
    in time linear in the text; no other component (VTIMEZONE, VALARM) is parsed. A text
    that is not UTF-8 or not a calendar holds no values."""
    found: dict[str, list[str]] = {name: [] for name in names}
    try:
        calendars = split_stream(text.decode("utf-8-sig"))
    except (UnicodeDecodeError, MalformedStream):
        return found
    for calendar in calendars:
        for block in calendar.components:
            if block.name == "VEVENT":
                _own_values(block, found)
    return found


def _own_values(block: Block, found: dict[str, list[str]]) -> None:
    """The values of `found`'s properties on the component's own lines (not a VALARM's),
    added to it."""
    for name, values in block.values_of(found).items():
        found[name].extend(_as_compared(name, value) for value in values)
