"""App passwords (SPEC §15): shown once, stored hashed, revocable, CalDAV only, rate-limited."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from neo_events.models import AppPassword
from tests.caldav.dav import app_password, basic, propfind
from tests.conftest import http_client, make_settings, serving
from tests.helpers import PASSWORD, assert_problem, audit_actions, count_rows, register

pytestmark = pytest.mark.anyio

ROOT_PROPFIND = propfind("d:current-user-principal")


async def test_created_once_listed_without_secret_stored_hashed(client, app) -> None:
    alice = await register(client, "alice")
    response = await client.post(
        "/api/v1/app-passwords", json={"name": "Phone"}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["password"]
    assert created["username"] == "alice" and created["caldav_url"].endswith("/dav/")
    assert response.headers["location"] == f"/api/v1/app-passwords/{created['id']}"
    listed = (await client.get("/api/v1/app-passwords", headers=alice.headers)).json()
    assert listed == {
        "items": [{"id": created["id"], "name": "Phone", "created_at": created["created_at"]}]
    }
    async with app.state.sessionmaker() as session:
        stored = (await session.scalars(select(AppPassword))).all()
    assert [row.secret_hash for row in stored] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret not in str([(r.name, r.secret_hash) for r in stored])


async def test_works_on_caldav_only_and_the_account_password_does_not(client) -> None:
    alice = await register(client, "alice")
    secret = await app_password(client, alice)
    ok = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("alice", secret) | {"Depth": "0"}
    )
    assert ok.status_code == 207, ok.text
    by_email = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("alice@example.com", secret)
    )
    assert by_email.status_code == 207
    refused = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("alice", PASSWORD)
    )
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic realm=")
    assert b"<d:error" in refused.content
    bearer = await client.request("PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=alice.headers)
    assert bearer.status_code == 401
    # an app password is no API credential, as a bearer token or as a login password
    api = await client.get("/api/v1/events", headers={"Authorization": f"Bearer {secret}"})
    assert_problem(api, 401, "invalid_token")
    login = await client.post("/api/v1/auth/login", json={"username": "alice", "password": secret})
    assert_problem(login, 401, "invalid_credentials")


async def test_someone_elses_password_and_name_do_not_mix(client) -> None:
    alice, _ = await register(client, "alice"), await register(client, "bob")
    secret = await app_password(client, alice)
    response = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("bob", secret)
    )
    assert response.status_code == 401


async def test_revoked_at_once_and_others_cannot_revoke(client, app) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    secret = await app_password(client, alice)
    [row] = (await client.get("/api/v1/app-passwords", headers=alice.headers)).json()["items"]
    url = f"/api/v1/app-passwords/{row['id']}"
    assert_problem(await client.get(url, headers=bob.headers), 404, "app_password_not_found")
    stranger = await client.delete(url, headers=bob.headers)
    assert_problem(stranger, 404, "app_password_not_found")
    assert (await client.get(url, headers=alice.headers)).json() == row
    gone = await client.delete(url, headers=alice.headers)
    assert gone.status_code == 204
    assert_problem(await client.get(url, headers=alice.headers), 404, "app_password_not_found")
    assert await count_rows(app, "app_passwords") == 0
    response = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("alice", secret)
    )
    assert response.status_code == 401
    actions = [a for a, _ in await audit_actions(app)]
    assert "app_password.created" in actions and "app_password.revoked" in actions


@pytest.mark.parametrize(("method", "signed_in"), [("PROPFIND", 207), ("GET", 403), ("HEAD", 403)])
async def test_failed_sign_ins_are_audited_like_failed_logins(
    client, app, method: str, signed_in: int
) -> None:
    """Whatever the method: a GET or HEAD with a revoked app password was a 500 on
    PostgreSQL, its audit row lost (an outside attack): a safe method's session writes
    nothing there (`db.create_read_sessionmaker`), so the row is written apart
    (`caldav.auth`)."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    secret = await app_password(client, alice)
    before = await audit_actions(app)

    async def attempt(username: str, password: str | None) -> int:
        headers = basic(username, password) if password is not None else {}
        response = await client.request(
            method,
            "/dav/",
            content=ROOT_PROPFIND if method == "PROPFIND" else None,
            headers=headers | {"User-Agent": "DAVx5/4.4"},
        )
        if response.status_code == 401 and method != "HEAD":
            assert "WWW-Authenticate" in response.headers, response.text
        return response.status_code

    assert await attempt("alice", None) == 401  # a client's first, unchallenged request
    assert await attempt("alice", secret) == signed_in
    assert await audit_actions(app) == before  # neither is a failed sign-in
    assert await attempt("alice", PASSWORD) == 401  # the account password
    assert await attempt("alice", "neap_guessed") == 401  # a wrong app password
    assert await attempt("bob", secret) == 401  # someone else's app password
    assert await attempt("nobody", secret) == 401  # no such account
    assert await audit_actions(app) == before + [("login", "failure")] * 4
    # the owner of the account named sees them, as failed API logins (SPEC §9)
    mine = await client.get("/api/v1/audit?action=login", headers=alice.headers)
    failures = [e for e in mine.json()["items"] if e["outcome"] == "failure"]
    assert [(e["target_id"], e["details"]) for e in failures] == [
        (alice.id, {"identifier": "alice", "via": "caldav"})
    ] * 2
    assert {e["user_agent"] for e in failures} == {"DAVx5/4.4"}
    theirs = await client.get("/api/v1/audit?action=login", headers=bob.headers)
    assert [e["details"] for e in theirs.json()["items"] if e["outcome"] == "failure"] == [
        {"identifier": "bob", "via": "caldav"}
    ]
    api = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "x"})
    assert_problem(api, 401, "invalid_credentials")
    mine = await client.get("/api/v1/audit?action=login", headers=alice.headers)
    assert [e["details"] for e in mine.json()["items"] if e["outcome"] == "failure"][0] == {
        "identifier": "alice"
    }


