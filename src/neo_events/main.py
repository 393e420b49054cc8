"""create_app(settings): the lifespan, middleware, routers and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import Redis

from neo_events import __version__, db
from neo_events.auth.passwords import PasswordHasher
from neo_events.auth.router import router as auth_router
from neo_events.auth.service import Authenticator
from neo_events.auth.tokens import TokenCodec
from neo_events.errors import install_error_handlers
from neo_events.middleware import (
    ApiAliasMiddleware,
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from neo_events.ops.router import router as ops_router
from neo_events.settings import Settings


def build_authenticator(settings: Settings) -> Authenticator:
    """Token signing and password hashing as the settings configure them."""
    return Authenticator(
        tokens=TokenCodec(
            settings.resolved_secret_key(),
            access_ttl=timedelta(minutes=settings.access_token_expire_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_expire_days),
        ),
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.hash_concurrency,
        ),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application for these settings; engines and clients start in its lifespan."""
    settings = settings or Settings()
    settings.resolved_secret_key()  # fails fast in production without SECRET_KEY

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.create_engine(settings)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = db.create_sessionmaker(engine)
        app.state.redis = redis
        app.state.authenticator = build_authenticator(settings)
        try:
            yield
        finally:
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="Neo Events",
        version=__version__,
        summary="Collaborative event scheduling: roles, history, recurrence, live updates.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(auth_router)

    # Added innermost first: the alias rewrite sees the raw path before routing, the
    # request-id context wraps everything so every log line and error carries it.
    app.add_middleware(ApiAliasMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.environment == "production")
    app.add_middleware(RequestContextMiddleware)
    return app
