"""A conflict check's own CPU, in process: `python -m bench check --size 100k`.

The load driver's create scenarios measure a whole request on a shared machine, where a
run's figures move by a fifth from one minute to the next; a change to the check alone
(issue #16) is lost in that. Here `schedule.check` is called directly, as a create calls it
(`Candidate.of` the create's body, the creator's calendar, `warn`), for the load's own
create bodies, each in a session of its own carrying the worker's expansions cache, and
its CPU (`time.process_time`, the garbage collector off) is summed over rounds: the first
round meets a cold cache, the later ones a warm one, as a worker under load does. The
database's own work is not counted (`bench cpu` and `bench load` count it).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time

import orjson

from bench import load
from neo_events import db
from neo_events.events import expansions, schedule
from neo_events.events.creation import content_from
from neo_events.events.schemas import EventCreate
from neo_events.main import create_app

BODIES = 150  # creates a round (a fifth of them weekly series, as the load's)
ROUNDS = 5


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
            checks: list[tuple[int, schedule.Candidate]] = []
            for request in built[name].requests[:BODIES]:
                body = EventCreate.model_validate(orjson.loads(request["b"]))
                user = prep.codec.decode(request["t"], "access").user_id
                checks.append((user, schedule.Candidate.of(None, content_from(body), None)))
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
