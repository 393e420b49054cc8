"""Webhooks (SPEC §14) on the real app, sending to a receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook as Verifier

from neo_events.jobs.worker import secret_box
from neo_events.main import create_app
from neo_events.models import Webhook
from neo_events.webhooks import ssrf
from neo_events.webhooks.signing import SecretBox, new_secret
from tests.conftest import http_client, make_settings, serving, truncate_all
from tests.helpers import (
    PASSWORD,
    Account,
    assert_problem,
    create_event,
    register,
    share,
    statements,
)
from tests.receiver import Receiver

pytestmark = pytest.mark.anyio

FAST = {
    "jobs_poll_s": 0.1,
    "webhook_allow_private": True,
    "webhook_backoff_base_s": 0.2,
    "webhook_backoff_max_s": 1.0,
    "webhook_timeout_s": 2.0,
    "jobs_lease_s": 10.0,
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def fast_app(database_url: str, data_dir: Path) -> AsyncIterator[FastAPI]:
    async with serving(make_settings(database_url, data_dir, **FAST)) as application:
        yield application


@pytest.fixture
async def fast_client(fast_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(fast_app) as c:
        yield c


async def add_webhook(
    client: httpx.AsyncClient, owner: Account, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": events or ["*"]}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(
    client: httpx.AsyncClient, owner: Account, webhook_id: int
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def batch_of(count: int) -> dict[str, Any]:
    """A batch body of `count` one-hour events."""
    one = {"start_time": "2027-01-01T10:00:00Z", "end_time": "2027-01-01T11:00:00Z"}
    return {"events": [one | {"title": f"E{i}"} for i in range(count)]}


async def settled(
    client: httpx.AsyncClient, owner: Account, webhook_id: int, count: int
) -> list[dict[str, Any]]:
    """The deliveries log once `count` deliveries are recorded as delivered (a receiver
    has a message a moment before the sender writes down its answer)."""
    for _ in range(100):
        log = await deliveries(client, owner, webhook_id)
        if sum(d["status"] == "delivered" for d in log) >= count:
            return log
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {count} delivered: {log}")


async def test_webhook_crud_is_the_owners_only(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    eve = await register(client, "eve")
    response = await client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://hooks.example.com/in",
            "events": ["event.created", "reminder.due"],
            "description": "my hook",
        },
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    assert created["secret"].startswith("whsec_")
    assert created["enabled"] is True and created["disabled_reason"] is None
    assert created["events"] == ["event.created", "reminder.due"]
    hook_id = created["id"]

    listed = (await client.get("/api/v1/webhooks", headers=alice.headers)).json()
    assert [h["id"] for h in listed["items"]] == [hook_id]
    assert "secret" not in listed["items"][0]
    got = (await client.get(f"/api/v1/webhooks/{hook_id}", headers=alice.headers)).json()
    assert "secret" not in got and got["description"] == "my hook"

    response = await client.patch(
        f"/api/v1/webhooks/{hook_id}",
        json={"events": ["*"], "description": None, "enabled": False},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["events"] == ["*"] and patched["description"] is None
    assert patched["enabled"] is False and patched["disabled_reason"] == "disabled by its owner"
    response = await client.patch(
        f"/api/v1/webhooks/{hook_id}", json={"enabled": True}, headers=alice.headers
    )
    assert response.json()["enabled"] is True

    # Someone else's webhook does not exist for eve.
    assert (await client.get("/api/v1/webhooks", headers=eve.headers)).json()["items"] == []
    for method, path in [
        ("GET", f"/api/v1/webhooks/{hook_id}"),
        ("PATCH", f"/api/v1/webhooks/{hook_id}"),
        ("DELETE", f"/api/v1/webhooks/{hook_id}"),
        ("GET", f"/api/v1/webhooks/{hook_id}/deliveries"),
    ]:
        response = await client.request(
            method, path, json={} if method == "PATCH" else None, headers=eve.headers
        )
        assert_problem(response, 404, "webhook_not_found")

    assert (
        await client.delete(f"/api/v1/webhooks/{hook_id}", headers=alice.headers)
    ).status_code == 204
    assert_problem(
        await client.get(f"/api/v1/webhooks/{hook_id}", headers=alice.headers),
        404,
        "webhook_not_found",
    )


async def test_a_conditional_write_reads_the_webhook_once(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """`If-Match` is checked on the row the write itself reads and locks: one read, where
    the check and the write each read it locked before. A stale ETag is a 412 that changes
    nothing; the current one lets the edit and the delete through."""
    made = await add_webhook(client, alice, "https://hooks.example.com/in")
    path = f"/api/v1/webhooks/{made['id']}"
    etag = (await client.get(path, headers=alice.headers)).headers["etag"]
    for method, body in (("PATCH", {"description": "CI"}), ("DELETE", None)):
        stale = await client.request(
            method, path, json=body, headers=alice.headers | {"If-Match": '"stale"'}
        )
        assert_problem(stale, 412, "precondition_failed")
        with statements(app) as seen:
            answer = await client.request(
                method, path, json=body, headers=alice.headers | {"If-Match": etag}
            )
        assert answer.status_code in (200, 204), answer.text
        reads = [s for s in seen if s.startswith("SELECT") and "FROM webhooks" in s]
        assert len(reads) == 1, reads
        if method == "PATCH":
            assert answer.json()["description"] == "CI"
            etag = (await client.get(path, headers=alice.headers)).headers["etag"]
    assert (await client.get(path, headers=alice.headers)).status_code == 404


async def test_a_write_answers_with_the_tag_its_get_gives(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A webhook made or changed, and an app password made, answer with the ETag their GET
    gives (not the secret's): the next `If-Match` needs no read first (it needed one)."""
    made = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/in", "events": ["*"]},
        headers=alice.headers,
    )
    assert made.status_code == 201, made.text
    path = made.headers["location"]
    tag = made.headers["etag"]
    assert tag == (await client.get(path, headers=alice.headers)).headers["etag"]
    changed = await client.patch(
        path, json={"description": "CI"}, headers=alice.headers | {"If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "CI"
    tag = changed.headers["etag"]
    assert tag == (await client.get(path, headers=alice.headers)).headers["etag"]
    gone = await client.delete(path, headers=alice.headers | {"If-Match": tag})
    assert gone.status_code == 204, gone.text
    password = await client.post(
        "/api/v1/app-passwords", json={"name": "phone"}, headers=alice.headers
    )
    assert password.status_code == 201, password.text
    shown = await client.get(password.headers["location"], headers=alice.headers)
    assert password.headers["etag"] == shown.headers["etag"]


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "events": ["*"]},
        {"url": "not a url", "events": ["*"]},
        {"url": "https://example.com/x", "events": []},
        {"url": "https://example.com/x", "events": ["event.exploded"]},
        {"url": "https://user:pw@example.com/x", "events": ["*"]},
        {"url": "http://127.0.0.1:9/x", "events": ["*"]},
        {"url": "http://localhost:9/x", "events": ["*"]},
        {"url": "http://[::1]/x", "events": ["*"]},
        {"url": "http://10.1.2.3/x", "events": ["*"]},
        {"url": "http://169.254.169.254/latest/meta-data", "events": ["*"]},
        {"url": "https://example.com/x", "events": ["*"], "secret": "mine"},
        # a CR/LF, a tab or a space inside: sent to another address than the one shown
        {"url": "https://example.com/x?nl=1\r\nX-Injected: yes", "events": ["*"]},
        {"url": "https://example.com\n:8190/x", "events": ["*"]},
        {"url": "https://exam\tple.com/x", "events": ["*"]},
        {"url": "https://example.com/a b", "events": ["*"]},
    ],
)
async def test_invalid_webhooks_are_refused(
    client: httpx.AsyncClient, app: FastAPI, body: dict[str, Any]
) -> None:
    alice = await register(client, "alice")
    response = await client.post("/api/v1/webhooks", json=body, headers=alice.headers)
    assert_problem(response, 422, "validation_error")
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(Webhook))) == []


