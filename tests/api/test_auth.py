"""SPEC §3 through HTTP: register, login, refresh rotation and reuse, logout, me, lookup."""

from __future__ import annotations

import statistics
import time
import warnings

import httpx
import jwt
import pytest
from fastapi import FastAPI
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import text

from neo_events.settings import Settings
from tests.conftest import http_client, make_settings, serving
from tests.helpers import PASSWORD, assert_problem, audit_actions, count_rows, register

pytestmark = pytest.mark.anyio

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


async def test_register_returns_user_and_working_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER, json={"username": "Alice", "email": "Alice@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert set(body["user"]) == {"id", "username", "email", "created_at"}
    assert body["user"]["username"] == "Alice"
    assert body["user"]["created_at"].endswith(("Z", "+00:00"))
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == body["user"]


async def test_password_is_stored_as_argon2id(client: httpx.AsyncClient, app: FastAPI) -> None:
    await register(client, "alice")
    from sqlalchemy import select

    from neo_events.models import User

    async with app.state.sessionmaker() as session:
        stored = (await session.execute(select(User.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("taken", "attempt", "code"),
    [
        ({"username": "alice"}, {"username": "ALICE"}, "username_taken"),
        ({"email": "a@example.com"}, {"email": "A@EXAMPLE.COM"}, "email_taken"),
    ],
)
async def test_duplicates_are_case_insensitive_409(
    client: httpx.AsyncClient,
    app: FastAPI,
    taken: dict[str, str],
    attempt: dict[str, str],
    code: str,
) -> None:
    first = {"username": "alice", "email": "alice@example.com", "password": PASSWORD} | taken
    assert (await client.post(REGISTER, json=first)).status_code == 201
    second = {"username": "bob", "email": "bob@example.com", "password": PASSWORD} | attempt
    assert_problem(await client.post(REGISTER, json=second), 409, code)
    assert await count_rows(app, "users") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "al", "email": "al@example.com", "password": PASSWORD}, "username"),
        ({"username": "a b", "email": "ab@example.com", "password": PASSWORD}, "username"),
        ({"username": "a@b", "email": "ab@example.com", "password": PASSWORD}, "username"),
        ({"username": "x" * 33, "email": "x@example.com", "password": PASSWORD}, "username"),
        ({"username": "carol", "email": "not-an-email", "password": PASSWORD}, "email"),
        ({"username": "carol", "email": "c@example.com", "password": "short"}, "password"),
        ({"username": "carol", "email": "c@example.com"}, "password"),
    ],
)
async def test_register_rejects_bad_input_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, str], field: str
) -> None:
    problem = assert_problem(await client.post(REGISTER, json=body), 422, "validation_error")
    assert [field] in [error["loc"] for error in problem["errors"]]
    assert PASSWORD not in str(problem)  # inputs are never echoed
    assert await count_rows(app, "users") == 0
    assert await count_rows(app, "audit_log") == 0


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
async def test_login_by_username_or_email_json(client: httpx.AsyncClient, identifier: str) -> None:
    account = await register(client, "alice")
    response = await client.post(LOGIN, json={"username": identifier, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == account.id


async def test_login_with_oauth2_form(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    response = await client.post(
        LOGIN, data={"username": "alice", "password": PASSWORD, "grant_type": "password"}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_login_failures_are_401_and_audited(client: httpx.AsyncClient, app: FastAPI) -> None:
    account = await register(client, "alice")
    wrong = await client.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    problem = assert_problem(wrong, 401, "invalid_credentials")
    assert wrong.headers["www-authenticate"] == "Bearer"
    unknown = await client.post(LOGIN, json={"username": "nobody", "password": PASSWORD})
    assert_problem(unknown, 401, "invalid_credentials")
    assert unknown.json()["detail"] == problem["detail"]  # no hint which part was wrong
    assert await audit_actions(app) == [
        ("register", "success"),
        ("login", "failure"),
        ("login", "failure"),
    ]
    # the failure on a real account is attributed to it (the owner can see it in their audit)
    assert await count_rows(app, "audit_log", action="login", target_id=account.id) == 1
    assert await count_rows(app, "auth_sessions") == 1  # failures open no session


async def test_login_bad_bodies(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(LOGIN, json={"username": "a"}), 422, "validation_error")
    assert_problem(
        await client.post(LOGIN, content=b"{", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    # nested past the JSON parser's depth: a 500 with a RecursionError before (an outside
    # attack; 2 KB, no account needed)
    deep = b"[" * 5000 + b"]" * 5000
    assert_problem(
        await client.post(LOGIN, content=deep, headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    assert_problem(
        await client.post(LOGIN, content=b"x", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )


async def test_login_costs_the_same_for_unknown_users(database_url: str, data_dir: object) -> None:
    """Both paths run one real Argon2 verification (ratio of medians, in one run). Timed in
    CPU seconds of this process (the app and its hashing threads), samples interleaved: a
    shared machine's load moves wall-clock time, not the work a request does."""
    settings = make_settings(database_url, data_dir, argon2_time_cost=3, argon2_memory_kib=16384)
    async with serving(settings) as app, http_client(app) as client:
        await register(client, "alice")

        async def timed(username: str) -> float:
            started = time.process_time()
            response = await client.post(
                LOGIN, json={"username": username, "password": "wrong password"}
            )
            assert response.status_code == 401
            return time.process_time() - started

        wrong, unknown = [], []
        for _ in range(7):
            wrong.append(await timed("alice"))
            unknown.append(await timed("nobody"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 < ratio < 2.0, (unknown, wrong)


async def test_refresh_rotates_and_spends_the_old_token(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await register(client, "alice")
    first = await client.post(REFRESH, json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != account.refresh_token
    assert pair["user"]["id"] == account.id
    me = await client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    second = await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert second.status_code == 200
    assert ("refresh", "success") in await audit_actions(app)


async def test_reusing_a_spent_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await register(client, "alice")
    rotated = (await client.post(REFRESH, json={"refresh_token": account.refresh_token})).json()
    reuse = await client.post(REFRESH, json={"refresh_token": account.refresh_token})
    assert_problem(reuse, 401, "refresh_token_reused")
    # the whole family is dead: the newest refresh token and every access token of the session
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}),
        401,
        "invalid_token",
    )
    for token in (account.access_token, rotated["access_token"]):
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "invalid_token")
    assert ("token_reuse_detected", "failure") in await audit_actions(app)


async def test_reuse_in_one_family_leaves_other_sessions_alone(client: httpx.AsyncClient) -> None:
    account = await register(client, "alice")
    other = (await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})).json()
    await client.post(REFRESH, json={"refresh_token": account.refresh_token})
    await client.post(REFRESH, json={"refresh_token": account.refresh_token})
    me = await client.get(ME, headers={"Authorization": f"Bearer {other['access_token']}"})
    assert me.status_code == 200


@pytest.mark.parametrize("kind", ["access", "garbage", "empty"])
async def test_refresh_rejects_other_tokens(client: httpx.AsyncClient, kind: str) -> None:
    account = await register(client, "alice")
    token = {"access": account.access_token, "garbage": "not.a.jwt", "empty": ""}[kind]
    response = await client.post(REFRESH, json={"refresh_token": token})
    assert response.status_code in (401, 422)
    if kind == "empty":
        assert_problem(response, 422, "validation_error")
    else:
        assert_problem(response, 401, "invalid_token")


async def test_logout_revokes_access_and_refresh_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await register(client, "alice")
    response = await client.post(LOGOUT, headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(ME, headers=account.headers), 401, "invalid_token")
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": account.refresh_token}),
        401,
        "invalid_token",
    )
    assert ("logout", "success") in await audit_actions(app)


async def test_logout_with_refresh_token_of_another_session(client: httpx.AsyncClient) -> None:
    account = await register(client, "alice")
    phone = (await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})).json()
    response = await client.post(
        LOGOUT, headers=account.headers, json={"refresh_token": phone["refresh_token"]}
    )
    assert response.status_code == 204
    phone_me = await client.get(ME, headers={"Authorization": f"Bearer {phone['access_token']}"})
    assert_problem(phone_me, 401, "invalid_token")


async def test_logout_does_not_touch_another_users_session(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    response = await client.post(
        LOGOUT, headers=alice.headers, json={"refresh_token": bob.refresh_token}
    )
    assert response.status_code == 204
    assert (await client.get(ME, headers=bob.headers)).status_code == 200


async def test_logout_requires_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(LOGOUT), 401, "not_authenticated")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YWxpY2U6cHc=", "Token abc"],
)
async def test_me_requires_a_valid_bearer(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] in ("not_authenticated", "invalid_token")


async def test_tokens_with_another_algorithm_or_key_are_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(client, "alice")
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert claims["typ"] == "access" and {"sub", "exp", "iat", "jti"} <= set(claims)
    with warnings.catch_warnings():  # our real key, short for HS512: the point is the algorithm
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        other_algorithm = jwt.encode(claims, settings.secret_key, algorithm="HS512")
    forged = [
        jwt.encode(claims, "another-key-entirely-but-long-enough-xx", algorithm="HS256"),
        other_algorithm,
        jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        jwt.encode(claims | {"exp": 1}, settings.secret_key, algorithm="HS256"),
        jwt.encode(claims | {"typ": "refresh"}, settings.secret_key, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims.items() if k != "jti"}, settings.secret_key, "HS256"),
    ]
    for token in forged:
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "invalid_token")


async def test_user_lookup_is_exact_and_hides_emails(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    await register(client, "bobby")
    for q in ("bob", "BOB", "bob@example.com", "Bob@Example.com"):
        response = await client.get("/api/v1/users", params={"q": q}, headers=alice.headers)
        assert response.status_code == 200
        items = response.json()["items"]
        assert [u["id"] for u in items] == [bob.id]
        assert "email" not in items[0]
    response = await client.get("/api/v1/users", params={"q": "bo"}, headers=alice.headers)
    assert response.json()["items"] == []
    assert_problem(await client.get("/api/v1/users", params={"q": "bob"}), 401, "not_authenticated")
    assert_problem(
        await client.get("/api/v1/users", headers=alice.headers), 422, "validation_error"
    )


async def test_a_token_issued_after_a_backup_signs_nobody_in_after_the_restore(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A restore rewinds the id sequences: the next account gets the id of one registered
    after the backup. A token of that lost account must not sign in as the new one (it
    did when sign-ins were numbered by a sequence too: (sub, sid) matched again)."""
    lost = await register(client, "lost")
    claims = jwt.decode(lost.access_token, options={"verify_signature": False})
    # The restore, as the database sees it: the rows gone, the sequences rewound to them.
    async with app.state.sessionmaker() as session:
        for table in ("refresh_tokens", "auth_sessions", "users"):
            await session.execute(text(f"DELETE FROM {table}"))
        if session.bind.dialect.name == "postgresql":
            for table, next_id in (("users", lost.id), ("auth_sessions", claims["sid"])):
                await session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n, false)"),
                    {"n": next_id},
                )
        await session.commit()
    newcomer = await register(client, "newcomer")
    assert newcomer.id == lost.id  # the same number, someone else
    me = await client.get(ME, headers=lost.headers)
    assert_problem(me, 401, "invalid_token")
    assert (await client.get(ME, headers=newcomer.headers)).json()["username"] == "newcomer"
