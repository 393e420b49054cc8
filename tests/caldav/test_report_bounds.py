"""What one REPORT may cost, whatever the calendar: an `expand` answers a bounded number of
occurrences shared by all its resources (found before any is rendered), and a calendar-query's
time-range decides what matches before the answer is cut, testing its series off the event
loop within a named budget (caldav/resources.py MAX_EXPANDED_LINES, caldav/listing.py
MAX_CANDIDATES and MAX_TESTED). The CPU bounds are generous; the figures are in the report
that added them."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.caldav import listing, reports
from tests.caldav.dav import Dav, dav_for, responses
from tests.helpers import cpu_bound, created_many, loop_pauses
from tests.timing import budget

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
CENTURIES = 'start="19000101T000000Z" end="21990101T000000Z"'
MULTIGET = """<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data><c:expand {window}/></c:calendar-data></d:prop>
{hrefs}</c:calendar-multiget>"""
QUERY = """<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/>{data}</d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT"><c:time-range {window}/>{text}</c:comp-filter>
</c:comp-filter></c:filter></c:calendar-query>"""


def series(title: str, rule: str, start: str = "2026-03-02T09:00:00Z", **extra: Any) -> dict:
    end = datetime.fromisoformat(start) + timedelta(minutes=30)
    return {
        "title": title,
        "start_time": start,
        "end_time": end.isoformat(),
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": rule,
    } | extra


def multiget(dav: Dav, ids: list[int], window: str = CENTURIES) -> str:
    hrefs = "".join(f"<d:href>{dav.calendar}event-{i}.ics</d:href>" for i in ids)
    return MULTIGET.format(window=window, hrefs=hrefs)


def refused(answer: httpx.Response) -> bool:
    return answer.status_code == 403 and b"number-of-matches-within-limits" in answer.content


async def test_an_expand_is_bounded_per_request_not_per_resource(client) -> None:
    alice = await dav_for(client, "alice")
    minutely = await created_many(
        client, alice.account, [series(f"M{i}", "FREQ=MINUTELY;COUNT=10000") for i in range(3)]
    )
    yearly = await created_many(
        client, alice.account, [series(f"Y{i}", "FREQ=YEARLY") for i in range(500)]
    )
    # one minutely series over three centuries: 10,000 occurrences (1.6 s of rendering);
    # three of them in a multiget or a calendar-query; 500 yearly series, 150,000
    for body, depth in (
        (multiget(alice, minutely[:1]), "0"),
        (multiget(alice, minutely), "0"),
        (
            QUERY.format(
                data=f"<c:calendar-data><c:expand {CENTURIES}/></c:calendar-data>",
                window=CENTURIES,
                text="",
            ),
            "1",
        ),  # fmt: skip
        (multiget(alice, yearly), "0"),
    ):
        # ~0.02-0.3 s here: what fits is found, nothing is rendered (before: 1.6 s or more)
        with cpu_bound(1.2):
            answer = await alice.request("REPORT", alice.calendar, body, Depth=depth)
        assert refused(answer), answer.text[:300]
    # a month of the same calendar is answered as before, each occurrence a VEVENT
    month = 'start="20270301T000000Z" end="20270401T000000Z"'
    answer = await alice.request("REPORT", alice.calendar, multiget(alice, yearly, month))
    assert answer.status_code == 207, answer.text[:300]
    found = responses(answer.content)
    assert len(found) == 500
    texts = [entry["props"][f"{C}calendar-data"].text for entry in found.values()]
    assert all(t.count("BEGIN:VEVENT") == 1 and "DTSTART:20270302T090000Z" in t for t in texts)
    # and what fits the budget after others took their share is refused too, not cut
    assert refused(
        await alice.request("REPORT", alice.calendar, multiget(alice, [*yearly[:3], *minutely]))
    )


async def test_a_time_range_decides_what_matches_before_the_answer_is_cut(
    client, monkeypatch
) -> None:
    alice = await dav_for(client, "alice")
    # open-ended series with the lower ids (their spans reach every later month), none in
    # March or February 2027, then one event in March
    await created_many(
        client,
        alice.account,
        [series(f"June {i}", "FREQ=YEARLY", start="2026-06-01T09:00:00Z") for i in range(3)],
    )
    [march] = await created_many(
        client,
        alice.account,
        [
            {
                "title": "Dentist",
                "start_time": "2027-03-10T09:00:00Z",
                "end_time": "2027-03-10T10:00:00Z",
                "timezone": "UTC",
            }
        ],  # fmt: skip
    )
    monkeypatch.setattr(listing, "MAX_LISTED", 2)
    march_2027 = 'start="20270301T000000Z" end="20270401T000000Z"'
    february = 'start="20270201T000000Z" end="20270301T000000Z"'
    dentist = '<c:prop-filter name="SUMMARY"><c:text-match>dentist</c:text-match></c:prop-filter>'
    for window, text, wanted in (
        (march_2027, "", [f"{alice.calendar}event-{march}.ics"]),
        (february, "", []),  # was a bare 507: the cut came first
        (
            'start="20260101T000000Z" end="20300101T000000Z"',
            dentist,
            [f"{alice.calendar}event-{march}.ics"],
        ),  # fmt: skip
    ):
        body = QUERY.format(data="", window=window, text=text)
        answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
        assert answer.status_code == 207, answer.text
        assert list(responses(answer.content)) == wanted
    # more matches than an answer holds: cut, and the 507 says so
    june = 'start="20270601T000000Z" end="20270701T000000Z"'
    answer = await alice.request(
        "REPORT", alice.calendar, QUERY.format(data="", window=june, text=""), Depth="1"
    )
    found = responses(answer.content)
    assert len(found) == 3 and found[alice.calendar]["status"] == 507


def _heavy(index: int) -> dict:
    """A daily series of 1,001 whose 999 later occurrences are all excluded: testing it for a
    later window skips each (~0.6 ms)."""
    start = datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(minutes=index)
    exdates = [(start + timedelta(days=d)).isoformat() for d in range(1, 1000)]
    return series(f"H{index}", "FREQ=DAILY;COUNT=1001", start=start.isoformat(), exdates=exdates)


async def test_a_time_range_tests_its_series_off_the_loop_within_a_budget(client) -> None:
    alice = await dav_for(client, "alice")
    heavy = [_heavy(i) for i in range(240)]
    for first in range(0, len(heavy), 30):  # ~30 KB each: 30 to a request under 1 MiB
        await created_many(client, alice.account, heavy[first : first + 30])
    await created_many(
        client, alice.account, [series(f"Y{i}", "FREQ=YEARLY") for i in range(2_000)]
    )
    for window in ('start="20270301T000000Z" end="20270302T000000Z"', CENTURIES):
        body = QUERY.format(data="", window=window, text="")
        async with loop_pauses() as pauses:
            with cpu_bound(2.5):  # ~0.3-0.6 s here: 4,400 units, in a worker thread
                answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
        assert answer.status_code == 207, answer.text[:300]
        wanted = 0 if window != CENTURIES else 2_240
        assert len(responses(answer.content)) == wanted
        # the tests alone held it ~0.3 s; building 1,000 rows at once ~0.15 s; 200: ~0.04 s
        assert pauses.worst_held < budget(0.1), pauses


async def test_a_time_range_past_the_budget_is_refused_before_testing(client, monkeypatch) -> None:
    alice = await dav_for(client, "alice")
    await created_many(client, alice.account, [series(f"Y{i}", "FREQ=YEARLY") for i in range(30)])
    await created_many(client, alice.account, [_heavy(i) for i in range(2)])
    body = QUERY.format(data="", window='start="20270301T000000Z" end="20270302T000000Z"', text="")
    monkeypatch.setattr(listing, "MAX_TESTED", 29)  # fewer than the series: none is read
    assert refused(await alice.request("REPORT", alice.calendar, body, Depth="1"))
    monkeypatch.setattr(listing, "MAX_TESTED", 40)  # 32 series, but the heavy weigh 10 each
    assert refused(await alice.request("REPORT", alice.calendar, body, Depth="1"))
    monkeypatch.setattr(listing, "MAX_TESTED", 60)
    answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
    assert answer.status_code == 207 and responses(answer.content) == {}
    monkeypatch.setattr(listing, "MAX_CANDIDATES", 31)
    assert refused(await alice.request("REPORT", alice.calendar, body, Depth="1"))


def _filters(count: int, needle: str = "", negate: bool = True) -> str:
    condition = ' negate-condition="yes"' if negate else ""
    one = (
        f'<c:prop-filter name="DESCRIPTION"><c:text-match{condition}>{needle}</c:text-match>'
        "</c:prop-filter>"
    )
    return one * count


async def test_text_filters_are_bounded_and_fold_their_needles_once(client) -> None:
    """An outside attack (2026-12-04): 4,000 empty text-matches against 1,000 events with
    10,000-character descriptions held the event loop 21 s (each filter folded each
    description again). Now more than MAX_PROP_FILTERS is a 403 (CALDAV:supported-filter),
    a needle is folded once, and past INLINE_KEPT candidates the filters run in a worker
    thread: 16 filters over 500 such events cost ~0.1-0.2 s."""
    alice = await dav_for(client, "alice")
    text = "Ab " * 3_333
    for first in range(0, 500, 50):  # a request body holds 1 MiB
        await created_many(
            client,
            alice.account,
            [series(f"T{i}", "FREQ=WEEKLY", description=text) for i in range(first, first + 50)],
        )
    year = 'start="20260101T000000Z" end="20270101T000000Z"'
    too_many = QUERY.format(data="", window=year, text=_filters(reports.MAX_PROP_FILTERS + 1))
    with cpu_bound(0.3):
        answer = await alice.request("REPORT", alice.calendar, too_many, Depth="1")
    assert answer.status_code == 403 and b"supported-filter" in answer.content, answer.text
    long_needle = "x" * 30_000  # folded once, not once an event (16 of them: ~0.5 MB of XML)
    for filters in (
        _filters(reports.MAX_PROP_FILTERS),
        _filters(reports.MAX_PROP_FILTERS, long_needle),
    ):
        body = QUERY.format(data="", window=year, text=filters)
        async with loop_pauses() as pauses:
            with cpu_bound(1.0):  # ~0.1-0.2 s here
                answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
        assert answer.status_code == 207, answer.text[:300]
        assert pauses.worst_held < budget(0.25), pauses
    # the same filters, not negated: "AB" matches every description in i;ascii-casemap
    body = QUERY.format(data="", window=year, text=_filters(3, "aB", negate=False))
    answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
    assert len(responses(answer.content)) == 500


async def test_a_multiget_answers_each_resource_once(client) -> None:
    """An outside attack (2026-12-04): the same href 5,000 times was 5,000 copies of its
    calendar-data (321 MB and 2.8 s of CPU for a 64 KB resource)."""
    alice = await dav_for(client, "alice")
    [made] = await created_many(
        client, alice.account, [series("long", "FREQ=DAILY", description="d" * 9_000)]
    )
    href = f"<d:href>{alice.calendar}event-{made}.ics</d:href>"
    body = MULTIGET.replace("<c:expand {window}/>", "").format(hrefs=href * 3_000)
    with cpu_bound(0.5):
        answer = await alice.request("REPORT", alice.calendar, body, Depth="0")
    assert answer.status_code == 207, answer.text[:300]
    assert list(responses(answer.content)) == [f"{alice.calendar}event-{made}.ics"]
    assert len(answer.content) < 50_000


SYNC_DATA = """<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"""


async def test_a_sync_page_with_calendar_data_stops_at_its_byte_budget(
    client: httpx.AsyncClient,
) -> None:
    """sync-collection asking for calendar-data on 45 series of 1,000 overrides each cost 17 s
    of CPU for one page (an outside attack, 2026-12-04): a page held 100 events whatever their
    size. Now it ends after 1 MiB of their content (`service.SYNC_DATA_PAGE_BYTES`) with a 507
    and a token that continues; following the tokens gives every event once."""
    alice = await dav_for(client, "alice")
    made = []
    for batch in range(2):
        items = []
        for n in range(12):
            first = datetime(2031, 1, 1, 9, tzinfo=UTC) + timedelta(days=12 * batch + n)
            body = series(f"many {12 * batch + n}", "FREQ=DAILY", first.isoformat())
            body["overrides"] = [
                {"recurrence_id": (first + timedelta(days=d)).isoformat(), "title": "x"}
                for d in range(1000)
            ]
            items.append(body)
        made += await created_many(client, alice.account, items)
    token, seen, pages = "", [], 0
    while True:
        gc.collect()  # a pass over a long-lived test worker's heap is not the page's
        gc.disable()
        try:
            with cpu_bound(1.5, "a page"):  # ~0.5 s; before: 24 events in one page, ~3 s here
                page = await alice.request("REPORT", alice.calendar, SYNC_DATA.format(token=token))
        finally:
            gc.enable()
        assert page.status_code == 207, page.text[:300]
        pages += 1
        found = responses(page.content)
        seen += [href for href, r in found.items() if f"{C}calendar-data" in r["props"]]
        token = page.content.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()
        if found.get(alice.calendar, {}).get("status") != 507:
            break
        assert len(page.content) < 12_000_000
    assert pages >= 2
    assert sorted(seen) == sorted(f"{alice.calendar}event-{i}.ics" for i in made)
