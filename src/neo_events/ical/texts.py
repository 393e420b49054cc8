"""TEXT values as RFC 5545 §3.3.11 escapes them.

icalendar's vText reads a backslash followed by `N` in the value as a line break before it
escapes (its documented shorthand), so a place such as `C:\\New folder` left as `C:` and a
new line. A user's text is never iCalendar already: every TEXT property we write goes
through `Text`, which escapes the backslash first and keeps the rest of vText."""

from __future__ import annotations

from icalendar.prop import vText

from neo_events.fields import CONTROLS


class Text(vText):
    def to_ical(self) -> bytes:
        return escape(self).encode()  # vText's default encoding, UTF-8


def escape(value: str) -> str:
    """Backslash, semicolon and comma escaped; a line break of any kind written as `\\n`;
    no control character TEXT cannot carry (`fields.CONTROLS`: the API refuses them, but
    text stored before it did may hold some)."""
    if CONTROLS.search(value):
        value = CONTROLS.sub("", value)
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )
