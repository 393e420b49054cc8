"""The role matrix of SPEC §5: every event endpoint × owner, editor, viewer, stranger.

A stranger gets 404 everywhere (existence never leaks); a role that is too low gets 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, count_rows, create_event, register, share

pytestmark = pytest.mark.anyio

Call = Callable[
    [httpx.AsyncClient, Account, dict[str, Any], dict[str, Account]], Awaitable[httpx.Response]
]


def _url(event: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/events/{event['id']}{tail}"


ENDPOINTS: dict[str, tuple[str, Call]] = {
    "read": ("viewer", lambda c, who, e, p: c.get(_url(e), headers=who.headers)),
    "permissions": (
        "viewer",
        lambda c, who, e, p: c.get(_url(e, "/permissions"), headers=who.headers),
    ),
    "put": (
        "editor",
        lambda c, who, e, p: c.put(_url(e), json={"title": "T"}, headers=who.headers),
    ),
    "patch": (
        "editor",
        lambda c, who, e, p: c.patch(_url(e), json={"title": "T"}, headers=who.headers),
    ),
    "share": (
        "owner",
        lambda c, who, e, p: c.post(
            _url(e, "/share"),
            json={"users": [{"user_id": p["dave"].id, "role": "viewer"}]},
            headers=who.headers,
        ),
    ),
    "change_role": (
        "owner",
        lambda c, who, e, p: c.put(
            _url(e, f"/permissions/{p['viewer'].id}"), json={"role": "viewer"}, headers=who.headers
        ),
    ),
    "remove_role": (  # someone else's: one's own role anyone may give up (test_sharing.py)
        "owner",
        lambda c, who, e, p: c.delete(
            _url(e, f"/permissions/{p['editor' if who is p['viewer'] else 'viewer'].id}"),
            headers=who.headers,
        ),
    ),
    "delete": ("owner", lambda c, who, e, p: c.delete(_url(e), headers=who.headers)),
}

RANK = {"viewer": 1, "editor": 2, "owner": 3}
ROLES = ["owner", "editor", "viewer", "stranger"]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(
    client: httpx.AsyncClient, app: FastAPI, endpoint: str, role: str
) -> None:
    people = {
        name: await register(client, name)
        for name in ("owner", "editor", "viewer", "stranger", "dave")
    }
    event = await create_event(client, people["owner"])
    await share(client, people["owner"], event["id"], people["editor"], "editor")
    await share(client, people["owner"], event["id"], people["viewer"], "viewer")
    audit_before = await count_rows(app, "audit_log")
    versions_before = await count_rows(app, "event_versions")
    needed, call = ENDPOINTS[endpoint]
    response = await call(client, people[role], event, people)
    if role == "stranger":
        assert_problem(response, 404, "event_not_found")
    elif RANK[role] < RANK[needed]:
        assert_problem(response, 403, "role_too_low")
    else:
        assert response.status_code in (200, 204), response.text
        return
    # a refused request changes nothing
    assert await count_rows(app, "audit_log") == audit_before
    assert await count_rows(app, "event_versions") == versions_before
