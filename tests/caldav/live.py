"""A real server for the CalDAV client tests, and accounts with app passwords on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from tests.conftest import truncate_all
from tests.helpers import PASSWORD
from tests.live import live_server


@dataclass(frozen=True)
class Person:
    username: str
    token: str
    password: str  # an app password

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def person(base: str, username: str) -> Person:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    registered = httpx.post(f"{base}/api/v1/auth/register", json=body, timeout=30)
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    created = httpx.post(
        f"{base}/api/v1/app-passwords",
        json={"name": "client test"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return Person(username, token, created.json()["password"])


@contextmanager
def caldav_server(database_url: str, data_dir: Path) -> Iterator[str]:
    """`neo-events serve` on 127.0.0.1; every table emptied afterwards."""
    try:
        with live_server(database_url=database_url, data_dir=data_dir) as server:
            yield server.base
    finally:
        anyio.run(truncate_all, database_url)
