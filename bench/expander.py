"""Occurrences per second of the pure recurrence expander, and the cost of an old series."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from neo_events.events.recurrence import Series, expand

RULES = {
    "daily": "FREQ=DAILY",
    "weekly MO,WE,FR": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "monthly last FR": "FREQ=MONTHLY;BYDAY=-1FR",
    "monthly last weekday": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
}
WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)


def _series(rule: str, start: datetime) -> Series:
    return Series(start=start, end=start + timedelta(hours=1), timezone="Europe/Berlin", rule=rule)


def _rate(series: Series, window_end: datetime, seconds: float = 0.5) -> tuple[float, int]:
    """(occurrences per second, occurrences per call) expanding the window repeatedly."""
    calls = produced = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        produced += len(expand(series, WINDOW_START, window_end, limit=100_000))
        calls += 1
    elapsed = time.perf_counter() - began
    return produced / elapsed, produced // calls


def _call_time(series: Series, window_start: datetime, window_end: datetime, n: int = 300) -> float:
    began = time.perf_counter()
    for _ in range(n):
        expand(series, window_start, window_end)
    return (time.perf_counter() - began) / n


def run() -> list[str]:
    lines = [
        "| rule (Europe/Berlin, 2026 window of 366 days) | occurrences/s | per call |",
        "|---|---:|---:|",
    ]
    year_end = WINDOW_START + timedelta(days=366)
    for name, rule in RULES.items():
        rate, per_call = _rate(_series(rule, datetime(2025, 12, 1, 8, tzinfo=UTC)), year_end)
        lines.append(f"| {name} | {rate:,.0f} | {per_call} |")
    week = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
    old = _call_time(_series("FREQ=DAILY", datetime(2001, 6, 1, 8, tzinfo=UTC)), *week)
    new = _call_time(_series("FREQ=DAILY", datetime(2026, 5, 31, 8, tzinfo=UTC)), *week)
    lines += [
        "",
        "| one-week window of a daily series | µs per expansion |",
        "|---|---:|",
        f"| started 25 years before | {old * 1e6:,.1f} |",
        f"| started the day before | {new * 1e6:,.1f} |",
        f"| ratio | {old / new:.2f}× |",
    ]
    return lines
