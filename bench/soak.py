"""Soak (issue #10, not in CI): mixed load for N minutes on 2 workers, sliced.

The load is one wrk run per 30-second slice (back to back) replaying a mixed list of
requests (reads, windows, sync, diffs, changelogs, creates, updates, shares); after each slice
every worker's resident memory is read. Reports the error count, p99 and memory over time
(bench/results/soak-*.json, docs/bench/soak.png).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load

SLICE_S = 30.0
MIX = {  # share of requests per scenario
    "get_event": 40,
    "week_window": 5,
    "sync_delta": 10,
    "diff": 10,
    "changelog": 10,
    "create": 10,
    "update": 10,
    "share": 5,
}
ROOT = Path(__file__).resolve().parents[1]
PLOT = ROOT / "docs" / "bench" / "soak.png"


def _mix(scenarios: dict[str, load.Scenario], total: int = 4000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursors = dict.fromkeys(MIX, 0)
    weight = sum(MIX.values())
    credit = dict.fromkeys(MIX, 0.0)
    for _ in range(total):  # smooth weighted round robin: the mix holds in every stretch
        for name, share in MIX.items():
            credit[name] += share
        name = max(credit, key=lambda k: credit[k])
        credit[name] -= weight
        reqs = scenarios[name].requests
        out.append(reqs[cursors[name] % len(reqs)])
        cursors[name] += 1
    return out


def run(
    *,
    database_url: str,
    size: str,
    server: str = "uvicorn",
    minutes: float = 10.0,
    connections: int = 16,
    workers: int = 2,
    port: int = 8742,
) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    name = f"soak-{stamp}-{backend}-{size}-{server}-w{workers}"
    workdir = load.RESULTS / "runs" / name
    workdir.mkdir(parents=True, exist_ok=True)
    prep = load.Prepared(database_url, size, seed=23)
    asyncio.run(prep.load())
    scenarios = asyncio.run(load.build_scenarios(prep, connections))
    pairs = asyncio.run(prep.sync_tokens())
    asyncio.run(prep.mint([u for u, _ in pairs]))
    scenarios["sync_delta"] = load.Scenario(
        "sync_delta",
        connections,
        [load._req("GET", f"{load.API}/sync?token={t}", prep.token(u)) for u, t in pairs],
    )
    mixed = load.Scenario("soak_mix", connections, _mix(scenarios))
    slices: list[dict[str, Any]] = []
    began = time.monotonic()
    log = workdir / "server.log"
    with load.Server(server, database_url, workers, port, log) as srv:
        start_rss = srv.rss_mib()
        n = max(1, round(minutes * 60 / SLICE_S))
        for index in range(n):
            result = load.run_wrk(srv.base, mixed, SLICE_S, workdir)
            assert isinstance(result, load.Result)
            rss = srv.rss_mib()
            entry = {
                "t_s": round(time.monotonic() - began, 1),
                "rps": result.rps,
                "p50_ms": result.p50_ms,
                "p99_ms": result.p99_ms,
                "max_ms": result.max_ms,
                "errors": result.errors,
                "requests": result.requests,
                "rss_mib": list(rss.values()),
            }
            slices.append(entry)
            print(
                f"  slice {index + 1:2}/{n} t={entry['t_s']:6.0f}s {result.rps:7.1f} req/s "
                f"p99 {result.p99_ms:7.1f} ms errors {result.errors} "
                f"rss {', '.join(f'{v:.0f}' for v in rss.values())} MiB",
                file=sys.stderr,
                flush=True,
            )
    record = {
        "name": name,
        "backend": backend,
        "size": size,
        "server": server,
        "workers": workers,
        "connections": connections,
        "minutes": minutes,
        "mix": MIX,
        "rss_mib_start": list(start_rss.values()),
        "slices": slices,
        "errors": sum(s["errors"] for s in slices),
        "server_statuses": load.server_statuses(log),
        "requests": sum(s["requests"] for s in slices),
        "machine": load.machine(),
    }
    (load.RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1))
    _plot(record)
    print(
        f"soak: {record['requests']:,} requests, {record['errors']} errors; "
        f"results bench/results/{name}.json, plot {PLOT.relative_to(ROOT)}"
    )
    return record


def _plot(record: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t_s"] / 60 for s in record["slices"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(t, [s["p99_ms"] for s in record["slices"]], marker="o", label="p99")
    top.plot(t, [s["p50_ms"] for s in record["slices"]], marker=".", label="p50")
    top.set_ylabel("latency, ms")
    top.legend()
    top.grid(alpha=0.3)
    workers = len(record["slices"][0]["rss_mib"]) if record["slices"] else 0
    for w in range(workers):
        bottom.plot(
            t,
            [s["rss_mib"][w] if w < len(s["rss_mib"]) else None for s in record["slices"]],
            marker="o",
            label=f"worker {w + 1}",
        )
    bottom.set_ylabel("RSS, MiB")
    bottom.set_xlabel("minutes")
    bottom.legend()
    bottom.grid(alpha=0.3)
    fig.suptitle(
        f"Soak: {record['backend']} {record['size']}, {record['server']}, "
        f"{record['workers']} workers, {record['connections']} clients, "
        f"{record['errors']} errors"
    )
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
