"""A password signs in whatever Unicode form it is typed in (RFC 8265 OpaqueString: NFC, the
non-ASCII spaces as U+0020), and an account whose hash was made of its password as sent,
before passwords were prepared, still signs in and is moved to the prepared form."""

from __future__ import annotations

import argon2
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from neo_events.auth.passwords import password_forms, prepared
from neo_events.models import User
from tests.helpers import register

pytestmark = pytest.mark.anyio

LOGIN = "/api/v1/auth/login"
NFC = "pässwörd!"
NFD = "pa\u0308sswo\u0308rd!"


def test_a_login_checks_two_forms_only_for_a_password_not_already_prepared() -> None:
    assert password_forms("correct horse") == ("correct horse",)
    assert password_forms(NFC) == (NFC,)
    assert password_forms(NFD) == (NFC, NFD)
    assert password_forms("two\u00a0words") == ("two words", "two\u00a0words")
    assert prepared("x\u3000y\u2009z") == "x y z"
    assert prepared("ﬁ²") == "ﬁ²"  # NFC, not NFKC: compatibility forms stay distinct


async def _login(client: httpx.AsyncClient, password: str) -> int:
    response = await client.post(LOGIN, json={"username": "zoe", "password": password})
    return response.status_code


@pytest.mark.parametrize(
    ("registered", "typed"), [(NFC, NFD), (NFD, NFC), ("a\u00a0b c d e f", "a b c d e f")]
)
async def test_a_password_signs_in_in_another_unicode_form(
    client: httpx.AsyncClient, registered: str, typed: str
) -> None:
    await register(client, "zoe", password=registered)
    assert await _login(client, typed) == 200
    assert await _login(client, registered) == 200
    assert await _login(client, NFC + "x") == 401


async def test_an_account_hashed_before_passwords_were_prepared_signs_in_and_is_rehashed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    zoe = await register(client, "zoe", password="placeholder password")
    legacy = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(NFD)
    async with app.state.sessionmaker() as session:
        await session.execute(update(User).where(User.id == zoe.id).values(password_hash=legacy))
        await session.commit()
    assert await _login(client, NFC) == 401  # its hash is of the other form, sent as NFC
    assert await _login(client, NFD) == 200  # the password as it was sent at registration
    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == zoe.id))
    assert stored != legacy
    assert argon2.PasswordHasher().verify(stored, NFC)  # made again of the prepared form
    assert await _login(client, NFC) == 200
