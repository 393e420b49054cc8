"""An iCalendar stream cut into its calendars and their components, each with its line number.

Only BEGIN/END lines are read here; icalendar parses every component on its own, so one bad
component (a VTODO with a year of -1, a VTIMEZONE without TZID) costs that component, not the
file, and every problem can be reported with the line it starts on. A stream may hold several
VCALENDAR objects (RFC 5545 §3.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_NEWLINE = re.compile(r"\r\n|\n|\r")
_WRITTEN_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z")  # one, with its line end
_NAME = re.compile(r"[A-Za-z0-9-]+")


class MalformedStream(ValueError):
    """The stream's component structure is broken; `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Block:
    """One component directly inside a VCALENDAR (VEVENT, VTODO, VTIMEZONE, …)."""

    name: str
    line: int
    lines: tuple[tuple[int, str], ...]  # unfolded content lines with their line numbers

    @property
    def text(self) -> str:
        return "\r\n".join(line for _, line in self.lines) + "\r\n"

    def written(self, name: str) -> str | None:
        """The value of this component's own first `name` property, as written (a nested
        VALARM's is not its own); None without one."""
        found = self.values(name)
        return found[0] if found else None

    def values(self, name: str, *, nested: bool = False) -> list[str]:
        """The values of this component's own `name` properties (`nested`: its nested
        components' too, a VTIMEZONE's observances'), as written, in order."""
        return self.values_of((name,), nested=nested)[name.upper()]

    def values_of(self, names: Iterable[str], *, nested: bool = False) -> dict[str, list[str]]:
        """`values` of each of these properties, by upper-case name, in one pass over the
        lines (a bound of several lists read each line once: `ical/bounds.py`)."""
        found: dict[str, list[str]] = {name.upper(): [] for name in names}
        width = max(3, *map(len, found))
        firsts = {name[0] for name in found}
        depth = 0
        for _, line in self.lines[1:-1]:
            start = line.lstrip()[:width].upper()  # most lines: told by it
            if start[:3] in ("BEG", "END"):
                delimiter = delimiter_of(line)
                if delimiter is not None:
                    depth += 1 if delimiter[0] == "BEGIN" else -1
                    continue
            if not start or start[0] not in firsts or not start.startswith(tuple(found)):
                continue
            key, value = property_of(line)
            if (depth == 0 or nested) and key in found:
                found[key].append(value)
        return found

    def line_of(self, name: str) -> str | None:
        """This component's own first `name` content line, whole (its parameters too)."""
        depth, wanted = 0, name.upper()
        for _, line in self.lines[1:-1]:
            delimiter = delimiter_of(line)
            if delimiter is not None:
                depth += 1 if delimiter[0] == "BEGIN" else -1
            elif depth == 0 and property_of(line)[0] == wanted:
                return line
        return None

    def others(self, known: frozenset[str], without: str) -> list[str]:
        """The content lines of this component's own properties not named in `known`, and of
        each component directly inside it not called `without` (all their lines), in order."""
        kept: list[str] = []
        depth, skipping = 0, False  # depth of components nested in this one
        for _, line in self.lines[1:-1]:
            delimiter = delimiter_of(line)
            if delimiter is not None:
                if delimiter[0] == "BEGIN":
                    if depth == 0:
                        skipping = delimiter[1] == without.upper()
                    depth += 1
                else:
                    depth -= 1
                if not skipping:
                    kept.append(line)
            elif depth > 0:
                if not skipping:
                    kept.append(line)
            elif property_of(line)[0] not in known:
                kept.append(line)
        return kept

    def nested(self) -> list[str]:
        """The names of the components directly inside this one, in order."""
        depth, found = 0, []
        for _, line in self.lines[1:-1]:
            delimiter = delimiter_of(line)
            if delimiter is None:
                continue
            if delimiter[0] == "BEGIN":
                if depth == 0:
                    found.append(delimiter[1])
                depth += 1
            else:
                depth -= 1
        return found

    def apart(self, name: str) -> tuple[str, list[list[str]]]:
        """This component's text without the components called `name` directly inside it,
        and the property lines of each of those (their own, not those of anything nested in
        them), in order. A reader that wants two properties of each VALARM need not have
        icalendar parse every line of them: that was most of an import's parsing."""
        wanted = name.upper()
        kept = [self.lines[0][1]]
        taken: list[list[str]] = []
        depth = 0  # of the components nested in this one, where the line is
        inside = 0  # depth within a taken component (0: not in one)
        for _, line in self.lines[1:-1]:
            delimiter = delimiter_of(line)
            if inside:
                if delimiter is not None:
                    inside += 1 if delimiter[0] == "BEGIN" else -1
                elif inside == 1:
                    taken[-1].append(line)
                continue
            if delimiter == ("BEGIN", wanted) and depth == 0:
                inside = 1
                taken.append([])
                continue
            if delimiter is not None:
                depth += 1 if delimiter[0] == "BEGIN" else -1
            kept.append(line)
        kept.append(self.lines[-1][1])
        return "\r\n".join(kept) + "\r\n", taken


