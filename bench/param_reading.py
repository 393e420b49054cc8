"""A planned route's parameters read two ways (issue #16): `python -m bench params`.

`solving.Plan` validates each parameter of a route's dependencies before it calls any. It used
FastAPI's `request_params_to_args`, which works out per request what is fixed per route (each
parameter's aliases, whether it is a list, whether it is a model: 14 `issubclass` tests a GET);
`solving._Param` works them out once. Both readings here, of the product's GET, create and
edit routes, on one request each (no server, no database): the CPU of this process per reading,
the least of seven rounds of 2,000 (the machine is shared; the least is the reading's own cost).
"""

from __future__ import annotations

import os
import timeit
from typing import Any

from starlette.requests import Request

ROUTES = (
    ("GET", "/api/v1/events/{event_id}"),
    ("POST", "/api/v1/events"),
    ("PATCH", "/api/v1/events/{event_id}"),
)


def run() -> list[str]:
    os.environ.setdefault("DATABASE_URL", "sqlite+aiosqlite:///:memory:")
    from fastapi.dependencies.utils import request_params_to_args

    from neo_events import solving
    from neo_events.events.router import router

    lines = ["| route | FastAPI's reading, µs | the plan's (`_Param`), µs |", "|---|---:|---:|"]
    for method, path in ROUTES:
        route = next(r for r in router.routes if r.path == path and method in r.methods)
        plan = solving.Plan.of(route)
        assert plan is not None
        scope: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path.replace("{event_id}", "5"),
            "headers": [(b"authorization", b"Bearer " + b"x" * 160), (b"host", b"bench")],
            "query_string": b"",
            "path_params": {"event_id": "5"},
        }

        def fastapi_reading(scope: dict[str, Any] = scope, plan: Any = plan) -> None:
            request = Request(scope)

            def walk(node: Any) -> None:
                for child in node.children:
                    walk(child)
                for fields, source in (
                    (node.path, request.path_params),
                    (node.query, request.query_params),
                    (node.header, request.headers),
                    (node.cookie, request.cookies),
                ):
                    if fields:
                        request_params_to_args([p.field for p in fields], source)

            walk(plan.root)

        def planned_reading(scope: dict[str, Any] = scope, plan: Any = plan) -> None:
            assert plan.root.validate(Request(scope), {})

        old, new = (
            min(timeit.repeat(reading, number=2_000, repeat=7)) / 2_000 * 1e6
            for reading in (fastapi_reading, planned_reading)
        )
        lines.append(f"| {method} `{path}` | {old:.1f} | {new:.1f} |")
    return lines
