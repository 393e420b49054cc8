"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from neo_events.errors import problem_response
from neo_events.ops import service

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it checks nothing else)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, Any] | Response:
    """The database (and Redis, when configured) answer; 503 problem otherwise. With rate limits
    on, `rate_limiter` says whether budgets are shared through Redis (`ok`) or kept per process
    because Redis is away (`degraded (memory fallback)`); requests are served either way."""
    state = request.app.state
    checks = await service.check_readiness(
        state.engine, state.redis, getattr(state, "rate_limiter", None)
    )
    if service.is_ready(checks):
        return {"status": "ready", "checks": checks}
    return problem_response(
        request,
        503,
        "not_ready",
        title="A dependency is not reachable",
        detail=", ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok"),
        extra={"checks": checks},
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition"}},
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route template, rate-limit refusals, cache and
    WebSocket figures, process figures; Prometheus text (or OpenMetrics when asked for)."""
    body, content_type = request.app.state.metrics.render(request.headers.get("accept", ""))
    return Response(body, media_type=content_type)