# Every spelling of a non-public address the resolver would take, and the IPv6 forms that
# carry one (NAT64, 6to4, Teredo, IPv4-compatible and -mapped) of 127.0.0.1, 10.0.0.1 and
# 169.254.169.254 (cloud metadata).
NOT_PUBLIC_HOSTS = [
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "017700000001",
    "127.1",
    "0",
    "167772161",  # 10.0.0.1
    "0xa9.0xfe.0xa9.0xfe",
    "\uff4cocalhost",  # fullwidth l: NFKC makes it localhost
    "\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34.",
    "\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11",  # fullwidth 127.0.0.1
    "localhost.",
    "api.localhost",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::a00:1]",  # local-use NAT64: refused whatever it carries
    "[2002:7f00:1::]",
    "[2002:a00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
    "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",  # Teredo, client 10.0.0.1
    "[2001:0:4136:e378:8000:63bf:5601:5601]",  # Teredo, client 169.254.169.254
    "[::7f00:1]",
    "[::a9fe:a9fe]",
    "[::ffff:a00:1]",
    "[::ffff:169.254.169.254]",
    "[fe80::1%25eth0]",
    "a..b",  # no name the resolver can look up
    "xn--localhost-",  # punycode that is not IDNA: Python's codec decodes it to localhost
    "xn--zz-.example.com",  # a label no IDNA decoder accepts
]


