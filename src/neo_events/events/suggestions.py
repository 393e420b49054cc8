"""The free slots a `suggest` conflict policy offers (`schedule.check`): where everyone
concerned is free, near the first clashing occurrence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events import days
from neo_events.events.calendars import calendar
from neo_events.events.conflicts import Busy, merge
from neo_events.events.content import iso
from neo_events.events.off_loop import off_the_loop
from neo_events.events.rrule import zone_named as recurrence_zone
from neo_events.scheduling import slots

if TYPE_CHECKING:
    from neo_events.events.check_windows import Candidate, Span

SUGGESTIONS = 5
SUGGEST_WITHIN = timedelta(days=14)
SUGGEST_GRANULARITY = timedelta(minutes=15)
# Suggestions keep to a waking day on the event's clock, unless the time asked lies outside it.
SUGGEST_HOURS = slots.WorkingHours(time(8), time(20), frozenset(range(1, 8)))


async def suggested(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    added: list[list[Span]],
    found: list[list[Busy]],
    people: set[int],
) -> tuple[int, list[dict[str, str]]]:
    """Up to SUGGESTIONS slots as long as the first clashing occurrence (of the first
    candidate that clashes), starting from it and within SUGGEST_WITHIN, where everyone
    concerned (`people`) is free, and not over that occurrence if it clashed with someone
    whose calendar is not read, as the API shows them (`start_time`, `end_time`; for an
    all-day event whole days of its zone, with `start_date`, `end_date` too). Bounded like
    any check: one calendar read of at most CALENDAR_LIMIT occurrences of each kind (own
    and others' events, `calendar`; the search stops where either was cut short: `whole`),
    then one pass over it."""
    index = next(i for i, clashes in enumerate(found) if clashes)
    start, end = min(
        o for o in added[index] if any(b.start < o[1] and b.end > o[0] for b in found[index])
    )
    # Clashes with calendars the suggestions do not read (a stranger's, SPEC §7): the time
    # refused is known to be busy for them (the clash says so), so none overlaps it.
    refused = any(
        b.event_id >= 0 and not b.holders & people and b.start < end and b.end > start
        for b in found[index]
    )
    series = candidates[index].series
    all_day = series.all_day_zone is not None
    zone = recurrence_zone(series.all_day_zone or series.timezone)
    first, length = days.date_in(start, zone), days.date_in(end, zone) - days.date_in(start, zone)
    last = first + timedelta(days=SUGGEST_WITHIN.days)
    window = (start, days.midnight(last + length, zone) if all_day else end + SUGGEST_WITHIN)
    # free only where every event is read: others' events past their budget are not
    busy, _, reach = await calendar(session, people, window, viewer_id=None)
    until = reach.whole
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    waking = (
        local_start.date() == local_end.date()
        and SUGGEST_HOURS.start <= local_start.time()
        and local_end.time() <= SUGGEST_HOURS.end
    )

    def search() -> list[dict[str, str]]:
        # a batch's others too: 500 minutely series held the loop 0.4-0.7 s (outside attack)
        own = candidates[index].event_id
        taken = [(b.start, b.end) for b in busy if own is None or b.event_id != own]
        taken += [o for j, occ in enumerate(added) if j != index for o in occ if o[0] < window[1]]
        if refused:
            taken.append((start, end))
        if all_day:
            found = slots.free_days(
                merge(taken),
                first,
                last,
                days=max(length.days, 1),
                zone=zone,
                limit=SUGGESTIONS,
                until=until,
            )
            return [_dated(day, after, zone) for day, after in found]
        free = slots.free_slots(
            merge(taken),
            (start, min(window[1], until)),
            duration=end - start,
            zone=zone,
            hours=SUGGEST_HOURS if waking else slots.ALL_DAY,
            granularity=SUGGEST_GRANULARITY,
            limit=SUGGESTIONS,
        )
        return [{"start_time": iso(s), "end_time": iso(e)} for s, e in free]

    return index, await off_the_loop(len(candidates) > 1, search)


def _dated(day: date, after: date, zone: ZoneInfo) -> dict[str, str]:
    """Whole days as an all-day event is given: its dates, and the times they imply (their
    midnights in its zone), so a suggestion may be sent back as it is."""
    return {
        "start_time": iso(days.midnight(day, zone)),
        "end_time": iso(days.midnight(after, zone)),
        "start_date": day.isoformat(),
        "end_date": after.isoformat(),
    }
