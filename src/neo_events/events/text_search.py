"""`contains(column, text)`, the listing's text filter as SQL (`listing.text_conditions`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean
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