@pytest.mark.parametrize("host", NOT_PUBLIC_HOSTS)
async def test_a_host_that_is_not_public_in_any_spelling_is_refused_at_creation(
    client: httpx.AsyncClient, app: FastAPI, host: str
) -> None:
    alice = await register(client, "alice")
    url = f"http://{host}:8432/hook"
    response = await client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=alice.headers
    )
    assert_problem(response, 422, "validation_error")
    async with app.state.sessionmaker() as session:
        assert list(await session.scalars(select(Webhook))) == []
    # Changing a webhook's URL is checked the same way, and changes nothing.
    hook = await add_webhook(client, alice, "https://hooks.example.com/in")
    response = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"url": url}, headers=alice.headers
    )
    assert_problem(response, 422, "validation_error")
    got = (await client.get(f"/api/v1/webhooks/{hook['id']}", headers=alice.headers)).json()
    assert got["url"] == "https://hooks.example.com/in"


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::808:808]",  # 8.8.8.8 through NAT64
        "[2002:808:808::1]",  # 8.8.8.8 through 6to4
        "[::ffff:8.8.8.8]",
        "134744072",  # 8.8.8.8
        "93.184.216.34",
        "[2606:4700::1111]",
        "b\u00fccher.example",  # an IDN
        "xn--strae-oqa.de",  # stra\u00dfe.de: IDNA 2008, which Python's codec refuses
        "xn--mxac2c.gr",  # a final sigma, the same
    ],
)
async def test_a_public_address_in_those_forms_is_accepted_at_creation(
    client: httpx.AsyncClient, host: str
) -> None:
    alice = await register(client, "alice")
    await add_webhook(client, alice, f"http://{host}:8432/hook")


async def test_the_secret_is_stored_encrypted(client: httpx.AsyncClient, app: FastAPI) -> None:
    alice = await register(client, "alice")
    created = await add_webhook(client, alice, "https://hooks.example.com/in")
    async with app.state.sessionmaker() as session:
        row = await session.get(Webhook, created["id"])
    assert row is not None
    assert created["secret"].encode() not in row.secret_encrypted
    assert created["secret"].removeprefix("whsec_").encode() not in row.secret_encrypted


