"""Prometheus metrics, one registry per app, labelled by route template (never the raw path).

`GET /metrics` renders them. Each app owns its `Metrics` (so tests can build many apps) at
`app.state.metrics`; other features count what only they can see through it:

    metrics = request.app.state.metrics     # or websocket.app.state.metrics
    metrics.websocket_opened()               # neo_websockets_open += 1
    metrics.websocket_closed()               # neo_websockets_open -= 1
    metrics.cache_hit("event")               # neo_cache_requests_total{cache="event",result="hit"}
    metrics.cache_miss("event")              # ... {cache="event",result="miss"}
    metrics.rate_limited("default")          # neo_rate_limit_rejections_total{policy="default"}

Cache names and policies must come from a small fixed set (they become label values).
With several workers each process counts its own requests; Prometheus should scrape each
worker (or each host running one worker per core) rather than a load-balanced address.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neo_events import timezones

# Latency buckets for an API whose reads take milliseconds and whose batch writes take longer.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
# Any other method a client invents is counted as OTHER: label values must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The counters, gauges and histograms of one application instance."""

    def __init__(self) -> None:
        self._templates: list[tuple[re.Pattern[str], str]] | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "neo_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "neo_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "neo_http_requests_in_progress", "HTTP requests being served.", registry=self.registry
        )
        self.rate_limit_rejections = Counter(
            "neo_rate_limit_rejections",
            "Requests refused with 429, by rate-limit policy.",
            ["policy"],
            registry=self.registry,
        )
        self.cache_requests = Counter(
            "neo_cache_requests",
            "Server-side cache look-ups, by cache and result (hit or miss).",
            ["cache", "result"],
            registry=self.registry,
        )
        self._cache_children: dict[tuple[str, bool], Any] = {}
        self.websockets_open = Gauge(
            "neo_websockets_open", "WebSocket connections open now.", registry=self.registry
        )
        Info(
            "neo_zone_rules",
            "The IANA time zone rules this worker computes with.",
            registry=self.registry,
        ).info({"version": timezones.RULES_VERSION})

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def rate_limited(self, policy: str) -> None:
        self.rate_limit_rejections.labels(policy).inc()

    def cache_hit(self, cache: str) -> None:
        self.cache_lookup(cache, True)

    def cache_miss(self, cache: str) -> None:
        self.cache_lookup(cache, False)

    def cache_lookup(self, cache: str, hit: bool, count: int = 1) -> None:
        """`count` look-ups (a calendar read makes a thousand): the labelled counter is
        found once per (cache, result), not through `labels` each time."""
        child = self._cache_children.get((cache, hit))
        if child is None:
            child = self.cache_requests.labels(cache, "hit" if hit else "miss")
            self._cache_children[(cache, hit)] = child
        child.inc(count)

    def websocket_opened(self) -> None:
        self.websockets_open.inc()

    def websocket_closed(self) -> None:
        self.websockets_open.dec()

    def template_for(self, app: Any, path: str) -> str:
        if self._templates is None:
            # The documented routes' templates, in routing order, as the OpenAPI document lists
            # them, without building that document (~0.3 s of CPU at a worker's first refusal).
            found: dict[str, re.Pattern[str]] = {}
            for route in iter_route_contexts(app.router.routes) if app is not None else ():
                regex, template = getattr(route, "path_regex", None), route.path_format
                if getattr(route, "include_in_schema", False) and regex and template:
                    found.setdefault(template, regex)
            self._templates = [(regex, template) for template, regex in found.items()]
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return UNMATCHED

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics if asked for) and its media type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


def route_template(scope: Scope, metrics: Metrics) -> str:
    """The path template that served (or would have served) this request."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) if route is not None else None
    if template is None:
        # Refused before routing (rate limit, body limit): name the route the router would have
        # picked, from the documented paths; a path nothing serves has no template.
        template = metrics.template_for(scope.get("app"), scope["path"])
    return str(template)


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status, in the
    serving's `Metrics` (`app.state.metrics`, made by the lifespan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics: Metrics = scope["app"].state.metrics
        began = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.in_progress.dec()
            metrics.observe_request(
                scope["method"],
                route_template(scope, metrics),
                status,
                time.perf_counter() - began,
            )
