"""`holds(column, text)`, the listing's text filter as SQL (`listing.text_conditions`): the
text in any of its Unicode forms (`forms`) is in the column, case-insensitively (`contains`).

Unicode writes "é" two ways, precomposed (NFC: most keyboards, the web) and as "e" and a
combining accent (NFD: macOS file names and some of its text, PDF copy and paste). A search
finds either in either: the search text is compared in each of its forms, NFC, NFD and as
written, each at most once. The stored texts are not normalised: PostgreSQL's `normalize()`
costs ~100-170 ms a MiB (ten times a search's `lower`/`strpos`) and SQLite has none, and an
event's text stays as its writer wrote it (CalDAV clients compare what they read back with
what they wrote). A text of mixed forms (an "ê" followed by a combining acute, as Microsoft's
Vietnamese keyboard types "ế") is found by a search typed the same way, as before. Each form
is a pass over the texts, so a search's bytes count once per form (`weight`,
`search_scan`)."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import Boolean, ColumnElement, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class contains(FunctionElement[bool]):
    """`contains(column, text)`: the text is in the column, case-insensitively: `instr`
    (SQLite) or `strpos` (PostgreSQL) of the lowered texts. Not `ILIKE '%…%'`, whose matcher
    tries the whole pattern at each position: a 200-character `q` over 1,800 descriptions of
    10,000 characters cost 6 s of CPU on SQLite (an outside attack). These search for a
    string (linear in practice) and fold case as each database's LIKE does (SQLite: ASCII
    letters only)."""

    inherit_cache = True
    type = Boolean()
    name = "contains"


@compiles(contains, "sqlite")
def _contains_sqlite(element: contains, compiler: Any, **kw: Any) -> str:
    column, text = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(instr(lower({column}), lower({text})) > 0)"


@compiles(contains, "postgresql")
def _contains_postgresql(element: contains, compiler: Any, **kw: Any) -> str:
    column, text = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(strpos(lower({column}), lower({text})) > 0)"


def forms(text: str) -> list[str]:
    """The forms a search text is compared in: NFC, NFD and as written, each once (one for
    ASCII)."""
    return list(
        dict.fromkeys(
            (unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text), text)
        )
    )


def holds(column: Any, text: str) -> ColumnElement[bool]:
    """The column holds the text in one of its `forms`, case-insensitively (`contains`)."""
    return or_(*(contains(column, form) for form in forms(text)))


def weight(*texts: str | None) -> int:
    """How many passes over the texts a search of these makes: its most forms (1 to 3)."""
    return max((len(forms(text)) for text in texts if text), default=1)