@dataclass(slots=True)
class CalendarBlock:
    """One VCALENDAR: its own property lines and its components."""

    line: int
    properties: list[str] = field(default_factory=list)
    components: list[Block] = field(default_factory=list)

    def header(self) -> str:
        """A VCALENDAR with this calendar's properties and no components."""
        return "\r\n".join(["BEGIN:VCALENDAR", *self.properties, "END:VCALENDAR", ""])


def unfold(text: str) -> list[tuple[int, str]]:
    """Content lines with folding undone (a line starting with a space or a tab continues the
    previous one), each with the number of the line it starts on; blank lines are dropped."""
    lines: list[tuple[int, list[str]]] = []  # a line's pieces, joined once: linear in folds
    for number, raw in enumerate(_NEWLINE.split(text), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1][1].append(raw[1:])
        elif raw.strip():
            lines.append((number, [raw]))
    return [(number, "".join(pieces)) for number, pieces in lines]


def content_lines(text: str) -> list[str]:
    """The content lines of a text as written, each with its folds and line ends, cut where
    `unfold` cuts: at CR LF, LF or CR, not before a space or a tab (a fold). Never at the
    other breaks `str.splitlines` knows (U+2028, U+2029, U+0085, …): they are text inside a
    value (a resource's `X-NOTE:a<U+2028>END:VEVENT` cut there made a line `END:VEVENT`).
    Joined, they are the text."""
    lines: list[list[str]] = []  # a line's pieces, joined once: linear in folds
    for piece in _WRITTEN_LINE.findall(text):
        if piece[:1] in (" ", "\t") and lines:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return ["".join(pieces) for pieces in lines]


def property_of(line: str) -> tuple[str, str]:
    """(NAME, value) of a content line: the value starts at the first colon outside a quoted
    parameter value (`TZID="a:b"`)."""
    colon = line.find(":")
    if colon >= 0 and '"' not in line[:colon]:  # no quoted parameter before the first colon
        return line[:colon].split(";")[0].strip().upper(), line[colon + 1 :]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:index].split(";")[0].strip().upper(), line[index + 1 :]
    return line.split(";")[0].strip().upper(), ""


def delimiter_of(line: str) -> tuple[str, str] | None:
    """("BEGIN" | "END", component name) for a BEGIN/END line, else None."""
    key, colon, value = line.partition(":")
    key = key.strip().upper()
    if colon and key in ("BEGIN", "END") and _NAME.fullmatch(value.strip()):
        return key, value.strip().upper()
    return None


def split_stream(text: str) -> list[CalendarBlock]:
    """Every VCALENDAR of the stream, in order."""
    calendars: list[CalendarBlock] = []
    current: CalendarBlock | None = None
    stack: list[tuple[str, int]] = []  # open components inside the calendar
    body: list[tuple[int, str]] = []
    for number, line in unfold(text):
        delimiter = delimiter_of(line)
        if current is None:
            if delimiter == ("BEGIN", "VCALENDAR"):
                current = CalendarBlock(line=number)
                calendars.append(current)
                continue
            raise MalformedStream(
                "expected BEGIN:VCALENDAR"
                + (" (is this an iCalendar file?)" if not calendars else ""),
                number,
            )
        if delimiter is None:
            if stack:
                body.append((number, line))
            else:
                current.properties.append(line)
            continue
        kind, name = delimiter
        if kind == "BEGIN":
            stack.append((name, number))
            body.append((number, line))
            continue
        if not stack:
            if name != "VCALENDAR":
                raise MalformedStream(f"END:{name} without BEGIN:{name}", number)
            current = None
            continue
        open_name, open_line = stack.pop()
        if name != open_name:
            raise MalformedStream(
                f"END:{name} closes BEGIN:{open_name} of line {open_line}", number
            )
        body.append((number, line))
        if not stack:
            current.components.append(Block(name, open_line, tuple(body)))
            body = []
    if stack:
        name, opened = stack[-1]
        raise MalformedStream(f"BEGIN:{name} is never closed", opened)
    if current is not None:
        raise MalformedStream("BEGIN:VCALENDAR is never closed", current.line)
    if not calendars:
        raise MalformedStream("the file is empty: expected BEGIN:VCALENDAR", 1)
    return calendars