async def test_every_change_arrives_signed_and_in_order(
    fast_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    hook = await add_webhook(client, alice, receiver.url)
    event = await create_event(client, alice, title="One")
    for title in ("Two", "Three", "Four"):
        response = await client.patch(
            f"/api/v1/events/{event['id']}", json={"title": title}, headers=alice.headers
        )
        assert response.status_code == 200
    await share(client, alice, event["id"], bob, "viewer")
    await client.delete(f"/api/v1/events/{event['id']}", headers=alice.headers)

    messages = await receiver.wait_for(6)
    assert [m["type"] for m in messages] == [
        "event.created",
        "event.updated",
        "event.updated",
        "event.updated",
        "event.shared",
        "event.deleted",
    ]
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    verifier = Verifier(hook["secret"])
    ids = set()
    for received in receiver.got:
        verified = verifier.verify(received.body, received.headers)
        assert verified == received.json
        assert received.headers["webhook-signature"].startswith("v1,")
        ids.add(received.headers["webhook-id"])
    assert len(ids) == 6
    # A tampered body does not verify.
    first = receiver.got[0]
    with pytest.raises(Exception, match="(?i)signature"):
        verifier.verify(first.body[:-1] + b', "evil": 1}', first.headers)

    log = await settled(client, alice, hook["id"], 6)
    assert [d["seq"] for d in log] == sorted(seqs, reverse=True)
    assert {d["status"] for d in log} == {"delivered"}
    assert all(d["attempts"] == 1 and d["response_status"] == 200 for d in log)
    assert all(isinstance(d["latency_ms"], int) for d in log)


async def test_only_what_the_owner_gets_live_is_sent(
    fast_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    eve = await register(client, "eve")
    other = Receiver()
    await other.start()
    try:
        await add_webhook(client, eve, other.url)
        await add_webhook(client, alice, receiver.url, ["event.created"])
        await create_event(client, alice, title="Private")
        event = await create_event(client, eve, title="Eve's own")
        await client.patch(
            f"/api/v1/events/{event['id']}", json={"title": "Renamed"}, headers=eve.headers
        )
        eves = await other.wait_for(2)
        alices = await receiver.wait_for(1)
        await asyncio.sleep(1)
    finally:
        await other.stop()
    assert [m["type"] for m in eves] == ["event.created", "event.updated"]
    assert all(m["event_id"] == event["id"] for m in eves)
    assert len(other.got) == 2
    # Alice asked for event.created only.
    assert [m["type"] for m in alices] == ["event.created"] and len(receiver.got) == 1
    assert alices[0]["event_id"] != event["id"]


async def test_a_receiver_that_is_down_gets_everything_later_in_order(
    fast_client: httpx.AsyncClient,
) -> None:
    client = fast_client
    receiver = Receiver()  # not started yet: connections are refused
    alice = await register(client, "alice")
    hook = await add_webhook(client, alice, receiver.url)
    event = await create_event(client, alice, title="T0")
    for n in range(1, 4):
        await client.patch(
            f"/api/v1/events/{event['id']}", json={"title": f"T{n}"}, headers=alice.headers
        )
    # Retries with backoff: the oldest is retried, the others wait behind it.
    for _ in range(100):
        log = await deliveries(client, alice, hook["id"])
        if len(log) == 4 and log[-1]["attempts"] >= 3:
            break
        await asyncio.sleep(0.1)
    oldest = log[-1]
    assert oldest["status"] == "pending" and oldest["attempts"] >= 3
    assert oldest["error"] and oldest["next_attempt_at"] is not None
    assert oldest["response_status"] is None
    assert all(d["attempts"] == 0 for d in log[:-1])

    await receiver.start()
    try:
        messages = await receiver.wait_for(4)
        # A 500 also counts as a failure, retried the same way.
        receiver.status = 500
        await client.patch(
            f"/api/v1/events/{event['id']}", json={"title": "T4"}, headers=alice.headers
        )
        await receiver.wait_for(7)
        receiver.status = 200
        messages = await receiver.wait_for(8)
    finally:
        await receiver.stop()
    titles = [m["changes"] for m in messages]
    assert [m["type"] for m in messages[:4]] == ["event.created"] + ["event.updated"] * 3
    assert [m["seq"] for m in messages[:4]] == sorted(m["seq"] for m in messages[:4])
    assert titles[4:] == [["title"]] * 4  # the same message until it got a 2xx
    assert len({r.headers["webhook-id"] for r in receiver.got[4:]}) == 1
    log = await settled(client, alice, hook["id"], 5)
    assert {d["status"] for d in log} == {"delivered"}
    assert log[0]["attempts"] == 4 and log[0]["response_status"] == 200


async def test_a_redirect_is_not_followed_and_a_receiver_that_hangs_times_out(
    fast_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """A 3xx is a failed attempt, retried at the same address, its Location never asked;
    a receiver that does not answer within WEBHOOK_TIMEOUT_S (2 s here) is one too."""
    client = fast_client
    alice = await register(client, "alice")
    hook = await add_webhook(client, alice, receiver.url)
    receiver.status, receiver.location = 307, receiver.url.replace("/hook", "/elsewhere")
    await create_event(client, alice)
    for _ in range(100):
        log = await deliveries(client, alice, hook["id"])
        if log and log[0]["attempts"] >= 2:
            break
        await asyncio.sleep(0.1)
    assert (log[0]["status"], log[0]["response_status"], log[0]["error"]) == (
        "pending",
        307,
        "HTTP 307",
    )
    assert {r.path for r in receiver.got} == {"/hook"} and len(receiver.got) >= 2

    receiver.status, receiver.location, receiver.hang = 200, None, True
    for _ in range(100):
        log = await deliveries(client, alice, hook["id"])
        if log[0]["error"] != "HTTP 307":
            break
        await asyncio.sleep(0.1)
    assert log[0]["status"] == "pending" and log[0]["error"] == "timed out after 2 s"
    assert log[0]["response_status"] is None and log[0]["latency_ms"] >= 2000
    receiver.hang = False
    [delivered] = await settled(client, alice, hook["id"], 1)
    assert delivered["response_status"] == 200


async def disabled(client: httpx.AsyncClient, owner: Account, webhook_id: int) -> dict[str, Any]:
    """The webhook once it is disabled (polled every 0.1 s, for 10 s at most)."""
    for _ in range(100):
        got: dict[str, Any] = (
            await client.get(f"/api/v1/webhooks/{webhook_id}", headers=owner.headers)
        ).json()
        if not got["enabled"]:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"still enabled: {got}")


async def test_a_webhook_failing_past_the_retry_window_is_disabled(
    database_url: str, data_dir: Path
) -> None:
    settings = make_settings(database_url, data_dir, **(FAST | {"webhook_retry_for_s": 1.5}))
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        hook = await add_webhook(client, alice, Receiver().url)  # nobody listens
        await create_event(client, alice)
        got = await disabled(client, alice, hook["id"])
        assert got["disabled_reason"].startswith("failing for 1.5 s")
        [delivery] = await deliveries(client, alice, hook["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] >= 2


async def test_a_webhook_whose_secret_no_key_opens_fails_its_attempts_and_is_disabled(
    database_url: str, data_dir: Path
) -> None:
    """A secret sealed with a key the service no longer has (SECRET_KEY changed without
    SECRET_KEY_PREVIOUS): nothing can be signed. Each attempt fails, said in the
    deliveries, and the webhook is disabled past the retry window (the job was retried for
    ever before, a traceback a minute, and nobody was told)."""
    settings = make_settings(database_url, data_dir, **(FAST | {"webhook_retry_for_s": 1.5}))
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        hook = await add_webhook(client, alice, Receiver().url)
        sealed = SecretBox(["a key this service was never given, long enough"]).seal("whsec_x")
        async with app.state.sessionmaker() as session:
            await session.execute(
                update(Webhook).where(Webhook.id == hook["id"]).values(secret_encrypted=sealed)
            )
            await session.commit()
        await create_event(client, alice)
        got = await disabled(client, alice, hook["id"])
        unreadable = "its secret cannot be read with the configured keys"
        assert got["disabled_reason"].endswith(unreadable)
        [delivery] = await deliveries(client, alice, hook["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] >= 2
        assert delivery["error"] == unreadable


async def test_destinations_are_checked_after_resolution_at_every_attempt(
    database_url: str, data_dir: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A name that resolves to a private address is refused when sending, even though its
    URL is in the database (saved while private destinations were allowed, say)."""
    url = receiver.url.replace("127.0.0.1", "localhost")
    strict = make_settings(database_url, data_dir, **(FAST | {"webhook_allow_private": False}))
    async with serving(strict) as app, http_client(app) as client:
        alice = await register(client, "alice")
        response = await client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=alice.headers
        )
        assert_problem(response, 422, "validation_error")  # refused up front, by name
        # Saved behind the check's back, with a name that resolves nowhere beside it.
        unresolvable = "http://no-such-host.invalid:8432/hook"
        hook_ids = []
        async with app.state.sessionmaker() as session:
            for saved in (url, unresolvable):
                row = Webhook(
                    user_id=alice.id,
                    url=saved,
                    events=["*"],
                    secret_encrypted=secret_box(strict).seal(new_secret()),
                    after_seq=0,
                )
                session.add(row)
                await session.flush()
                hook_ids.append(row.id)
            await session.commit()
        with caplog.at_level(logging.INFO, logger="neo_events.webhooks.delivery"):
            await create_event(client, alice)
            errors = []
            for hook_id in hook_ids:
                for _ in range(100):
                    log = await deliveries(client, alice, hook_id)
                    if log and log[0]["attempts"] >= 1:
                        break
                    await asyncio.sleep(0.1)
                assert log[0]["status"] == "pending"
                errors.append(log[0]["error"])
        # The owner learns it was refused, not what the name resolved to, nor whether it did:
        # the same words either way, so the log maps no internal name.
        assert errors == ["refused: the URL's host does not resolve to a public address"] * 2
        assert receiver.got == []
        # The operator's log has the detail.
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "localhost resolves to 127.0.0.1, a loopback address" in logged
        assert "cannot resolve no-such-host.invalid" in logged


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("64:ff9b:1::808:808", "private"),  # local-use NAT64, whatever it carries
        ("2002:7f00:1::", "loopback"),  # 6to4
        ("2002:a00:1::", "private"),
        ("2002:a9fe:a9fe::", "link-local"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo"),  # even with a public client
        ("::", "unspecified"),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        ("::ffff:8.8.8.8", None),
        ("100.64.0.1", "private"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert ssrf.kind_of(ipaddress.ip_address(address)) == kind


async def test_resolution_refuses_a_name_for_a_private_address() -> None:
    with pytest.raises(ssrf.Refused, match="does not resolve to a public address") as refused:
        await ssrf.resolve("http://localhost:8080/x", require_https=False, allow_private=False)
    assert "127.0.0.1" not in str(refused.value)
    assert refused.value.detail == "localhost resolves to 127.0.0.1, a loopback address"
    # A host no resolver can look up is refused, not an error escaping the sender.
    with pytest.raises(ssrf.Refused, match="not a valid name"):
        await ssrf.resolve("http://a..b/x", require_https=False, allow_private=False)
    target = await ssrf.resolve(
        "http://localhost:8080/x?a=1", require_https=False, allow_private=True
    )
    assert target.address.is_loopback and target.path == "/x?a=1"
    assert target.host_header == "localhost:8080"
    with pytest.raises(ssrf.Refused, match="https"):
        await ssrf.resolve("http://example.com/", require_https=True, allow_private=False)


async def test_reminders_reach_webhooks_too(
    fast_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    await add_webhook(client, alice, receiver.url, ["reminder.due"])
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=66)
    event = await create_event(
        client,
        alice,
        start_time=start.isoformat(),
        end_time=(start + timedelta(hours=1)).isoformat(),
    )
    await client.put(
        f"/api/v1/events/{event['id']}/reminders",
        json={"reminders": [{"minutes_before": 1}]},
        headers=alice.headers,
    )
    [message] = await receiver.wait_for(1, within=20)
    arrived = datetime.now(UTC)
    assert message["type"] == "reminder.due" and message["event_id"] == event["id"]
    assert arrived - (start - timedelta(minutes=1)) < timedelta(seconds=5)


async def test_a_long_backlog_is_sent_claim_after_claim_without_waiting_for_leases(
    database_url: str, data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim sends a bounded share (SEND_PER_CLAIM) and then releases the job, so the rest
    goes at once rather than after the lease (here 60 s) runs out."""
    monkeypatch.setattr("neo_events.webhooks.delivery.SEND_PER_CLAIM", 3)
    settings = make_settings(database_url, data_dir, **(FAST | {"jobs_lease_s": 60.0}))
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        await add_webhook(client, alice, receiver.url)
        response = await client.post(
            "/api/v1/events/batch?conflicts=ignore", json=batch_of(10), headers=alice.headers
        )
        assert response.status_code == 201
        messages = await receiver.wait_for(10, within=30)
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10


async def test_a_fan_out_round_ends_with_a_whole_change_and_writes_in_parts(
    database_url: str, data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outside attack (2026-12-04): a page of 1,000 changes to 5 people with 20 webhooks
    each was one INSERT of 60,000 delivery rows, past SQLite's bind limit: the round failed
    at every lease (8 s of the event loop each) and no webhook got anything again. A round now
    reads at most WEBHOOK_FANOUT_ROWS rows, ending with a whole change (a change of more is
    a round alone), and writes them INSERT_ROWS at a time. Here a round holds 4 rows, a change has 3
    (one for each webhook) and an INSERT 2: every message still arrives once, in order."""
    monkeypatch.setattr("neo_events.webhooks.fanout.INSERT_ROWS", 2)
    settings = make_settings(database_url, data_dir, **(FAST | {"webhook_fanout_rows": 4}))
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        hooks = [
            await add_webhook(client, alice, f"{receiver.url.rstrip('/')}/hook{i}")
            for i in range(3)
        ]
        response = await client.post(
            "/api/v1/events/batch?conflicts=ignore", json=batch_of(7), headers=alice.headers
        )
        assert response.status_code == 201, response.text
        await receiver.wait_for(21, within=30)
        for hook in hooks:  # each outcome written before the app stops and its tables empty
            await settled(client, alice, hook["id"], 7)
    by_hook: dict[str, list[int]] = {}
    for received in receiver.got:
        by_hook.setdefault(received.path, []).append(received.json["seq"])
    assert len(by_hook) == 3, by_hook
    for seqs in by_hook.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == 7, by_hook


async def test_a_receiver_that_dribbles_its_headers_times_out_whole(
    fast_client: httpx.AsyncClient,
) -> None:
    """httpx's timeout is each read's: a receiver that sends a header line every half second
    never lets one run out, and held a delivery slot for as long as it kept sending. The
    whole attempt now has WEBHOOK_TIMEOUT_S (2 s here)."""

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n")
        try:
            for _ in range(120):
                await asyncio.sleep(0.5)
                writer.write(b"X-Slow: yes\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        alice = await register(fast_client, "alice")
        hook = await add_webhook(fast_client, alice, f"http://127.0.0.1:{port}/hook")
        await create_event(fast_client, alice)
        for _ in range(100):
            log = await deliveries(fast_client, alice, hook["id"])
            if log and log[0]["error"]:  # an attempt counts from its start: its outcome
                break
            await asyncio.sleep(0.1)
        assert log and log[0]["error"] == "timed out after 2 s", log
        assert 2000 <= log[0]["latency_ms"] < 4000, log
    finally:
        server.close()


async def test_a_webhook_made_before_a_key_rotation_still_signs_after_its_last_step(
    database_url: str, data_dir: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The documented rotation (SECURITY.md): key A; then B with A as SECRET_KEY_PREVIOUS;
    then B alone. The secret sealed under A is sealed again under B at the second step's
    start-up (and logged), so the webhook still signs with its own secret at the third
    (it failed every delivery, then was disabled, before)."""
    old, new = "the old key, long enough for HS256 signing", "the new key, long enough too, ok"
    stages = [{"secret_key": old}, {"secret_key": new, "secret_key_previous": [old]}]
    first = create_app(make_settings(database_url, data_dir, **(FAST | stages[0])))
    try:
        async with first.router.lifespan_context(first), http_client(first) as client:
            alice = await register(client, "alice")
            hook = await add_webhook(client, alice, receiver.url)
        second = create_app(make_settings(database_url, data_dir, **(FAST | stages[1])))
        with caplog.at_level(logging.INFO, logger="neo_events.webhooks.resealing"):
            async with second.router.lifespan_context(second):
                pass
    except BaseException:
        await truncate_all(database_url)
        raise
    assert "1 re-sealed under SECRET_KEY, 0 opened by no configured key" in caplog.text
    settings = make_settings(database_url, data_dir, **(FAST | {"secret_key": new}))
    async with serving(settings) as app, http_client(app) as client:
        signed_in = await client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        alice = dataclasses.replace(alice, access_token=signed_in.json()["access_token"])
        await create_event(client, alice, title="After")
        [message] = await receiver.wait_for(1)
        [received] = receiver.got
        assert Verifier(hook["secret"]).verify(received.body, received.headers) == message
        [delivery] = await settled(client, alice, hook["id"], 1)
        assert delivery["attempts"] == 1
