"""A calendar file's bytes as text: UTF-8, UTF-16 when it starts with a UTF-16 byte-order
mark, and a line that is not UTF-8 read as Windows-1252 (the usual encoding of old Outlook
files) with a warning naming it. Each line is decoded on its own, so one stray byte does not
garble every correct character of the file; line ends are the ones `blocks.unfold` counts
(CR LF, LF or CR), so the line numbers of the warning are the ones the rest of the import
reports. A character cut in two by a folded line's end (writers that fold at 75 bytes, as
RFC 5545 says not to, split multi-byte characters) is moved whole onto the continuation
line, after its leading space, so both lines decode. Linear in the file's size."""

from __future__ import annotations

import codecs
from collections.abc import Iterator

SHOWN_LINES = 5  # line numbers a warning lists; the rest are counted
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> tuple[str, str | None]:
    """The text, and a warning when some of it was not what it claims to be."""
    if data.startswith(_UTF16_MARKS):
        try:
            return data.decode("utf-16"), None  # the mark says which byte order, and is dropped
        except UnicodeDecodeError:
            text = data.decode("utf-16", errors="replace")
            return text, "the file is not valid UTF-16: its invalid bytes were replaced"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    parts: list[str] = []
    others: list[int] = []
    for number, line in enumerate(_lines(data), start=1):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(line.decode("cp1252", errors="replace"))
            others.append(number)
    return "".join(parts), _warning(others) if others else None


def utf8(data: bytes) -> str:
    """The text of bytes that must be UTF-8 (a CalDAV resource, RFC 4791 §5.3.4), a byte-order
    mark dropped and a character a fold cut in two read whole; UnicodeDecodeError where a
    line is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "".join(line.decode("utf-8") for line in _lines(data))


def _lines(data: bytes) -> Iterator[bytes]:
    """The lines of the bytes (a UTF-8 byte-order mark dropped), each with its line end, and
    each character a fold cut in two moved whole onto the continuation line."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    # bytes.splitlines cuts at CR LF, LF and CR only: the line ends `blocks.unfold` counts
    lines = data.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        if number < len(lines) and lines[number][:1] in _FOLD:
            line = _rejoined(lines, number, line)
        yield line


_FOLD = (b" ", b"\t")
_LEADS = ((0xE0, 0xC0, 2), (0xF0, 0xE0, 3), (0xF8, 0xF0, 4))  # (mask, lead bits, bytes)


def _rejoined(lines: list[bytes], following: int, line: bytes) -> bytes:
    """`line` without the first bytes of a UTF-8 character cut by its fold's line end, which
    go to the start of the continuation line `lines[following]`, after its space."""
    body = line.rstrip(b"\r\n")
    for back in range(1, min(3, len(body)) + 1):
        byte = body[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: look further back for its lead byte
            continue
        # a lead byte of a 2-, 3- or 4-byte sequence with fewer than that after it
        size = next((n for mask, lead, n in _LEADS if byte & mask == lead), 0)
        if back < size:
            cut, nxt = body[-back:], lines[following]
            lines[following] = nxt[:1] + cut + nxt[1:]
            return body[:-back] + line[len(body) :]
        break
    return line


def _warning(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:SHOWN_LINES]))
    more = len(lines) - SHOWN_LINES
    which = f"line {shown}" if len(lines) == 1 else f"lines {shown}"
    if more > 0:
        which += f" and {more} more"
    return f"the file is not all UTF-8: {which} read as Windows-1252"
