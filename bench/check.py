"""A conflict check's own CPU, in process: `python -m bench check --size 100k`.

The load driver's create scenarios measure a whole request on a shared machine, where a
run's figures move by a fifth from one minute to the next; a change to the check alone
(issue #16) is lost in that. Here `schedule.check` is called directly, as a create calls it
(`Candidate.of` the create's body, the creator's calendar, `warn`), for the load's own
create bodies, each in a session of its own carrying the worker's expansions cache, and
its CPU (`time.process_time`, the garbage collector off) is summed over rounds: the first
round meets a cold cache, the later ones a warm one, as a worker under load does. The
database's own work is not counted (`bench cpu` and `bench load` count it).

`--scenarios heavy_single heavy_series`: the same for creates by the dataset's heaviest
calendar (user 1: 2,000 events, 400 of them series without end), a single event's or a
weekly series' (what a check costs for what the calendar holds, not for what changed).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from datetime import UTC, datetime, timedelta

import orjson

from bench import dataset, load
from neo_events import db
from neo_events.events import check_windows, expansions, schedule
from neo_events.events.creation import content_from
from neo_events.events.schemas import EventCreate
from neo_events.main import create_app

BODIES = 150  # creates a round (a fifth of them weekly series, as the load's)
ROUNDS = 5
# The dataset's heaviest calendar (`dataset.HEAVY_USER`: 2,000 events, 400 of them series
# without end) checked by BODIES creates of one kind: what a check costs for what exists.
HEAVY = {"heavy_single": None, "heavy_series": "FREQ=WEEKLY;BYDAY=TU"}


def _heavy(rule: str | None) -> list[check_windows.Candidate]:
    """BODIES creates of 45 minutes on days of 2027 apart, at hours of the working day."""
    found = []
    for n in range(BODIES):
        start = datetime(2027, 1, 4, 8, tzinfo=UTC) + timedelta(days=n * 2, hours=n % 9)
        body: dict[str, object] = {
            "title": f"Heavy {n}",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=45)).isoformat(),
            "timezone": "Europe/Berlin",
        }
        if rule is not None:
            body |= {"is_recurring": True, "recurrence_pattern": rule}
        content = content_from(EventCreate.model_validate(body))
        found.append(check_windows.Candidate.of(None, content, None))
    return found


async def _run(database_url: str, size: str, scenarios: list[str]) -> list[str]:
    prep = load.Prepared(database_url, size, seed=31)
    await prep.load()
    built = await load.build_scenarios(prep, 1)
    app = create_app(prep.settings)
    lines = [
        f"| scenario ({BODIES} creates) | cold round, ms a check | warm rounds, median"
        " (range) | clashes a round |",
        "|---|---:|---:|---:|",
    ]
    async with app.router.lifespan_context(app):
        maker = db.create_sessionmaker(app.state.engine)
        for name in scenarios:
            checks: list[tuple[int, check_windows.Candidate]] = []
            if name in HEAVY:
                checks = [(dataset.HEAVY_USER, c) for c in _heavy(HEAVY[name])]
            for request in built[name].requests[:BODIES] if name not in HEAVY else ():
                body = EventCreate.model_validate(orjson.loads(request["b"]))
                user = prep.codec.decode(request["t"], "access").user_id
                checks.append((user, check_windows.Candidate.of(None, content_from(body), None)))
            rounds: list[float] = []
            clashes = 0
            for _ in range(ROUNDS):
                clashes = 0
                gc.collect()
                gc.disable()
                started = time.process_time()
                for user, candidate in checks:
                    async with maker() as session:
                        expansions.attach(session, app.state.expansions)
                        [found] = await schedule.check(
                            session,
                            policy=schedule.ConflictPolicy.WARN,
                            candidates=[candidate],
                            user_ids=[user],
                            viewer_id=user,
                        )
                        clashes += len(found)
                rounds.append((time.process_time() - started) / len(checks) * 1000)
                gc.enable()
            warm = rounds[1:]
            lines.append(
                f"| {name} | {rounds[0]:.2f} | {statistics.median(warm):.2f}"
                f" ({min(warm):.2f}-{max(warm):.2f}) | {clashes} |"
            )
    return lines


def run(database_url: str, size: str, scenarios: list[str]) -> str:
    return "\n".join(asyncio.run(_run(database_url, size, scenarios)))
