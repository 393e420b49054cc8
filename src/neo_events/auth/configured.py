"""The authenticator (token signing, password hashing) a process's settings configure: the
app's (`main`), and `neo-events create-admin`'s, which needs nothing else of the app
(importing `main` for this cost each command 0.8 s of CPU)."""

from __future__ import annotations

from datetime import timedelta

from neo_events.auth.passwords import PasswordHasher
from neo_events.auth.service import Authenticator
from neo_events.auth.tokens import TokenCodec
from neo_events.settings import Settings


def build_authenticator(settings: Settings) -> Authenticator:
    """Token signing and password hashing as the settings configure them."""
    return Authenticator(
        tokens=TokenCodec(
            settings.resolved_secret_key(),
            access_ttl=timedelta(minutes=settings.access_token_expire_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_expire_days),
            previous_keys=settings.secret_key_previous,
        ),
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.hash_concurrency,
        ),
    )
