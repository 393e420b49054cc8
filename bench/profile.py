"""Where a scenario's time goes: its requests through the app in-process, under cProfile.

`python -m bench profile --size 100k --scenario get_event -n 300` builds the same requests as
the load driver, sends them one at a time through httpx's ASGI transport (no server, no
network) and prints the functions with the most cumulative and own time. With pyinstrument
importable (not a dependency: `.tools/bin/uv run --frozen --with pyinstrument python -m bench
profile ...`) it prints pyinstrument's call tree instead, which attributes time across
`await`s correctly (cProfile counts every coroutine resumption as a call).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import load
from bench.app import create_bench_app
from neo_events.main import create_app


async def _requests(prep: load.Prepared, scenario: str) -> list[dict[str, Any]]:
    scenarios = await load.build_scenarios(prep, 1)
    if scenario.startswith("sync_delta"):
        pairs = await prep.sync_tokens()
        await prep.mint([u for u, _ in pairs])
        return [load._req("GET", f"{load.API}/sync?token={t}", prep.token(u)) for u, t in pairs]
    requests = scenarios[scenario].requests
    if scenario == "update":
        # The load's titles repeat from run to run, and an edit that changes nothing writes
        # nothing: one at a time in-process, a second run would measure only no-ops.
        run = f" {time.time_ns()}"
        requests = [r | {"b": r["b"].replace('"}', f'{run}"}}')} for r in requests]
    return requests


def _apps(prep: load.Prepared, database_url: str, scenario: str) -> tuple[Any, Any]:
    """(the app whose lifespan runs, the ASGI app requests go to)."""
    if scenario.startswith(("ceiling", "floor")):  # routes of the bench app
        for key, value in load.server_env(database_url, 1, None).items():
            os.environ[key] = value
        outer = create_bench_app()
        return outer.app, outer  # type: ignore[attr-defined]
    app = create_app(prep.settings)
    return app, app


async def _send(client: httpx.AsyncClient, r: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {r['t']}"} if "t" in r else {}
    body = json.loads(r["b"]) if "b" in r else None
    response = await client.request(r["m"], r["p"], headers=headers, json=body)
    return response.status_code


async def _cpu(database_url: str, size: str, scenarios: list[str], n: int) -> str:
    """Median process CPU per request of each scenario, one request at a time in-process."""
    prep = load.Prepared(database_url, size, seed=37)
    await prep.load()
    medians: dict[str, float] = {}
    out = io.StringIO()
    for scenario in scenarios:
        reqs = await _requests(prep, scenario)
        app, outer = _apps(prep, database_url, scenario)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=outer)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for r in reqs[:20]:  # warm-up
                    await _send(client, r)
                backends = await _backends(database_url)
                database_began = _cpu_of(backends)
                spent, statuses = [], Counter[int]()
                for i in range(n):
                    began = time.process_time()
                    statuses[await _send(client, reqs[(20 + i) % len(reqs)])] += 1
                    spent.append(time.process_time() - began)
                database = (_cpu_of(backends) - database_began) / n
        spent.sort()
        medians[scenario] = spent[len(spent) // 2]
        shown = f", PostgreSQL {database * 1000:.2f} ms (mean)" if backends else ""
        out.write(
            f"{scenario:16} {medians[scenario] * 1000:7.2f} ms CPU/request (median of {n}"
            f"){shown}, statuses {dict(statuses)}\n"
        )
    if "ceiling_pk" in medians:
        for scenario, cpu in medians.items():
            out.write(f"{scenario:16} {medians['ceiling_pk'] / cpu:6.1%} of the PK route's rate\n")
    return out.getvalue()


async def _backends(database_url: str) -> list[int]:
    """The PostgreSQL backends serving the app's pool (every other connection to the bench
    database, which only this process uses while it runs); none on SQLite."""
    if not database_url.startswith("postgresql"):
        return []
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            pids = await conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return list(pids)
    finally:
        await engine.dispose()


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds so far of these processes (a backend that ended counts nothing)."""
    found = load.processes_cpu_s([])["postgres"]
    return sum(found.get(pid, 0.0) for pid in pids)


def cpu(database_url: str, size: str, scenarios: list[str], n: int = 300) -> str:
    return asyncio.run(_cpu(database_url, size, scenarios, n))


async def _profile(database_url: str, size: str, scenario: str, n: int, top: int) -> str:
    prep = load.Prepared(database_url, size, seed=31)
    await prep.load()
    reqs = await _requests(prep, scenario)
    app, outer = _apps(prep, database_url, scenario)
    # BENCH_PROFILE_TIMER=cpu: this process's CPU time, so a request's waits on the database
    # (which runs beside it) count nothing and the figures add up to its CPU per request.
    cpu_timer = os.environ.get("BENCH_PROFILE_TIMER") == "cpu"
    profiler = cProfile.Profile(time.process_time) if cpu_timer else cProfile.Profile()
    try:
        if cpu_timer:
            raise ImportError("pyinstrument samples wall time")
        from pyinstrument import Profiler  # type: ignore[import-not-found,unused-ignore]

        tree: Any = Profiler(interval=0.0005, async_mode="enabled")
    except ImportError:
        tree = None
    counts: Counter[str] = Counter()
    counting = False

    async with app.router.lifespan_context(app):
        engine = app.state.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if counting:
                counts[" ".join(statement.split()[:4])[:60]] += 1

        def _in_transaction(conn: Any) -> bool:  # safe-method requests run without one
            return bool(conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT")

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if counting and _in_transaction(conn):
                counts["BEGIN (implicit)"] += 1

        @event.listens_for(engine, "commit")
        def _commit(conn: Any) -> None:
            if counting and _in_transaction(conn):
                counts["COMMIT"] += 1

        @event.listens_for(engine.pool, "checkout")
        def _checkout(*args: Any) -> None:
            if counting:
                counts["pool checkout (pinged only after 10 s idle)"] += 1

        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def send(r: dict[str, Any]) -> int:
                return await _send(client, r)

            for r in reqs[:20]:  # warm-up, not profiled
                await send(r)
            times = []
            statuses: dict[int, int] = {}
            counting = True
            if tree is not None:
                tree.start()
            for i in range(n):
                r = reqs[(20 + i) % len(reqs)]
                began = time.perf_counter()
                if tree is None:
                    profiler.enable()
                status = await send(r)
                if tree is None:
                    profiler.disable()
                times.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
            if tree is not None:
                tree.stop()
            counting = False
    out = io.StringIO()
    times.sort()
    out.write(
        f"{scenario} on {size}: {n} requests in-process, statuses {statuses}, "
        f"p50 {times[len(times) // 2] * 1000:.2f} ms (profiled, so slower than served)\n"
        "database work per request:\n"
    )
    for statement, count in counts.most_common():
        out.write(f"  {count / n:6.2f}  {statement}\n")
    if tree is not None:
        out.write(tree.output_text(unicode=True, color=False, show_all=False))
        return out.getvalue()
    stats = pstats.Stats(profiler, stream=out)
    if os.environ.get("BENCH_PROFILE_OUT"):  # the raw stats, for pstats or snakeviz
        stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    if os.environ.get("BENCH_PROFILE_CALLERS"):  # e.g. find_spec: who calls it
        stats.print_callers(os.environ["BENCH_PROFILE_CALLERS"])
    return out.getvalue()


def run(database_url: str, size: str, scenario: str, n: int = 300, top: int = 40) -> str:
    return asyncio.run(_profile(database_url, size, scenario, n, top))
