"""Text field types every schema and query parameter shares: no NUL characters, anywhere.

PostgreSQL text cannot hold U+0000 (and nothing legitimate needs it), so free text that
reaches the database goes through `Text` and is refused with a 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# After any StringConstraints, so that stripping and lengths apply first.
NO_NUL = AfterValidator(_no_nul)
Text = Annotated[str, NO_NUL]


# PostgreSQL's ranges: ids and change numbers are BIGINT, version numbers INTEGER. A larger
# number from a client is refused up front instead of overflowing inside a query.
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1

DbId = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
VersionNumber = Annotated[int, Field(ge=1, le=MAX_INT)]


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
