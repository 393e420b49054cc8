"""What a calendar's text says that the event model cannot hold as written, worded once for
each of the codec's two readers, where the rule that finds it is: an import keeps what it can
and warns what it did (the note itself, a `str`); a CalDAV PUT keeps nothing and says what is
wrong with the resource (`refusal`, its 403 CALDAV:valid-calendar-data, caldav/resources.py).

A note that is no `Loss` changes nothing the writer meant (a zone named by its offsets, a
vendor TZID read as its IANA zone): a CalDAV write goes through with it. A skip reason may be
a `Loss` too, when the import's words would not fit a refused write. Pure.
"""

from __future__ import annotations


class Loss(str):
    """An import's note (the string) with the same problem worded as a CalDAV refusal."""

    refusal: str

    def __new__(cls, note: str, refusal: str) -> Loss:
        made = super().__new__(cls, note)
        made.refusal = refusal
        return made


def refusal(said: str) -> str | None:
    """How a CalDAV write refusing what `said` notes words it; None for a note that loses
    nothing."""
    return said.refusal if isinstance(said, Loss) else None
