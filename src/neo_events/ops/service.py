"""Readiness probes of the service's dependencies, each bounded in time."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from neo_events.db import SchemaNotCurrent, check_schema
from neo_events.infra.ratelimit import RateLimiter

PROBE_TIMEOUT_S = 2.0
# Reported, but not what readiness hangs on: the limiter keeps serving from memory when Redis
# is away, and the `redis` check already says so.
INFORMATIONAL = frozenset({"rate_limiter"})


async def _probe_database(engine: AsyncEngine) -> None:
    """The database answers, at this release's schema (`db.check_schema`: one query)."""
    await check_schema(engine, warn=False)


async def check_readiness(
    engine: AsyncEngine, redis: Redis | None, rate_limiter: RateLimiter | None = None
) -> dict[str, str]:
    """'ok' or a short reason per dependency."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(_probe_database(engine), PROBE_TIMEOUT_S)
        checks["database"] = "ok"
    except SchemaNotCurrent as exc:  # restored from an older release, say
        checks["database"] = f"not at this release's schema: {exc}"
    except Exception as exc:  # any failure means "not ready", never a 500
        checks["database"] = f"unavailable ({exc.__class__.__name__})"
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), PROBE_TIMEOUT_S)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable ({exc.__class__.__name__})"
    if rate_limiter is not None:
        try:
            checks["rate_limiter"] = await asyncio.wait_for(rate_limiter.probe(), PROBE_TIMEOUT_S)
        except Exception as exc:
            checks["rate_limiter"] = f"degraded ({exc.__class__.__name__})"
    return checks


def is_ready(checks: dict[str, str]) -> bool:
    return all(value == "ok" for name, value in checks.items() if name not in INFORMATIONAL)
