"""The collations of a calendar-query's text-match (RFC 4790), as `caldav.reports` folds
them: i;ascii-casemap folds ASCII letters only, at C speed where the text is all ASCII."""

from __future__ import annotations

import pytest

from neo_events.caldav.reports import _fold, text_match


@pytest.mark.parametrize(
    ("collation", "text", "folded"),
    [
        ("i;ascii-casemap", "Dentist AT 9", "dentist at 9"),
        ("i;ascii-casemap", "ÉCOLE Straße", "École straße"),  # É and ß are not ASCII
        ("i;ascii-casemap", "ĲSSEL", "Ĳssel"),
        ("i;unicode-casemap", "ÉCOLE Straße", "école strasse"),
        ("i;octet", "ÉCOLE", "ÉCOLE"),
    ],
)
def test_each_collation_folds_as_rfc_4790_says(collation: str, text: str, folded: str) -> None:
    assert _fold(collation, text) == folded


def test_a_text_match_compares_folded_needle_and_value() -> None:
    school = text_match("SUMMARY", "école", negate=False, collation="i;ascii-casemap")
    assert school.matches(["Petite école"]) and not school.matches(["PETITE ÉCOLE"])
    assert school.folded == "école"
    negated = text_match("SUMMARY", "DENT", negate=True, collation="i;ascii-casemap")
    assert not negated.matches(["Dentist"]) and negated.matches(["Doctor"])
    assert not negated.matches([])  # no such property: a prop-filter never matches
