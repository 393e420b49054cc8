"""`python -m bench [command]`: every benchmark of the service (see BENCHMARKS.md).

Commands:
  micro                 the in-process micro-benchmarks (expander, window listing, 1,000 WebSockets,
                        the CPU of the worst single requests)
  dataset --size S      generate (or keep, unless --fresh) the 10k/100k/1m dataset
  load --size S         the load driver (wrk) against a dataset: scenarios, ceilings, RSS
  soak                  10 minutes of mixed load on 2 workers: errors, p99 and memory over time
  profile --scenario X  cProfile one scenario in-process (where its time goes)
  cpu                   CPU per request of each scenario in-process, as a share of the PK route's
  check                 a conflict check's own CPU in-process, cold and warm, for the load's
                        create bodies (issue #16)
  held-parts --size S   a GET with an event's kept grants and names, and read every time
                        (PostgreSQL; issue #16)
  route-cost            what a write route's parameters and session cost beyond its
                        statements: constant answers behind the update route's signature
  params                a planned route's parameters read by FastAPI's
                        request_params_to_args and by solving._Param (issue #16)
  statements --size S   one calendar-read statement's CPU through the ORM session, the session's
                        connection, exec_driver_sql and asyncpg (PostgreSQL)
  shared-edit --size S  a title edit's CPU (worker, PostgreSQL) for an event held by 1 and by 54
  caldav                CalDAV calendar-query (one month) and sync-collection (after 10
                        changes) for a user holding 2,000 events (issue #21)
  caldav-whole          CalDAV whole-calendar reads (sync from scratch, calendar-query without
                        a time range, a 1,000-href multiget, PROPFIND Depth 1) of a user
                        holding 4,500 events, cold and warm (issue #16)
  invitations           inviting 100 people at a time up to an event's 500, CPU of each request
                        (issue #16; PostgreSQL too with BENCH_DATABASE_URL)
  sharing               sharing 100 people at a time up to an event's 1,000, then changing their
                        roles; newcomers holding 0-2,000 series (PostgreSQL too with
                        BENCH_DATABASE_URL)
  search                a listing's q= search over 1,000 events of 40 KB, a plain word and
                        the worst needle: each page and the whole search (PostgreSQL too
                        with BENCH_DATABASE_URL)
  as-of                 a listing with as_of by 2,000, 10,000 and 10,001 events held: the
                        first page (PostgreSQL too with BENCH_DATABASE_URL)
  busy-calendar         a user holding 20,000 events in a year: creates under each conflict
                        policy, free/busy and an event's conflicts (PostgreSQL too with
                        BENCH_DATABASE_URL)
  report                the tables and the plot from bench/results/*.json
  all                   what `make bench` runs: datasets, load runs and the check bench for
                        BENCH_SIZES, report,
                        then each issue's benchmark (worst inputs, find-time, job queue, CalDAV)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SQLITE_DIR = Path("/tmp/bench")


def _url(backend: str, size: str, pg_base: str) -> str:
    from bench import dataset

    if backend == "sqlite":
        return dataset.sqlite_url(size, SQLITE_DIR)
    return dataset.pg_url(size, pg_base)


def micro() -> None:
    from bench import expander, notify_latency, window_listing, worst_inputs

    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}\n")
    for module in (expander, window_listing, notify_latency, worst_inputs):
        print(f"## {module.__name__}\n")
        print("\n".join(module.run()))
        print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("micro", help="expander, window listing, WebSocket fan-out")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--size", choices=("10k", "100k", "1m"), default="100k")
    common.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    common.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
        help="PostgreSQL server URL; the dataset lives in database bench_<size>",
    )
    ds = sub.add_parser("dataset", parents=[common], help="generate a dataset")
    ds.add_argument("--fresh", action="store_true", help="regenerate even if present")
    load = sub.add_parser("load", parents=[common], help="load-test one dataset")
    load.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    load.add_argument("--workers", type=int, default=2)
    load.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    load.add_argument("--connections", type=int, default=32)
    load.add_argument("--only", nargs="*", help="scenario names (default: all)")
    load.add_argument("--redis", default=None, help="REDIS_URL for the server (default: none)")
    load.add_argument("--label", default="", help="suffix of the result file name")
    load.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra server setting"
    )
    soak = sub.add_parser("soak", parents=[common], help="10 minutes of mixed load")
    soak.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    soak.add_argument("--minutes", type=float, default=10.0)
    soak.add_argument("--connections", type=int, default=16)
    prof = sub.add_parser("profile", parents=[common], help="cProfile one scenario in-process")
    prof.add_argument("--scenario", default="get_event")
    prof.add_argument("-n", type=int, default=300)
    prof.add_argument("--top", type=int, default=40)
    cpu = sub.add_parser("cpu", parents=[common], help="CPU per request in-process, vs PK route")
    cpu.add_argument(
        "--scenarios", nargs="+", default=["ceiling_pk", "get_event", "create", "update"]
    )
    cpu.add_argument("-n", type=int, default=300)
    check = sub.add_parser("check", parents=[common], help="a conflict check's own CPU")
    check.add_argument(
        "--scenarios",
        nargs="+",
        default=["create", "create_single", "create_series"],
        help="the load's create scenarios, or heavy_single / heavy_series (user 1's calendar)",
    )
    sub.add_parser("held-parts", parents=[common], help="a GET with kept parts, and without")
    sub.add_parser("route-cost", help="a write route's parameters and session, constant answers")
    sub.add_parser("params", help="a planned route's parameters read by FastAPI and by the plan")
    sub.add_parser("statements", parents=[common], help="one statement's CPU through each layer")
    sub.add_parser("shared-edit", parents=[common], help="an edit's CPU by how many hold the event")
    sub.add_parser("caldav", help="CalDAV calendar-query and sync-collection, 2,000 events")
    sub.add_parser("caldav-whole", help="CalDAV whole-calendar reads, 4,500 events")
    sub.add_parser("invitations", help="inviting 100 at a time up to an event's 500")
    sub.add_parser("sharing", help="sharing 100 at a time up to an event's 1,000")
    sub.add_parser("search", help="a listing's q= search over 1,000 events of 40 KB")
    sub.add_parser("busy-calendar", help="requests over a calendar of 20,000 events in a year")
    asof = sub.add_parser(
        "as-of", parents=[common], help="a listing with as_of by 2,000 to 10,001 events held"
    )
    asof.add_argument("--dataset", action="store_true", help="on the PostgreSQL dataset")
    sub.add_parser("report", help="tables and plot from bench/results")
    sub.add_parser("all", parents=[common], help="make bench: datasets, load runs, report")
    args = parser.parse_args(argv)

    if args.command in (None, "micro"):
        micro()
        return
    if args.command == "caldav":
        from bench import caldav

        print("\n".join(caldav.run()))
        return
    if args.command == "caldav-whole":
        from bench import caldav_whole

        print("\n".join(caldav_whole.run()))
        return
    if args.command == "invitations":
        from bench import invitations

        print("\n".join(invitations.run()))
        return
    if args.command == "sharing":
        from bench import sharing

        print("\n".join(sharing.run()))
        return
    if args.command == "as-of":
        from bench import as_of

        if args.dataset:
            print("\n".join(as_of.on_dataset(_url("postgresql", args.size, args.pg), args.size)))
        else:
            print("\n".join(as_of.run()))
        return
    if args.command == "search":
        from bench import search

        print("\n".join(search.run()))
        return
    if args.command == "busy-calendar":
        from bench import busy_calendar

        print("\n".join(busy_calendar.run()))
        return
    if args.command == "report":
        from bench import report

        report.main()
        return
    from bench import dataset
    from bench import load as load_mod

    if args.command == "dataset":
        print(
            dataset.generate(
                _url(args.backend, args.size, args.pg), args.size, reuse=not args.fresh
            )
        )
    elif args.command == "load":
        url = _url(args.backend, args.size, args.pg)
        print(dataset.generate(url, args.size), file=sys.stderr)
        record = load_mod.run(
            database_url=url,
            size=args.size,
            server=args.server,
            workers=args.workers,
            duration=args.duration,
            concurrency=args.connections,
            only=args.only,
            redis_url=args.redis,
            label=args.label,
            extra_env=dict(item.split("=", 1) for item in args.env),
        )
        print(f"results: bench/results/{record['name']}.json")
    elif args.command == "profile":
        from bench import profile

        url = _url(args.backend, args.size, args.pg)
        print(profile.run(url, args.size, args.scenario, args.n, args.top))
    elif args.command == "cpu":
        from bench import profile

        url = _url(args.backend, args.size, args.pg)
        print(profile.cpu(url, args.size, args.scenarios, args.n))
    elif args.command == "check":
        from bench import check as check_mod

        url = _url(args.backend, args.size, args.pg)
        print(check_mod.run(url, args.size, args.scenarios))
    elif args.command == "held-parts":
        from bench import held_parts

        print(held_parts.run(_url(args.backend, args.size, args.pg), args.size))
    elif args.command == "params":
        from bench import param_reading

        print("\n".join(param_reading.run()))
    elif args.command == "route-cost":
        from bench import route_cost

        print("\n".join(route_cost.run()))
    elif args.command == "statements":
        from bench import statement_cost

        print(statement_cost.run(_url(args.backend, args.size, args.pg)))
    elif args.command == "shared-edit":
        from bench import shared_edit

        print("\n".join(shared_edit.run(_url(args.backend, args.size, args.pg), args.size)))
    elif args.command == "soak":
        from bench import soak as soak_mod

        url = _url(args.backend, args.size, args.pg)
        print(dataset.generate(url, args.size), file=sys.stderr)
        soak_mod.run(
            database_url=url,
            size=args.size,
            server=args.server,
            minutes=args.minutes,
            connections=args.connections,
        )
    elif args.command == "all":
        from bench import check as check_mod
        from bench import report

        sizes = os.environ.get("BENCH_SIZES", "10k 100k").split()
        servers = os.environ.get("BENCH_SERVERS", "uvicorn").split()
        for size in sizes:
            url = _url("postgresql", size, args.pg)
            print(dataset.generate(url, size), file=sys.stderr)
            for server in servers:
                print(f"# load: postgresql {size} {server}", file=sys.stderr)
                load_mod.run(database_url=url, size=size, server=server)
            print(f"\n## #16 a conflict check's own CPU, {size}\n", flush=True)
            print(check_mod.run(url, size, ["create", "create_single", "create_series"]))
        report.main()
        issues(f"{args.pg}/bench_scratch")


def issues(scratch: str) -> None:
    """The figures the second wave's issues ask for, each bench on SQLite and in a scratch
    PostgreSQL database (`scratch`, whose public schema each bench drops and recreates):
    the worst single requests (#16), find-time (#19), the job queue (#20), CalDAV (#21)."""
    import asyncio
    import subprocess

    from bench import caldav, dataset, find_time, worst_inputs

    asyncio.run(dataset.prepare_pg_database(scratch))
    os.environ["BENCH_DATABASE_URL"] = scratch
    for name, module in (("#16 worst single requests", worst_inputs), ("#19 find-time", find_time),
                         ("#21 CalDAV", caldav)):  # fmt: skip
        print(f"\n## {name}\n", flush=True)
        print("\n".join(module.run()), flush=True)
    for label, extra in (("spread over a minute", []), ("due at one instant", ["--burst"])):
        print(f"\n## #20 job queue, 10,000 reminders {label}\n", flush=True)
        command = [sys.executable, "-m", "bench.jobs", "--database-url", scratch, *extra]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
