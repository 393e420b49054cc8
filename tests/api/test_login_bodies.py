"""Login and register bodies read within bounds, once (an outside attack, 2026-12-04).

An urlencoded login form of `&` × 1,000,000 cost 0.27-0.34 s of CPU and held the event loop
0.25-0.86 s, anonymously: python-multipart parses it byte by byte in Python, and with rate
limits on it was parsed twice (the login budget's peek for the account name, then the route).
Now a login form is at most `login_form.MAX_FORM_BYTES` and `MAX_FORM_FIELDS`, told at C speed
before anything is parsed (413 `payload_too_large`), parsed once and shared.

And the login budget's peek parsed any body that was not a form or MessagePack as JSON,
whatever its type: a text/plain body of 349,000 empty arrays (not counted, as only JSON types
are) cost 0.1 s of CPU before its 415. Now it parses only what the route takes.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import ormsgpack
import pytest
from fastapi import FastAPI

from neo_events.auth.login_form import MAX_FORM_BYTES, MAX_FORM_FIELDS
from tests.conftest import http_client, make_settings, serving
from tests.helpers import assert_problem, cpu_bound, loop_pauses, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Not an ASCII password: a form percent-encodes it, and `+` is a space in a form.
SECRET = "correct hörse+battery €"


@pytest.fixture(params=["limits off", "limits on"])
async def any_app(
    request: pytest.FixtureRequest, database_url: str, data_dir: Path
) -> AsyncIterator[FastAPI]:
    """The app without rate limits (the route parses the body alone) and with them (the login
    budget's peek reads it first, and the route reuses what it parsed)."""
    limits = request.param == "limits on"
    settings = make_settings(
        database_url, data_dir, rate_limit_enabled=limits, rate_limit_auth="1000/minute"
    )
    async with serving(settings) as app:
        if limits:
            await app.state.rate_limiter.reset()
        yield app


@pytest.fixture
async def any_client(any_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(any_app) as client:
        yield client


async def _cheaply(
    client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str], times: int = 1
) -> httpx.Response:
    """The answer to a request sent `times` times, which together must cost < 0.1 s of CPU
    and never hold the loop 0.1 s (each costs a few milliseconds)."""
    gc.collect()
    gc.disable()  # a full collection of a long-lived test worker is not what is measured
    try:
        async with loop_pauses() as pauses:
            with cpu_bound(0.1, f"{times} × {path} {headers} {body[:20]!r}"):
                for _ in range(times):
                    response = await client.post(path, content=body, headers=headers)
    finally:
        gc.enable()
    assert pauses.worst_held < budget(0.1), pauses
    return response


async def test_a_form_of_a_million_fields_is_refused_before_it_is_parsed(
    any_client: httpx.AsyncClient,
) -> None:
    await register(any_client, "alice")
    await any_client.post(LOGIN, content=b"&" * 20, headers=FORM)  # a first refusal: warm
    many = "&".join(f"f{n}=v{n}" for n in range(900)) + "&username=alice&password=x"
    bombs = [
        b"&" * 1_000_000,  # before: 0.27-0.34 s of CPU a parse, the loop held 0.25-0.86 s
        b"username=alice&password=" + b"%" * 1_000_000,  # percent-decoding is per character
        many.encode(),  # 900 real fields: 0.07-0.17 s
        b"&" * MAX_FORM_FIELDS,  # one field past the bound
        b"username=alice&password=" + b"x" * MAX_FORM_BYTES,  # one long field
    ]
    for body in bombs:
        response = await _cheaply(any_client, LOGIN, body, FORM)
        problem = assert_problem(response, 413, "payload_too_large")
        assert problem["detail"] == (
            f"A login form holds at most {MAX_FORM_FIELDS} fields and {MAX_FORM_BYTES:,} "
            "bytes; send username and password."
        )
    part = b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n'
    parts = part * 20_000
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    response = await _cheaply(any_client, LOGIN, parts + b"--b--\r\n", multipart)
    assert_problem(response, 413, "payload_too_large")


async def test_a_real_login_form_signs_in_as_before(any_client: httpx.AsyncClient) -> None:
    alice = await register(any_client, "alice", password=SECRET)
    oauth2 = {
        "grant_type": "password",
        "username": "Alice",
        "password": SECRET,
        "scope": "",
        "client_id": "swagger",
        "client_secret": "",
    }
    forms = [
        {"data": oauth2},  # urlencoded, as Swagger's Authorize button sends it
        {"files": {name: (None, value) for name, value in oauth2.items()}},  # multipart
        {"json": {"username": "alice@example.com", "password": SECRET}},
        {
            "content": ormsgpack.packb({"username": "alice", "password": SECRET}),
            "headers": {"Content-Type": "application/msgpack"},
        },
        # a repeated field's last value counts
        {"data": {"username": ["x", "alice"], "password": SECRET}},
    ]
    for form in forms:
        response = await any_client.post(LOGIN, **form)  # type: ignore[arg-type]
        assert response.status_code == 200, (form, response.text)
        assert response.json()["user"]["id"] == alice.id
    wrong = await any_client.post(LOGIN, data=oauth2 | {"password": SECRET.replace("+", " ")})
    assert_problem(wrong, 401, "invalid_credentials")
    missing = await any_client.post(LOGIN, data={"username": "alice"})
    assert_problem(missing, 422, "validation_error")
    a_file = await any_client.post(
        LOGIN, files={"username": (None, "alice"), "password": ("p.txt", SECRET.encode())}
    )
    assert_problem(a_file, 422, "validation_error")
    broken = await any_client.post(
        LOGIN, content=b"--b\r\nnonsense", headers={"Content-Type": "multipart/form-data"}
    )
    assert_problem(broken, 400, "bad_request")


async def test_a_form_is_utf_8_escaped_or_not(any_client: httpx.AsyncClient) -> None:
    """As browsers read a form (WHATWG): raw bytes are UTF-8 like escaped ones, so `curl -d`
    on a UTF-8 terminal signs in (python-multipart's parse read raw bytes as Latin-1)."""
    alice = await register(any_client, "alice", password=SECRET)
    raw = f"username=alice&password={SECRET.replace('+', '%2B')}".encode()
    response = await any_client.post(LOGIN, content=raw, headers=FORM)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == alice.id


async def test_a_body_of_a_type_the_route_refuses_is_not_parsed(
    database_url: str, data_dir: Path
) -> None:
    """With rate limits on, the login budget's peek read any body as JSON but forms and
    MessagePack: 349,000 empty arrays labelled text/plain, which the container count (JSON
    types only) does not look at, cost 0.09-0.10 s of CPU and held the loop 161-188 ms before
    the 415. And it parsed forms on register too, which takes none."""
    settings = make_settings(
        database_url, data_dir, rate_limit_enabled=True, rate_limit_auth="1000/minute"
    )
    async with serving(settings) as app, http_client(app) as client:
        await app.state.rate_limiter.reset()
        arrays = orjson.dumps([[] for _ in range(349_000)])  # 1,047,001 bytes: under 1 MiB
        await client.post(LOGIN, content=b"[]", headers={"Content-Type": "text/plain"})  # warm
        for path in (LOGIN, REGISTER):
            for media_type in ("text/plain", "application/octet-stream", ""):
                headers = {"Content-Type": media_type} if media_type else {}
                # five at a time: one decode had cost 0.05 s of CPU here (0.1 s on the server
                # attacked); a refusal costs ~2 ms
                response = await _cheaply(client, path, arrays, headers, times=5)
                assert_problem(response, 415, "unsupported_media_type")
        response = await _cheaply(client, REGISTER, b"&" * 1_000_000, FORM)
        assert_problem(response, 415, "unsupported_media_type")