@pytest.mark.parametrize("method", ["PROPFIND", "GET"])
async def test_failed_sign_ins_at_once_hold_a_connection_each_at_most(
    database_url, data_dir, method: str
) -> None:
    """A review: a GET's failed sign-in wrote its audit row on a second connection while its
    request's was held (PostgreSQL), so as many guesses at once as the pool has connections
    each waited for a second one: 503s after the pool's time-out, anyone's requests queued
    behind them, no account needed. On SQLite (before either fix) the GET's own transaction,
    begun by its reads, could not write once another guess had committed: 503s too. Each
    gives its connection back, then writes the row alone."""
    settings = make_settings(database_url, data_dir, db_pool_size=4, db_pool_timeout_s=3.0)
    async with serving(settings) as app, http_client(app) as client:
        await register(client, "alice")
        guess = basic("alice", "neap_guessedwrongsecret")
        answers = await asyncio.gather(
            *(client.request(method, "/dav/", headers=guess) for _ in range(12))
        )
        assert [a.status_code for a in answers] == [401] * 12
        assert await audit_actions(app) == [("register", "success")] + [("login", "failure")] * 12


@pytest.mark.parametrize(("username", "password"), [("al\x00ice", None), ("alice", "neap_\x00")])
async def test_a_nul_in_basic_credentials_is_a_401_never_a_500(
    client, app, username: str, password: str | None
) -> None:
    """The username was looked up, and written into the failed sign-in's audit row: PostgreSQL
    text cannot hold a NUL (a 500). The API refuses one in a login (422); here it names no
    account, and is refused as unreadable before the database is asked."""
    alice = await register(client, "alice")
    secret = password or await app_password(client, alice)
    before = await audit_actions(app)
    response = await client.request(
        "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic(username, secret)
    )
    assert response.status_code == 401, response.text
    assert b"cannot be read" in response.content
    assert await audit_actions(app) == before


async def test_a_name_is_required_and_anonymous_is_refused(client) -> None:
    alice = await register(client, "alice")
    missing = await client.post("/api/v1/app-passwords", json={}, headers=alice.headers)
    assert_problem(missing, 422, "validation_error")
    anonymous = await client.post("/api/v1/app-passwords", json={"name": "x"})
    assert_problem(anonymous, 401, "not_authenticated")


async def test_failed_attempts_are_rate_limited_like_logins(
    database_url: str, data_dir: Path
) -> None:
    settings = make_settings(
        database_url, data_dir, rate_limit_enabled=True, rate_limit_auth="3/minute"
    )
    async with serving(settings) as app, http_client(app) as client:
        await app.state.rate_limiter.reset()
        alice = await register(client, "alice")
        secret = await app_password(client, alice)
        statuses = []
        for attempt in range(4):
            response = await client.request(
                "PROPFIND",
                "/dav/",
                content=ROOT_PROPFIND,
                headers=basic("alice", f"neap_wrong{attempt}"),
            )
            statuses.append(response.status_code)
        assert statuses == [401, 401, 429, 429]
        assert int(response.headers["retry-after"]) >= 1
        # the right password is refused too while the budget is spent: no oracle
        right = await client.request(
            "PROPFIND", "/dav/", content=ROOT_PROPFIND, headers=basic("alice", secret)
        )
        assert right.status_code == 429
        await app.state.rate_limiter.reset()
