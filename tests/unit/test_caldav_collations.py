"""The collations of a calendar-query's text-match (RFC 4790), as `caldav.textmatch` folds
them: i;ascii-casemap folds ASCII letters only, on the UTF-8 bytes (at C speed), and finds
exactly what the fold of the code points found before (`_reference`)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.caldav.textmatch import (
    COLLATIONS,
    Matcher,
    casemap_size,
    fold,
    text_match,
    unicode_casemap,
)


@pytest.mark.parametrize(
    ("collation", "text", "folded"),
    [
        ("i;ascii-casemap", "Dentist AT 9", b"dentist at 9"),
        ("i;ascii-casemap", "ÉCOLE Straße", "École straße".encode()),  # É, ß: not ASCII
        ("i;ascii-casemap", "ĲSSEL", "Ĳssel".encode()),
        ("i;unicode-casemap", "École Straße", "E\u0301COLE STRASSE"),
        ("i;unicode-casemap", "e\u0301cole", "E\u0301COLE"),  # NFD and NFC: one form
        ("i;unicode-casemap", "ﬁ ² ı ſ ǆ ǅ", "FI 2 I S DZ\u030c DZ\u030c"),
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


def _rfc_5051(text: str) -> str:
    """RFC 5051 §2 as written, a character at a time: its titlecase (the simple one:
    UnicodeData's, where the full mapping is one character) and its decomposition
    (UnicodeData's, compatibility ones included), until nothing changes; then the
    canonical ordering of combining marks (NFD), which makes composed and decomposed
    texts one, and "ß" as "SS", where `unicode_casemap` departs from the RFC (it uses
    the full uppercase)."""

    def title(char: str) -> str:
        mapped = char.title()
        return mapped if len(mapped) == 1 else char

    def decompose(char: str) -> str:
        parts = unicodedata.decomposition(char).split()
        if parts and parts[0].startswith("<"):
            parts = parts[1:]
        return "".join(chr(int(part, 16)) for part in parts) or char

    text = text.replace("ß", "SS")
    while (step := "".join(decompose(title(char)) for char in text)) != text:
        text = step
    return unicodedata.normalize("NFD", text)


def _reference(collation: str, needle: str, value: str) -> bool:
    """The fold and containment before (2026-12-04): code points, `str.translate` for
    i;ascii-casemap."""

    def old_fold(text: str) -> str:
        if collation == "i;octet":
            return text
        if collation == "i;unicode-casemap":
            return _rfc_5051(text)
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
@given(text=_TEXTS)
def test_unicode_casemap_is_rfc_5051s_canonical_form(text: str) -> None:
    assert unicode_casemap(text) == _rfc_5051(text)
    assert unicode_casemap(unicodedata.normalize("NFC", text)) == unicode_casemap(
        unicodedata.normalize("NFD", text)
    )


def test_a_fold_is_never_longer_than_its_size_says() -> None:
    """`casemap_size` bounds the fold of every code point (so of any text: each character
    folds alone), the text-match's cost counted before any fold is made."""
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        assert len(unicode_casemap(char)) <= casemap_size(char), hex(code)
    assert casemap_size("\ufdfa" * 10) == 180 and casemap_size("abc") == 3


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
