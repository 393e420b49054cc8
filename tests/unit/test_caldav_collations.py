"""The collations of a calendar-query's text-match (RFC 4790), as `caldav.textmatch` folds
them: i;ascii-casemap folds ASCII letters only, on the UTF-8 bytes (at C speed), and finds
exactly what the fold of the code points found before (`_reference`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.caldav.textmatch import COLLATIONS, Matcher, fold, text_match


@pytest.mark.parametrize(
    ("collation", "text", "folded"),
    [
        ("i;ascii-casemap", "Dentist AT 9", b"dentist at 9"),
        ("i;ascii-casemap", "ÉCOLE Straße", "École straße".encode()),  # É, ß: not ASCII
        ("i;ascii-casemap", "ĲSSEL", "Ĳssel".encode()),
        ("i;unicode-casemap", "ÉCOLE Straße", "école strasse"),
        ("i;octet", "ÉCOLE", "ÉCOLE"),
    ],
)
def test_each_collation_folds_as_rfc_4790_says(
    collation: str, text: str, folded: str | bytes
) -> None:
    assert fold(collation, text) == folded


def test_a_text_match_compares_folded_needle_and_value() -> None:
    school = text_match("SUMMARY", "école", negate=False, collation="i;ascii-casemap")
    assert school.matches(["Petite école"]) and not school.matches(["PETITE ÉCOLE"])
    assert school.folded == "école".encode()
    negated = text_match("SUMMARY", "DENT", negate=True, collation="i;ascii-casemap")
    assert not negated.matches(["Dentist"]) and negated.matches(["Doctor"])
    assert not negated.matches([])  # no such property: a prop-filter never matches


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _reference(collation: str, needle: str, value: str) -> bool:
    """The fold and containment before (2026-12-04): code points, `str.translate` for
    i;ascii-casemap."""

    def old_fold(text: str) -> str:
        if collation == "i;octet":
            return text
        if collation == "i;unicode-casemap":
            return text.casefold()
        return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)

    return old_fold(needle) in old_fold(value)


# ASCII (both cases), Latin-1 (É é ß ÿ), other BMP letters with case (Ĳ, Σ σ ς, ǅ, K as
# the Kelvin sign), combining marks, non-BMP (𝔸, 😀, 𐐀 and its lower case 𐐨)
_ALPHABET = st.sampled_from(
    [*"aAbBzZ xX09,;\\", *"ÉéßÿÀĲĳΣσςǅ", "\u212a", "\u0301", "\u0327"]
    + ["𝔸", "😀", "𐐀", "𐐨", "İ", "ı", "ﬃ"]
)
_TEXTS = st.text(alphabet=_ALPHABET, max_size=30)


@settings(max_examples=1_500, deadline=None)
@given(collation=st.sampled_from(sorted(COLLATIONS)), needle=_TEXTS, value=_TEXTS)
def test_the_fold_finds_what_the_fold_before_found(collation: str, needle: str, value: str) -> None:
    for hay in (value, value + needle, needle.upper() + value, value + needle.lower()):
        found = text_match("X", needle, negate=False, collation=collation).matches([hay])
        assert found == _reference(collation, needle, hay), (collation, needle, hay)


@settings(max_examples=300, deadline=None)
@given(
    needles=st.lists(st.tuples(st.sampled_from(sorted(COLLATIONS)), _TEXTS), max_size=5),
    values=st.lists(_TEXTS, max_size=3),
)
def test_a_matcher_decides_as_its_filters_each_would(
    needles: list[tuple[str, str]], values: list[str]
) -> None:
    """Folding once per collation for all the filters decides as each filter folding alone."""
    filters = [
        text_match("X", needle, negate=index % 2 == 1, collation=collation)
        for index, (collation, needle) in enumerate(needles)
    ]
    filters += filters[:2]  # the same filter twice
    assert Matcher(filters).keeps({"X": values}) == all(f.matches(values) for f in filters)
