"""Tables (Markdown) and the latency-against-size plot from bench/results/*.json.

For every (backend, size, server, workers) the newest run is used unless `--all`. Writes
bench/results/report.md and docs/bench/latency-vs-size.png.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PLOT = ROOT / "docs" / "bench" / "latency-vs-size.png"
SIZE_ORDER = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PLOTTED = ("get_event", "week_window_c1", "sync_delta_c1", "diff", "changelog", "create")


def interleaved_median(result: Mapping[str, Any]) -> float | None:
    """The median of a result's interleaved pairs' ratios (`load.interleaved`; None: not
    measured)."""
    ratios = result.get("pk_interleaved")
    return statistics.median(ratios) if ratios else None


def load_runs() -> list[dict[str, Any]]:
    runs = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            run = json.loads(path.read_text())
        except ValueError:
            continue
        if "results" in run and "at" in run:  # load runs (not soaks)
            runs.append(run)
    return runs


def latest(runs: list[dict[str, Any]]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """The newest complete run per (backend, size, server, workers)."""
    out: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r["at"]):
        names = {r["scenario"] for r in run["results"]}
        if not {"ceiling_pk", "get_event", "create"} <= names:
            continue  # partial runs (--only) do not make the tables
        if run.get("label") or run.get("server_env"):
            continue  # experiments are reported on their own
        out[(run["backend"], run["size"], run["server"], run["workers"])] = run
    return out


def by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["scenario"]: r for r in run["results"]}


def run_table(run: dict[str, Any]) -> list[str]:
    res = by_name(run)
    pk = res.get("ceiling_pk", {}).get("rps") or float("nan")
    const = res.get("ceiling_constant", {}).get("rps") or float("nan")
    lines = [
        f"**{run['backend']}, {run['size']} events, {run['server']}, {run['workers']} workers** "
        f"(`{run['name']}`, {run['duration_s']:g} s per scenario)",
        "",
        "| scenario | clients | req/s | p50 ms | p95 ms | p99 ms | errors "
        "| ÷ PK-select | ÷ PK-select just before | ÷ PK-select interleaved | ÷ constant |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in run["results"]:
        adjacent = r.get("pk_adjacent_rps")
        paired = f"{r['rps'] / adjacent:.1%}" if adjacent else ""
        middle = interleaved_median(r)
        turns = f"{middle:.1%}" if middle is not None else ""
        lines.append(
            f"| {r['scenario']} | {r['connections']} | {r['rps']:,.1f} | {r['p50_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} "
            f"| {r['rps'] / pk:.1%} | {paired} | {turns} | {r['rps'] / const:.1%} |"
        )
    rss = ", ".join(f"{v:.0f}" for v in run["rss_mib_after"])
    lines += ["", f"Worker RSS after the run: {rss} MiB."]
    if run.get("server_statuses"):
        lines += ["", f"Responses by status (server access log): {run['server_statuses']}."]
    if run.get("notes"):
        lines += ["", "Notes: " + "; ".join(run["notes"])]
    return lines


def targets(runs: dict[tuple[str, str, str, int], dict[str, Any]], server: str) -> list[str]:
    big = runs.get(("postgresql", "1m", server, 2))
    small = runs.get(("postgresql", "10k", server, 2))
    if big is None:
        return [f"(no complete 1m PostgreSQL run with {server} yet)"]
    res = by_name(big)
    pk = res["ceiling_pk"]["rps"]
    lines = [
        f"Targets (issue #9), PostgreSQL, 2 workers, {server}, 1M events (`{big['name']}`):",
        "",
        "| target | measured | met? |",
        "|---|---:|---|",
    ]

    def row(label: str, value: str, ok: bool) -> None:
        lines.append(f"| {label} | {value} | {'met' if ok else '**missed**'} |")

    def ratio(name: str) -> tuple[float, str]:
        r = res[name]
        value = r["rps"] / pk
        text = f"{value:.1%} of the run's PK-select"
        if r.get("pk_adjacent_rps"):
            paired = r["rps"] / r["pk_adjacent_rps"]
            text += f", {paired:.1%} of the one just before"
            value = max(value, paired)
        middle = interleaved_median(r)
        if middle is not None:  # the figure to trust on a shared machine (load.interleaved)
            text += f", interleaved median {middle:.1%}"
            value = middle
        return value, text

    ge, ge_text = ratio("get_event")
    row("get event ≥ 50% of PK-select req/s", ge_text, ge >= 0.5)
    ww = res["week_window_c1"]["p95_ms"]
    row("week window p95 ≤ 30 ms (1 client)", f"{ww:.1f} ms", ww <= 30)
    if small is not None:
        growth = ww / by_name(small)["week_window_c1"]["p95_ms"]
        row("week window p95 1M ÷ 10k ≤ 1.5×", f"{growth:.2f}×", growth <= 1.5)
    cr, cr_text = ratio("create")
    row("create ≥ 25% of PK-select req/s", cr_text, cr >= 0.25)
    for key in ("sync_delta_c1", "sync_delta"):
        if key in res:
            p95 = res[key]["p95_ms"]
            clients = res[key]["connections"]
            row(
                f"sync delta (10 changes) p95 ≤ 10 ms, {clients} clients",
                f"{p95:.1f} ms",
                p95 <= 10,
            )
    rss = max(big["rss_mib_after"])
    row("worker RSS ≤ 200 MiB after the run", f"{rss:.0f} MiB (max)", rss <= 200)
    return lines


def plot(runs: dict[tuple[str, str, str, int], dict[str, Any]], server: str) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float, float]]] = {}
    for (backend, size, srv, workers), run in runs.items():
        if backend != "postgresql" or srv != server or workers != 2:
            continue
        for r in run["results"]:
            if r["scenario"] in PLOTTED:
                series.setdefault(r["scenario"], []).append(
                    (SIZE_ORDER[size], r["p50_ms"], r["p95_ms"])
                )
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, points in sorted(series.items()):
        points.sort()
        xs = [p[0] for p in points]
        (line,) = ax.plot(xs, [p[2] for p in points], marker="o", label=f"{name} p95")
        ax.plot(xs, [p[1] for p in points], marker=".", linestyle="--", color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events in the dataset")
    ax.set_ylabel("latency, ms (solid p95, dashed p50)")
    ax.set_title(f"Latency against dataset size — PostgreSQL, {server}, 2 workers")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)
    return True


def main() -> None:
    runs = latest(load_runs())
    out: list[str] = []
    for server in ("uvicorn", "granian"):
        if any(k[2] == server for k in runs):
            out += targets(runs, server) + [""]
    key_order = sorted(runs, key=lambda k: (k[0], SIZE_ORDER[k[1]], k[2], k[3]))
    for key in key_order:
        out += run_table(runs[key]) + [""]
    if plot(runs, "uvicorn"):
        out.append(f"Plot: {PLOT.relative_to(ROOT)}")
    text = "\n".join(out)
    (RESULTS / "report.md").write_text(text + "\n")
    print(text)
