"""What a write route costs beyond its statements (issue #16): `python -m bench route-cost`.

The product app (its middleware, `TransactionalRoute`) on a fresh SQLite database, with routes
added for the bench only that answer a constant and take, in turn, more of the update route's
parameters: none, the body, the claims with `If-Match`, `?conflicts` and the path's bounds,
then the `Session` dependency, then the request's origin too. Each variant is sent 500
`PATCH`es through ASGI (no server), six rounds in turn; the figure is the CPU of this process
per request, median of the rounds (httpx's client is about 0.35 ms of each). None of these
routes is in the product.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import APIRouter, Request, Response

from bench.inprocess import bench_settings, fresh_database, register
from neo_events.auth.dependencies import Claims, RequestOrigin
from neo_events.events.router import EventId, IfMatch, Policy
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import EventUpdate
from neo_events.main import create_app
from neo_events.web import Session, TransactionalRoute

ROUNDS, REQUESTS = 6, 500


def _constant() -> Response:
    return Response(b"{}", media_type="application/json")


def _routes() -> APIRouter:
    r = APIRouter(route_class=TransactionalRoute)

    @r.patch("/bench/route/none/{event_id}")
    async def none(event_id: int) -> Response:
        return _constant()

    @r.patch("/bench/route/body/{event_id}")
    async def body(event_id: int, body: EventUpdate) -> Response:
        return _constant()

    @r.patch("/bench/route/claims/{event_id}")
    async def claims(
        event_id: EventId,
        body: EventUpdate,
        request: Request,
        claims: Claims,
        if_match: IfMatch = None,
        conflicts: Policy = ConflictPolicy.WARN,
    ) -> Response:
        return _constant()

    @r.patch("/bench/route/session/{event_id}")
    async def session(
        event_id: EventId,
        body: EventUpdate,
        request: Request,
        claims: Claims,
        session: Session,
        if_match: IfMatch = None,
        conflicts: Policy = ConflictPolicy.WARN,
    ) -> Response:
        return _constant()

    @r.patch("/bench/route/origin/{event_id}")
    async def origin(
        event_id: EventId,
        body: EventUpdate,
        request: Request,
        claims: Claims,
        session: Session,
        origin: RequestOrigin,
        if_match: IfMatch = None,
        conflicts: Policy = ConflictPolicy.WARN,
    ) -> Response:
        return _constant()

    return r


async def _run() -> list[str]:
    data_dir = Path(tempfile.mkdtemp(prefix="neo-route-cost-"))
    url = f"sqlite+aiosqlite:///{data_dir}/bench.db"
    await fresh_database(url)
    app = create_app(bench_settings(url, data_dir))
    app.include_router(_routes())
    variants = ("none", "body", "claims", "session", "origin")
    spent: dict[str, list[float]] = {v: [] for v in variants}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = await register(client)
            for _ in range(ROUNDS):
                for variant in variants:
                    began = time.process_time()
                    for i in range(REQUESTS):
                        answer = await client.patch(
                            f"/bench/route/{variant}/{i + 1}", json={"title": "t"}, headers=headers
                        )
                        assert answer.status_code == 200, answer.text
                    spent[variant].append((time.process_time() - began) / REQUESTS)
    return [
        f"{variant:8} {statistics.median(s) * 1000:.3f} ms CPU a request"
        f" (rounds: {', '.join(f'{x * 1000:.3f}' for x in s)})"
        for variant, s in spent.items()
    ]


def run() -> list[str]:
    return asyncio.run(_run())
