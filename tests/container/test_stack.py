"""compose.yaml's stack end to end: through HAProxy to two API replicas, PostgreSQL and Redis.

Run by tests/container/run.sh, which builds the images first (and skips where a machine cannot
run containers); `make test` does not collect this folder.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.skipif(
    not os.environ.get("NEO_CONTAINER_STACK"),
    reason="the container test runs through tests/container/run.sh (it builds the images)",
)

PORT = int(os.environ.get("NEO_CONTAINER_TEST_PORT", "18480"))
BASE = f"http://127.0.0.1:{PORT}"
API = f"{BASE}/api/v1"
REPLICAS = ("api-1", "api-2")
STARTUP_TIMEOUT = 240


def compose(*args: str) -> str:
    """Run docker-compose on the test's project (compose.yaml plus the local override)."""
    env = os.environ | {"NEO_HTTP_PORT": str(PORT), "WEB_CONCURRENCY": "1"}
    argv = [*shlex.split(os.environ["NEO_COMPOSE"]), *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_stack() -> float:
    """`up -d`, then wait until the proxy serves a ready replica; returns the seconds taken."""
    started = time.monotonic()
    compose("up", "-d", "--no-build")
    deadline = started + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{BASE}/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            print(compose("ps"))
            print(compose("logs", "--tail", "40"))
            raise AssertionError(f"the stack was not ready within {STARTUP_TIMEOUT} s")
        time.sleep(1)


@pytest.fixture(scope="module")
def stack() -> Iterator[None]:
    print(f"stack up in {start_stack():.0f} s")
    try:
        yield
    finally:
        subprocess.run([*shlex.split(os.environ["NEO_COMPOSE"]), "ps"], check=False)


def register(client: httpx.Client, username: str, headers: dict[str, str] | None = None) -> str:
    body = {"username": username, "email": f"{username}@example.com", "password": "correct horse"}
    response = client.post(f"{API}/auth/register", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def wait_for_message(ws: ClientConnection, *, version: int, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(ws.recv(timeout=left))
        if message.get("type") == "event.updated" and message.get("version") == version:
            return dict(message)
    raise AssertionError(f"no event.updated for version {version} within {timeout} s")


def test_stack_end_to_end(stack: None) -> None:
    with httpx.Client(timeout=30) as client:
        # Every health check passed (compose waited on them), and the proxy serves the API.
        health = {name: compose("ps", name) for name in (*REPLICAS, "postgres", "redis")}
        assert all("(healthy)" in line for line in health.values()), health
        assert client.get(f"{BASE}/proxy-health").status_code == 200
        assert client.get(f"{BASE}/metrics").status_code == 404  # not public at the proxy
        # however it is spelled (the replicas route the decoded path)
        assert client.get(httpx.URL(f"{BASE}/%6detrics")).status_code == 404
        assert client.get(f"{BASE}/").status_code == 200  # the web client

        username = f"ship{uuid.uuid4().hex[:8]}"
        # A client's own X-Forwarded-For is not believed: the audit trail (and the per-IP rate
        # limits) see the address the proxy saw.
        forged = "203.0.113.77"
        token = register(client, username, headers={"X-Forwarded-For": forged})
        auth = {"Authorization": f"Bearer {token}"}
        trail = client.get(f"{API}/audit", headers=auth)
        assert trail.status_code == 200, trail.text
        addresses = {entry["ip"] for entry in trail.json()["items"]}
        assert addresses and forged not in addresses, addresses
        created = client.post(
            f"{API}/events",
            headers=auth,
            json={
                "title": "Shipped",
                "start_time": "2026-03-30T09:00:00+02:00",
                "end_time": "2026-03-30T10:00:00+02:00",
                "timezone": "Europe/Berlin",
            },
        )
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]

        # Read it through the proxy until both replicas have answered (round robin); HAProxy
        # names the one that answered in X-Upstream.
        answered: dict[str, str] = {}
        for _ in range(10):
            response = client.get(f"{API}/events/{event_id}", headers=auth)
            assert response.status_code == 200, response.text
            assert response.json()["title"] == "Shipped"
            answered[response.headers["X-Upstream"]] = response.headers["ETag"]
            if len(answered) == 2:
                break
        assert answered == {"api-1": '"1"', "api-2": '"1"'}, answered

        # A WebSocket on one replica hears a change made through the other.
        with connect(f"ws://127.0.0.1:{PORT}/api/v1/ws?token={token}") as ws:
            assert ws.response is not None
            ws_replica = ws.response.headers["X-Upstream"]
            assert ws_replica in REPLICAS
            for attempt in range(10):
                patched = client.patch(
                    f"{API}/events/{event_id}",
                    headers=auth,
                    json={"title": f"Shipped again ({attempt})"},
                )
                assert patched.status_code == 200, patched.text
                writer = patched.headers["X-Upstream"]
                version = patched.json()["version"]
                if writer != ws_replica:
                    break
            assert writer != ws_replica, "every write landed on the WebSocket's replica"
            message = wait_for_message(ws, version=version)
            assert message["event_id"] == event_id
            assert message["changes"] == ["title"]
            print(f"a change through {writer} reached a WebSocket on {ws_replica}")

        # Server-Sent Events stream through the proxy unbuffered: the change arrives at once.
        with client.stream(
            "GET", f"{API}/notifications/stream", headers=auth, timeout=20
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            patched = client.patch(
                f"{API}/events/{event_id}", headers=auth, json={"location": "Room 9"}
            )
            assert patched.status_code == 200, patched.text
            data = next(line for line in stream.iter_lines() if line.startswith("data:"))
            assert json.loads(data.removeprefix("data:"))["version"] == patched.json()["version"]
        final_version = patched.json()["version"]

        # The API replicas run no jobs (JOBS_IN_SERVE=false): a reminder comes from the worker
        # service, live through the proxy. The event starts 68 s from now, reminded 1 minute
        # before: due in 8 s.
        assert "Up" in compose("ps", "worker")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=68)
        soon = client.post(
            f"{API}/events",
            headers=auth,
            json={
                "title": "Reminded",
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(minutes=30)).isoformat(),
                "timezone": "UTC",
            },
        )
        assert soon.status_code == 201, soon.text
        with connect(f"ws://127.0.0.1:{PORT}/api/v1/ws?token={token}") as ws:
            reminded = client.put(
                f"{API}/events/{soon.json()['id']}/reminders",
                headers=auth,
                json={"reminders": [{"minutes_before": 1}]},
            )
            assert reminded.status_code == 200, reminded.text
            deadline = time.monotonic() + 40
            while (left := deadline - time.monotonic()) > 0:
                message = json.loads(ws.recv(timeout=left))
                if message.get("type") == "reminder.due":
                    break
            else:
                raise AssertionError("no reminder.due within 40 s")
            assert message["event_id"] == soon.json()["id"] and message["minutes_before"] == 1
            print("a reminder due from the worker service reached a WebSocket")

    # down, then up: PostgreSQL's volume keeps the data, the keys volume the signing key (the
    # access token issued before still works).
    compose("down")
    print(f"stack up again in {start_stack():.0f} s")
    with httpx.Client(timeout=30) as client:
        response = client.get(f"{API}/events/{event_id}", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == final_version
        assert response.json()["location"] == "Room 9"
        login = client.post(
            f"{API}/auth/login", json={"username": username, "password": "correct horse"}
        )
        assert login.status_code == 200, login.text
