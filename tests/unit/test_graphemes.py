"""Diffs, summaries and the import's cuts never split a visible character (an extended
grapheme cluster, UAX #29): in Devanagari, Thai, Arabic, a keycap, an emoji's ZWJ sequence or
skin tone, a flag. The word diff's tokens used to glue only Latin-range combining marks."""

from __future__ import annotations

import pytest
from icalendar import Event

from neo_events.graphemes import cut
from neo_events.history.diff import show, word_diff
from neo_events.history.summary import summarize
from neo_events.ical.properties import text

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of five code points
FLAG = "\U0001f1eb\U0001f1f7"  # 🇫🇷, two regional indicators
THUMB = "\U0001f44d\U0001f3fd"  # a thumb and its skin tone


def _sides(ops: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    return (
        [o["text"] for o in ops if o["op"] == "delete"],
        [o["text"] for o in ops if o["op"] == "insert"],
    )


@pytest.mark.parametrize(
    ("old", "new", "deleted", "inserted"),
    [
        ("वह पढ़ता है", "वह पढ़ती है", ["पढ़ता"], ["पढ़ती"]),  # a vowel sign (Mc) and a nukta (Mn)
        ("กิน ข้าว", "กิน ข่าว", ["ข้าว"], ["ข่าว"]),  # a Thai tone mark
        ("كَتَبَ الدرس", "كُتِبَ الدرس", ["كَتَبَ"], ["كُتِبَ"]),  # Arabic harakat
        (
            "press 1\ufe0f\u20e3 now",
            "press 2\ufe0f\u20e3 now",
            ["1\ufe0f\u20e3"],
            ["2\ufe0f\u20e3"],
        ),
        (f"team {FAMILY} day", f"team {THUMB} day", [FAMILY], [THUMB]),
        (f"{FLAG} trip", "\U0001f1e9\U0001f1ea trip", [FLAG], ["\U0001f1e9\U0001f1ea"]),
        ("cafe\u0301 ouvert", "cafe\u0301 ferme\u0301", ["ouvert"], ["ferme\u0301"]),
    ],
)
def test_a_word_diff_never_splits_a_visible_character(
    old: str, new: str, deleted: list[str], inserted: list[str]
) -> None:
    ops = word_diff(old, new)
    assert _sides(ops) == (deleted, inserted)
    assert "".join(o["text"] for o in ops if o["op"] != "insert") == old
    assert "".join(o["text"] for o in ops if o["op"] != "delete") == new


@pytest.mark.parametrize(
    ("text", "limit", "kept"),
    [
        ("ab" + FAMILY, 3, "ab"),
        ("ab" + FAMILY, 7, "ab" + FAMILY),
        ("x" + FLAG + FLAG, 4, "x" + FLAG),
        ("x" + FLAG + FLAG, 2, "x"),
        ("पढ़ता", 2, "प"),  # not "पढ" without its nukta
        ("पढ़ता", 4, "पढ़"),
        ("a" + "\u0301" * 10, 5, "a\u0301\u0301\u0301\u0301"),  # one cluster past the limit
        ("short", 10, "short"),
        ("e\u0301", 1, "e"),
    ],
)
def test_a_cut_falls_between_clusters(text: str, limit: int, kept: str) -> None:
    assert cut(text, limit) == kept


def test_shown_values_and_summaries_end_between_clusters() -> None:
    title = "x" * 58 + FAMILY  # the family straddles the 59th character
    assert show(title) == "x" * 58 + "…"
    line = summarize("deleted", [], extra={"title": FLAG * 200})  # quoted by `show`
    assert line.endswith("…”") and line.count("\U0001f1eb") == line.count("\U0001f1f7") == 29


def test_an_imported_title_is_cut_between_clusters() -> None:
    component = Event()
    component.add("summary", "z" * 199 + FLAG)
    notes: list[str] = []
    assert text(component, "SUMMARY", notes) == "z" * 199
    assert notes
