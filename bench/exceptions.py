"""CPU of the steps a create pays for a series with the most exceptions the API takes (issue #16).

The series of `bench.worst_inputs`' heaviest create (every 7 minutes, 1,000 overrides, 1,000
rdates, 1,000 exdates), in process and without a database: its body read by the request
schema, its content built and checked (`creation.content_from`), its series built, expanded over two
weeks, and its 2,000 exdates and recurrence ids found among its originals. Each figure is the
least CPU time of `--runs` runs: the least is what the step costs when the shared machine
lets it run, so that two commits' figures taken one after the other compare.

`PYTHONPATH=. python -m bench.exceptions [--runs N]`; with another commit's `src` first on
`PYTHONPATH`, that commit's steps.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from neo_events.events import recurrence
from neo_events.events.content import moment, series_of
from neo_events.events.creation import content_from
from neo_events.events.occurrence_keys import originals_among
from neo_events.events.schemas import EventCreate

FIRST = datetime(2030, 1, 1, tzinfo=UTC)


def _at(minutes: int) -> str:
    return (FIRST + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def body() -> dict[str, Any]:
    """As `bench.worst_inputs` sends it."""
    return {
        "title": "x",
        "start_time": "2030-01-01T00:00:00Z",
        "end_time": "2030-01-01T00:01:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=MINUTELY;INTERVAL=7",
        "overrides": [{"recurrence_id": _at(7 * k), "title": f"o{k}"} for k in range(1000)],
        "rdates": [_at(1440 + 7 * k + 3) for k in range(1000)],
        "exdates": [_at(7 * (k + 1000)) for k in range(1000)],
    }


def _least_ms(step: Callable[[], object], runs: int) -> float:
    spent = []
    for _ in range(runs):
        began = time.process_time()
        step()
        spent.append(time.process_time() - began)
    return min(spent) * 1000


def run(runs: int = 15) -> list[str]:
    sent = body()
    model = EventCreate.model_validate(sent)
    content = content_from(model)
    series = series_of(content)
    asked = [moment(x) for x in content["exdates"]]
    asked += [moment(o["recurrence_id"]) for o in content["overrides"]]
    weeks = (FIRST, FIRST + timedelta(days=14))
    steps: list[tuple[str, Callable[[], object]]] = [
        ("the body read (`EventCreate`)", lambda: EventCreate.model_validate(sent)),
        ("its content built and checked (`creation.content_from`)", lambda: content_from(model)),
        ("its series built (`series_of`)", lambda: series_of(content)),
        ("two weeks expanded (`recurrence.expand`)", lambda: recurrence.expand(series, *weeks)),
        ("its 2,000 keys among its originals", lambda: originals_among(series, asked)),
    ]  # fmt: skip
    rows = ["| step | CPU ms (least of runs) |", "| --- | ---: |"]
    rows += [f"| {label} | {_least_ms(step, runs):.2f} |" for label, step in steps]
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    print("\n".join(run(parser.parse_args().runs)))
