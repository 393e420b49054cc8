"""Series whose occurrences outlast their period (an outside attack, 2026-12-04): a daily
rule whose occurrences each last 300 years has 109,000 of them under way at every instant.
Shared with someone, it made each of their conflict-checked writes cost 0.3-1.6 s of CPU on
the event loop: a calendar read past its limit halved its window and expanded the series
again, 50 times over, though every window from the same start holds the same pile
(`calendars.shortened`)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from neo_events.events import recurrence
from neo_events.events.calendars import shortened
from neo_events.events.conflicts import Busy
from tests.helpers import cpu_bound, created, loop_pauses, register, share

pytestmark = pytest.mark.anyio

RULES = ["FREQ=DAILY", "FREQ=MINUTELY;INTERVAL=7;BYSETPOS=1;BYHOUR=5"]


def _pile(rule: str) -> dict[str, object]:
    """A series from 1900 whose occurrences each last until 2199."""
    return {
        "title": "pile",
        "start_time": "1900-01-01T00:00:00Z",
        "end_time": "2199-12-31T00:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": rule,
    }


@pytest.mark.parametrize("rule", RULES)
async def test_a_shared_pile_of_long_occurrences_costs_a_write_one_expansion(
    client: httpx.AsyncClient, rule: str
) -> None:
    mallory, victim = await register(client, "mallory"), await register(client, "victim")
    pile = _pile(rule)
    made = await created(client, mallory, pile, conflicts="ignore")
    await share(client, mallory, made["id"], victim, "viewer")
    single = {
        "title": "y",
        "start_time": "2026-06-01T10:00:00Z",
        "end_time": "2026-06-01T11:00:00Z",
    }
    weekly = single | {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"}
    for body in (single, weekly):
        async with loop_pauses() as pauses:
            # before: 0.33-0.47 s (daily), 1.5-2.3 s (BYSETPOS) here; now one expansion
            with cpu_bound(0.3, rule):
                response = await client.post("/api/v1/events", json=body, headers=victim.headers)
        assert response.status_code == 201, response.text
        assert pauses.worst_held < 0.3, pauses


def _busy(*hours: int) -> list[Busy]:
    return [
        Busy(
            datetime(2026, 6, 1, h, tzinfo=UTC),
            datetime(2026, 6, 1, h + 1, tzinfo=UTC),
            1,
            frozenset({1}),
        )
        for h in hours
    ]


async def test_a_limit_reached_before_the_window_ends_it_where_others_start() -> None:
    lo, hi = datetime(2026, 6, 1, 10, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC)
    under_way = recurrence.ExpansionLimitExceeded("past", datetime(1913, 9, 1, tzinfo=UTC))
    # others' occurrences after lo may be left out: the window ends at the first of them
    assert shortened(under_way, lo, hi, _busy(8, 10, 13, 12)) == (None, _busy(12)[0].start)
    # with none after lo (or none at all), nothing from lo can be checked
    assert shortened(under_way, lo, hi, _busy(8, 10)) == (None, lo)
    assert shortened(under_way, lo, hi) == (None, lo)
    # a limit reached inside the window still ends it there, with what was met
    inside = recurrence.ExpansionLimitExceeded("past", datetime(2026, 6, 3, tzinfo=UTC), [])
    assert shortened(inside, lo, hi) == ([], datetime(2026, 6, 3, tzinfo=UTC))
    # unknown: halved
    assert shortened(recurrence.ExpansionLimitExceeded("past"), lo, hi) == (
        None,
        lo + (hi - lo) / 2,
    )


async def test_a_split_whose_new_series_would_end_past_2200_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """The same attack split a series of 300-year occurrences at 2150: the new series ended
    in 2450, past the bound every time sent is held to, and could not be PUT back (422)."""
    owner = await register(client, "owner")
    pile = _pile("FREQ=YEARLY")
    made = await created(client, owner, pile, conflicts="ignore")
    path = f"/api/v1/events/{made['id']}"
    answer = await client.put(
        f"{path}/instances/2150-01-01T00:00:00Z",
        params={"scope": "following", "conflicts": "ignore"},
        json={"title": "later"},
        headers=owner.headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"][-1] == "end_time", answer.text
    after = await client.get(path, headers=owner.headers)
    assert after.json()["version"] == 1  # nothing changed
    listed = await client.get("/api/v1/events", headers=owner.headers)
    assert [e["id"] for e in listed.json()["items"]] == [made["id"]]
