"""create_app(settings): the lifespan, middleware, routers and error handlers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis

from neo_events import __version__, db
from neo_events.audit.router import router as audit_router
from neo_events.auth.app_passwords_router import router as app_passwords_router
from neo_events.auth.configured import build_authenticator
from neo_events.auth.passwords import return_hash_memory_to_the_os
from neo_events.auth.router import router as auth_router
from neo_events.caldav.router import dav_error_response
from neo_events.caldav.router import router as caldav_router
from neo_events.caldav.service import Caches as DavCaches
from neo_events.caldav.service import DavError
from neo_events.errors import install_error_handlers
from neo_events.events import held_parts
from neo_events.events.expansions import expansion_bytes
from neo_events.events.occurrences_router import router as occurrences_router
from neo_events.events.router import router as events_router
from neo_events.events.schemas import BatchCreate
from neo_events.events.views import object_bytes
from neo_events.history.router import router as history_router
from neo_events.ical.router import router as ical_router
from neo_events.infra import collector
from neo_events.infra.broker import Broker, MemoryBroker, RedisBroker
from neo_events.infra.cache import LruCache
from neo_events.infra.idempotency import Replay, replay_response
from neo_events.infra.metrics import Metrics, MetricsMiddleware
from neo_events.infra.ratelimit import EXEMPT_PATHS, RateLimiter, RateLimitMiddleware
from neo_events.invitations.router import router as invitations_router
from neo_events.jobs.worker import running
from neo_events.live.hub import Hub
from neo_events.live.router import router as live_router
from neo_events.live.router import stream_router
from neo_events.middleware import (
    ApiAliasMiddleware,
    BodyLimitMiddleware,
    MsgpackMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    document_msgpack,
)
from neo_events.ops.router import router as ops_router
from neo_events.problem_docs import document_problems
from neo_events.reminders.router import router as reminders_router
from neo_events.scheduling.router import router as scheduling_router
from neo_events.settings import Settings
from neo_events.sharing.router import router as sharing_router
from neo_events.stopping import on_server_stop
from neo_events.web import (
    AllowedMethodsMiddleware,
    HeadWithoutBody,
    document_unvalidated_bodies,
    filter_routers_by_path,
    route_table,
)
from neo_events.webclient.router import router as webclient_router
from neo_events.webhooks.router import router as webhooks_router

API_DESCRIPTION = """\
Every endpoint speaks JSON and, alternatively, **MessagePack**: send `Accept: application/msgpack`
(or `application/x-msgpack`) for a MessagePack response, errors included, and
`Content-Type: application/msgpack` to send a MessagePack body. Both carry the same document;
times are RFC 3339 strings in both.

