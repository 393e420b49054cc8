"""Text cut only between user-perceived characters (Unicode's extended grapheme clusters,
UAX #29, found by the `regex` module's `\\X`): a cut never parts a letter from its accent or
vowel sign, an emoji from its skin tone or ZWJ sequence, nor the two halves of a flag. Pure."""

from __future__ import annotations

import regex

CLUSTER = regex.compile(r"\X")


def cut(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` characters that ends between two
    grapheme clusters; `text[:limit]` if its first cluster alone is longer (a letter under
    hundreds of marks has no better place). Reads at most `limit` + 1 characters: whether a
    place is a boundary depends only on the characters before it and the one after."""
    if len(text) <= limit:
        return text
    end = 0
    for found in CLUSTER.finditer(text, 0, limit + 1):  # at most limit + 1 clusters
        if found.end() > limit:
            break
        end = found.end()
    return text[:end] if end else text[:limit]
