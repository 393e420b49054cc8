"""What a calendar-query's text-match may cost (a seventh outside attack, 2026-12-04): each
value folded once per collation at C speed, the text the filters scan counted and bounded
(caldav/listing.py MAX_SCANNED) before any is scanned (caldav/textmatch.py)."""

from __future__ import annotations

import gc
import time

import pytest

from neo_events.caldav import listing
from tests.caldav.dav import dav_for, ics, responses
from tests.helpers import cpu_bound, created_many, loop_pauses

pytestmark = pytest.mark.anyio

QUERY = """<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT">{filters}</c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


def _filter(name: str, needle: str, *, negate: bool = False, collation: str = "") -> str:
    attrs = (' negate-condition="yes"' if negate else "") + (
        f' collation="{collation}"' if collation else ""
    )
    return (
        f'<c:prop-filter name="{name}"><c:text-match{attrs}>{needle}</c:text-match></c:prop-filter>'
    )


def _refused(answer) -> bool:  # type: ignore[no-untyped-def]
    return answer.status_code == 403 and b"number-of-matches-within-limits" in answer.content


async def test_the_attack_of_sixteen_negated_filters_folds_each_text_once(client) -> None:
    """200 events of 10,000 "é" each, 16 `negate-condition` text-matches on DESCRIPTION in
    i;ascii-casemap: 2.5 s of CPU, the event loop held 2.6 s (str.translate, each filter
    folding each description again); now ~10-30 ms, in a worker thread."""
    alice = await dav_for(client, "alice")
    description = "é" * 10_000
    events = [
        {
            "title": f"E{i}",
            "description": description,
            "start_time": "2026-03-10T09:00:00Z",
            "end_time": "2026-03-10T10:00:00Z",
            "timezone": "UTC",
        }
        for i in range(200)
    ]
    for first in range(0, 200, 40):  # a request body holds 1 MiB
        await created_many(client, alice.account, events[first : first + 40])
    attack = QUERY.format(filters=_filter("DESCRIPTION", "x", negate=True) * 16)
    await alice.request("REPORT", alice.calendar, attack, Depth="1")  # the first: caches warm
    worst_held, spent = [], []
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            async with loop_pauses() as pauses:
                started = time.process_time()
                answer = await alice.request("REPORT", alice.calendar, attack, Depth="1")
                spent.append(time.process_time() - started)
        finally:
            gc.enable()
        assert answer.status_code == 207, answer.text[:300]
        assert len(responses(answer.content)) == 200
        worst_held.append(pauses.worst_held)
    assert min(worst_held) < 0.1, worst_held  # 2.58-2.60 s before
    assert min(spent) < 0.5, spent  # 2.54 s before
    # each collation the same, and one of each in one query
    for collation in ("i;octet", "i;unicode-casemap", "i;ascii-casemap"):
        body = QUERY.format(filters=_filter("DESCRIPTION", "É", collation=collation))
        with cpu_bound(0.5):
            answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
        wanted = 200 if collation != "i;ascii-casemap" and collation != "i;octet" else 0
        assert len(responses(answer.content)) == wanted, collation
    # ordinary searches on the same calendar: answered
    for filters in (
        _filter("SUMMARY", "e1"),
        _filter("SUMMARY", "e1") + _filter("UID", "event-"),
        _filter("DESCRIPTION", "ÉÉ", collation="i;unicode-casemap"),
    ):
        answer = await alice.request(
            "REPORT", alice.calendar, QUERY.format(filters=filters), Depth="1"
        )
        assert answer.status_code == 207, answer.text[:300]


async def test_text_filters_past_the_budget_are_refused_before_any_is_scanned(
    client, monkeypatch
) -> None:
    """16 different needles over 200 descriptions of 10,000 characters scan 32 million
    characters: past MAX_SCANNED (16 million), refused as a time range past its budget is."""
    alice = await dav_for(client, "alice")
    events = [
        {
            "title": f"E{i}",
            "description": "ab" * 5_000,
            "start_time": "2026-03-10T09:00:00Z",
            "end_time": "2026-03-10T10:00:00Z",
            "timezone": "UTC",
        }
        for i in range(200)
    ]
    for first in range(0, 200, 80):
        await created_many(client, alice.account, events[first : first + 80])
    distinct = "".join(_filter("DESCRIPTION", f"x{i}", negate=True) for i in range(16))
    with cpu_bound(0.3):
        answer = await alice.request(
            "REPORT", alice.calendar, QUERY.format(filters=distinct), Depth="1"
        )
    assert _refused(answer), answer.text[:300]
    # the budget is shared with the properties read off the texts (here CATEGORIES)
    await alice.put("c.ics", ics(uid="c", summary="Cats", extra="CATEGORIES:" + "k" * 500 + "\r\n"))
    one = _filter("SUMMARY", "cat") + _filter("CATEGORIES", "k")
    answer = await alice.request("REPORT", alice.calendar, QUERY.format(filters=one), Depth="1")
    assert answer.status_code == 207 and len(responses(answer.content)) == 1, answer.text[:300]
    # the 201 titles are 494 characters, the one category kept 500
    monkeypatch.setattr(listing, "MAX_SCANNED", 600)  # the titles fit, the category not
    assert _refused(
        await alice.request("REPORT", alice.calendar, QUERY.format(filters=one), Depth="1")
    )
    monkeypatch.setattr(listing, "MAX_SCANNED", 400)  # nor the titles
    assert _refused(
        await alice.request("REPORT", alice.calendar, QUERY.format(filters=one), Depth="1")
    )
