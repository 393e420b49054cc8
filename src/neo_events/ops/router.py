"""Operational endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from neo_events.errors import problem_response
from neo_events.ops import service

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it checks nothing else)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> dict[str, Any] | Response:
    """The database (and Redis, when configured) answer; 503 problem otherwise."""
    checks = await service.check_readiness(request.app.state.engine, request.app.state.redis)
    if all(value == "ok" for value in checks.values()):
        return {"status": "ready", "checks": checks}
    return problem_response(
        request,
        503,
        "not_ready",
        title="A dependency is not reachable",
        detail=", ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok"),
        extra={"checks": checks},
    )
