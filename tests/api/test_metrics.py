"""GET /metrics: Prometheus text, requests and latencies by route template (never the raw path),
rate-limit refusals, and the counters other features feed; one registry per app."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import ormsgpack
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from neo_events import timezones
from neo_events.main import create_app
from tests.conftest import http_client, make_settings
from tests.helpers import register

pytestmark = pytest.mark.anyio


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    for event_id in (123456, 654321):
        response = await client.get(f"/api/v1/events/{event_id}", headers=alice.headers)
        assert response.status_code == 404
    await client.get("/api/events/777", headers=alice.headers)  # the alias, same route
    await client.get("/api/v1/no/such/path/9")
    samples = await scrape(client)
    route = "/api/v1/events/{event_id}"
    assert value(samples, "neo_http_requests_total", method="GET", route=route, status="404") == 3
    assert (
        value(
            samples,
            "neo_http_requests_total",
            method="POST",
            route="/api/v1/auth/register",
            status="201",
        )
        == 1
    )
    assert value(samples, "neo_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert (
        value(samples, "neo_http_requests_total", method="GET", route="<unmatched>", status="404")
        == 1
    )
    routes = {dict(labels).get("route") for (_, labels) in samples}
    assert not any(r and any(ch.isdigit() for ch in r.replace("v1", "")) for r in routes)


async def test_feature_counters(app: FastAPI, client: httpx.AsyncClient) -> None:
    metrics = app.state.metrics
    metrics.cache_hit("event")
    metrics.cache_hit("event")
    metrics.cache_miss("event")
    metrics.websocket_opened()
    metrics.websocket_opened()
    metrics.websocket_closed()
    samples = await scrape(client)
    assert value(samples, "neo_cache_requests_total", cache="event", result="hit") == 2
    assert value(samples, "neo_cache_requests_total", cache="event", result="miss") == 1
    assert value(samples, "neo_websockets_open") == 1


async def test_rate_limit_refusals_are_counted(database_url: str, data_dir: Path) -> None:
    settings = make_settings(
        database_url, data_dir, rate_limit_enabled=True, rate_limit_default="2/minute"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses = [(await client.get("/api/v1/auth/me")).status_code for _ in range(3)]
            assert statuses == [401, 401, 429]
            samples = await scrape(client)
    assert value(samples, "neo_rate_limit_rejections_total", policy="default") == 1
    assert (
        value(
            samples, "neo_http_requests_total", method="GET", route="/api/v1/auth/me", status="429"
        )
        == 1
    )


async def test_a_refusal_before_routing_names_its_route_cheaply(own_app: FastAPI) -> None:
    """A 413 is answered before the router runs; its route template comes from the routes
    themselves, not from building the OpenAPI document (~0.3 s of CPU on the loop at each
    worker's first refusal: it failed a CI run's timed refusal). A new app object: one
    served before may have built its document."""
    bomb = ormsgpack.packb([[]] * 60_000)  # read whole and refused before routing
    async with http_client(own_app) as client:
        response = await client.post(
            "/api/v1/events/batch", content=bomb, headers={"Content-Type": "application/msgpack"}
        )
        assert response.status_code == 413
        assert own_app.openapi_schema is None
        samples = await scrape(client)
    assert (
        value(
            samples,
            "neo_http_requests_total",
            method="POST",
            route="/api/v1/events/batch",
            status="413",
        )
        == 1
    )


async def test_each_app_has_its_own_registry(
    client: httpx.AsyncClient, database_url: str, data_dir: Path
) -> None:
    await client.get("/healthz")
    other = create_app(make_settings(database_url, data_dir))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as fresh:
            samples = await scrape(fresh)
    assert (
        value(samples, "neo_http_requests_total", method="GET", route="/healthz", status="200") == 0
    )
    assert (
        value(
            await scrape(client),
            "neo_http_requests_total",
            method="GET",
            route="/healthz",
            status="200",
        )
        == 1
    )


async def test_the_zone_rules_a_worker_computes_with_are_shown(client: httpx.AsyncClient) -> None:
    """An operator sees which IANA rules each worker has (docs/operations.md, upgrades)."""
    samples = await scrape(client)
    assert value(samples, "neo_zone_rules_info", version=timezones.RULES_VERSION) == 1.0
    assert re.fullmatch(r"\d{4}[a-z]", timezones.RULES_VERSION)