Rate limits: every response carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`,
`RateLimit-Policy` and `RateLimit`; over the limit is a 429 with `Retry-After`.
`POST /events`, `POST /events/batch` and `POST /events/import` take an `Idempotency-Key`.
"""
RATE_LIMIT_FIELDS = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def _new_metrics_and_caches(app: FastAPI, settings: Settings) -> None:
    """The serving's metrics, and its caches empty: made by the lifespan, as everything a
    serving holds is, so an app served again (tests serve one app object per settings, test
    after test) counts from zero and never answers from the rows of a database it served."""
    metrics = app.state.metrics = Metrics()
    app.state.expansions = LruCache(
        "expansions",
        size=settings.expansion_cache_size,
        on_lookup=metrics.cache_lookup,
        max_bytes=settings.expansion_cache_bytes,
        weigh=expansion_bytes,
    )
    app.state.event_objects = LruCache(
        "event_objects",
        size=settings.event_object_cache_size,
        on_lookup=metrics.cache_lookup,
        max_bytes=settings.event_object_cache_bytes,
        weigh=object_bytes,
    )
    app.state.held_parts = LruCache(  # the parts a row's xmin fixes (`events/held_parts.py`)
        "held_parts",
        size=settings.event_object_cache_size,
        on_lookup=metrics.cache_lookup,
        max_bytes=held_parts.MAX_BYTES,
        weigh=held_parts.weight,
    )
    app.state.caldav_caches = DavCaches.new(metrics.cache_lookup)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application for these settings; engines and clients start in its lifespan."""
    settings = settings or Settings()
    settings.resolved_secret_key()  # fails fast in production without SECRET_KEY

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stack = AsyncExitStack()
        engine = await db.create_checked_engine(settings)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = db.create_sessionmaker(engine)
        app.state.read_sessionmaker = db.create_read_sessionmaker(engine)
        _new_metrics_and_caches(app, settings)
        app.state.redis = redis
        limiter = RateLimiter(settings.redis_url) if settings.rate_limit_enabled else None
        app.state.rate_limiter = limiter
        broker: Broker = RedisBroker(redis) if redis is not None else MemoryBroker()
        hub = Hub(
            app.state.sessionmaker,
            broker,
            poll_interval=settings.live_poll_s,
            queue_size=settings.live_queue_size,
            max_per_user=settings.live_max_connections,
        )
        app.state.hub = hub
        # logout and refresh-token reuse end the sign-in's live connections on every worker
        app.state.authenticator = dataclasses.replace(
            build_authenticator(settings), sessions_revoked=hub.revoke
        )
        await hub.start()
        stack.callback(on_server_stop(hub.server_stopping))
        jobs = (
            await stack.enter_async_context(
                running(settings, app.state.sessionmaker, publish=hub.changed)
            )
            if settings.jobs_in_serve
            else None
        )
        app.state.jobs = jobs
        route_table(app)  # not on the first request's loop (`route_table`)
        collector.settle()  # what is alive now lives as long as the worker
        return_hash_memory_to_the_os()
        try:
            yield
        finally:
            await stack.aclose()  # the job runner stops before what it uses
            app.state.authenticator.hasher.close()
            await hub.stop()
            await broker.close()
            if limiter is not None:
                await limiter.aclose()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Neo Events",
        version=__version__,
        summary="Collaborative event scheduling: roles, history, recurrence, live updates.",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # DOCS_ENABLED: off by default in production (SECURITY.md)
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    install_error_handlers(app)
    app.add_exception_handler(Replay, replay_response)
    app.include_router(ops_router)
    app.include_router(auth_router)
    app.include_router(ical_router)  # before events: /events/import and /events/{id}.ics
    app.include_router(events_router)
    app.include_router(occurrences_router)
    app.include_router(sharing_router)
    app.include_router(invitations_router)
    app.include_router(scheduling_router)
    app.include_router(history_router)
    app.include_router(audit_router)
    app.include_router(reminders_router)
    app.include_router(webhooks_router)
    app.include_router(live_router)
    app.include_router(stream_router)
    app.include_router(app_passwords_router)
    app.include_router(caldav_router)  # /.well-known/caldav and /dav/ (SPEC §15)
    app.add_exception_handler(DavError, dav_error_response)
    app.include_router(webclient_router)  # the browser client at / (SPEC §12)
    filter_routers_by_path(app.router.routes)
    document_problems(app, unlimited_paths=EXEMPT_PATHS)
    document_msgpack(app)
    document_unvalidated_bodies(app, (BatchCreate,))

    # Added innermost first. MessagePack is turned into JSON inside the body limit (which bounds
    # what it buffers); rate limits refuse before any body is parsed but the auth routes' (read
    # to find the account, also bounded); metrics see every answer, 429s and 413s included, and
    # need the alias rewrite done first to name the route; the request-id context wraps
    # everything so every log line and error carries it.
    app.add_middleware(AllowedMethodsMiddleware)
    app.add_middleware(MsgpackMiddleware)
    if settings.rate_limit_enabled:
        app.add_middleware(
            RateLimitMiddleware, default=settings.rate_limit_default, auth=settings.rate_limit_auth
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_parts=settings.http_max_body_chunks,
    )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(ApiAliasMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After", *RATE_LIMIT_FIELDS],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.environment == "production")
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(HeadWithoutBody)  # outermost: a HEAD's header fields are its GET's
    return app
