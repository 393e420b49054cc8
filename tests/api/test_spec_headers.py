"""SPEC §2 on every route: a 201 carries `Location`, naming what it made (a GET of it with the
creator's credentials answers that); a single resource carries an `ETag`, and a matching
`If-None-Match` (RFC 9110 §13.1.2: weak comparison, lists, `*`) gives 304, in MessagePack as
in JSON, with a new tag once what the GET shows changes; a version snapshot says in
`Cache-Control` that it is immutable.

The routes come from the app's OpenAPI document: a new `201` or `GET` operation fails
`test_every_route_is_classified` until it is named below, as a creation, as a single
resource (then the header tests walk it), or as something else, with why."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgpack
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from neo_events.models import User, Webhook
from tests.helpers import PASSWORD, Account, create_event, event_body, register

pytestmark = pytest.mark.anyio

API = "/api/v1"
STRONG_TAG = re.compile(r'^"[\x21\x23-\x7e]*"$')  # RFC 9110 §8.8.3 entity-tag, not weak
MSGPACK = {"Accept": "application/msgpack"}


@dataclass
class World:
    """Alice with one of every resource: an event at version 2, a webhook, a feed token and an
    app password."""

    app: FastAPI
    client: httpx.AsyncClient
    alice: Account
    event: dict[str, Any]
    webhook: dict[str, Any]
    feed_token: dict[str, Any]
    app_password: dict[str, Any]


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient, alice: Account) -> World:
    event = await create_event(client, alice)
    edited = await client.patch(
        f"{API}/events/{event['id']}", json={"title": "Daily standup"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text

    async def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"{API}{path}", json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    return World(
        app,
        client,
        alice,
        edited.json(),
        await made("/webhooks", {"url": "https://hooks.example.com/in", "events": ["*"]}),
        await made("/feed-tokens", {"name": "Phone"}),
        await made("/app-passwords", {"name": "Phone"}),
    )


# --- 201: Location -----------------------------------------------------------------------

Create = Callable[[World], Awaitable[httpx.Response]]


def _post(path: str, body: dict[str, Any], *, anonymous: bool = False) -> Create:
    async def create(w: World) -> httpx.Response:
        headers = {} if anonymous else w.alice.headers
        return await w.client.post(f"{API}{path}", json=body, headers=headers)

    return create


CREATES: dict[str, Create] = {
    f"{API}/auth/register": _post(
        "/auth/register",
        {"username": "carol", "email": "carol@example.com", "password": PASSWORD},
        anonymous=True,
    ),
    f"{API}/events": _post("/events", event_body(title="Retro")),
    f"{API}/webhooks": _post("/webhooks", {"url": "https://hooks.example.com/2", "events": ["*"]}),
    f"{API}/feed-tokens": _post("/feed-tokens", {"name": "Tablet"}),
    f"{API}/app-passwords": _post("/app-passwords", {"name": "Tablet"}),
}
# Several resources at once: no one of them is the request's primary resource (RFC 9110
# §15.3.2), so no Location; each item's `id` names its own /events/{id} (docs/api.md).
CREATES_MANY = {f"{API}/events/batch", f"{API}/events/import"}


@pytest.mark.parametrize("path", sorted(CREATES))
async def test_a_201_says_where_what_it_made_is(world: World, path: str) -> None:
    response = await CREATES[path](world)
    assert response.status_code == 201, response.text
    location = response.headers.get("location")
    assert location, f"{path}: 201 without Location"
    body = response.json()
    # what a client does with it: GET it, as whoever made it (a new user: with their token)
    token = body.get("access_token") or world.alice.access_token
    shown = await world.client.get(location, headers={"Authorization": f"Bearer {token}"})
    assert shown.status_code == 200, (path, location, shown.text)
    made = body.get("user", body)  # register answers the user and a token pair
    assert shown.json()["id"] == made["id"], (path, location)
    assert shown.json().items() <= made.items(), "the created body shows what a GET shows"


# --- single resources: ETag, 304 ----------------------------------------------------------

Change = Callable[[World], Awaitable[None]]


@dataclass
class Read:
    """How to reach one single resource of `World`, and what changes what its GET shows."""

    url: Callable[[World], str]
    headers: Callable[[World], dict[str, str]] = lambda w: w.alice.headers
    changes: list[Change] = field(default_factory=list)
    immutable: bool = False  # SPEC §2: a version snapshot says so in Cache-Control
    accept: str | None = None  # another representation than JSON


async def _retitle(w: World) -> None:
    response = await w.client.patch(
        f"{API}/events/{w.event['id']}", json={"title": "Renamed"}, headers=w.alice.headers
    )
    assert response.status_code == 200, response.text


async def _new_email(w: World) -> None:
    """No route changes an account yet; what a future one would write."""
    async with w.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(User)
            .where(User.id == w.alice.id)
            .values(email="alice@example.org", email_key="alice@example.org")
        )


async def _new_zone(w: World) -> None:
    response = await w.client.patch(
        f"{API}/auth/me/settings", json={"timezone": "Asia/Tokyo"}, headers=w.alice.headers
    )
    assert response.status_code == 200, response.text


async def _describe_webhook(w: World) -> None:
    response = await w.client.patch(
        f"{API}/webhooks/{w.webhook['id']}", json={"description": "CI"}, headers=w.alice.headers
    )
    assert response.status_code == 200, response.text


async def _webhook_failed_for_a_day(w: World) -> None:
    """What the delivery worker writes when it gives up (webhooks/delivery.py): the state
    shown in the GET, without touching `updated_at`."""
    async with w.app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Webhook)
            .where(Webhook.id == w.webhook["id"])
            .values(disabled_at=Webhook.created_at, disabled_reason="failing for 24 hours")
        )


def _event(w: World) -> str:
    return f"{API}/events/{w.event['id']}"


READS: dict[str, Read] = {
    f"{API}/auth/me": Read(lambda w: f"{API}/auth/me", changes=[_new_email]),
    f"{API}/auth/me/settings": Read(lambda w: f"{API}/auth/me/settings", changes=[_new_zone]),
    f"{API}/events/{{event_id}}": Read(_event, changes=[_retitle]),
    f"{API}/events/{{event_id}}.ics": Read(lambda w: f"{_event(w)}.ics", changes=[_retitle]),
    f"{API}/calendar.ics": Read(
        lambda w: f"{API}/calendar.ics?token={w.feed_token['token']}",
        headers=lambda w: {},
        changes=[_retitle],
    ),
    f"{API}/events/{{event_id}}/history/{{version}}": Read(
        lambda w: f"{_event(w)}/history/1", immutable=True
    ),
    f"{API}/events/{{event_id}}/diff/{{v1}}/{{v2}}": Read(lambda w: f"{_event(w)}/diff/1/2"),
    f"{API}/webhooks/{{webhook_id}}": Read(
        lambda w: f"{API}/webhooks/{w.webhook['id']}",
        changes=[_describe_webhook, _webhook_failed_for_a_day],
    ),
    f"{API}/feed-tokens/{{token_id}}": Read(lambda w: f"{API}/feed-tokens/{w.feed_token['id']}"),
    f"{API}/app-passwords/{{password_id}}": Read(
        lambda w: f"{API}/app-passwords/{w.app_password['id']}"
    ),
}
# Other representations of those: (path, Read)
OTHER_REPRESENTATIONS = [
    # the side-by-side page shows the event's title today
    (
        f"{API}/events/{{event_id}}/diff/{{v1}}/{{v2}}",
        Read(lambda w: f"{_event(w)}/diff/1/2", accept="text/html", changes=[_retitle]),
    ),
]
NOT_SINGLE = {
    "/healthz": "a probe",
    "/readyz": "a probe",
    "/metrics": "figures that change with every request",
    f"{API}/users": "a search",
    f"{API}/events": "a listing",
    f"{API}/events/{{event_id}}/instances": "a listing",
    f"{API}/events/{{event_id}}/conflicts": "a listing",
    f"{API}/events/{{event_id}}/permissions": "a listing",
    f"{API}/events/{{event_id}}/history": "a listing",
    f"{API}/events/{{event_id}}/changelog": "a listing",
    f"{API}/freebusy": "a query over a window of several calendars",
    f"{API}/invitations": "a listing",
    f"{API}/audit": "a listing",
    f"{API}/feed-tokens": "a listing",
    f"{API}/app-passwords": "a listing",
    f"{API}/webhooks": "a listing",
    f"{API}/webhooks/{{webhook_id}}/deliveries": "a listing",
    f"{API}/sync": "a change feed",
    f"{API}/notifications/stream": "a stream",
}


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
    ]


async def test_every_route_is_classified(app: FastAPI) -> None:
    """A new route that creates (201) or reads (GET) fails here until it is named above."""
    operations = _operations(app)
    creating = {p for m, p, op in operations if m == "post" and "201" in op["responses"]}
    assert creating == set(CREATES) | CREATES_MANY
    reading = {p for m, p, _ in operations if m == "get"}
    assert reading == set(READS) | set(NOT_SINGLE)
    assert not set(READS) & set(NOT_SINGLE)
    for method, path, operation in operations:
        if method == "get" and path in READS:  # documented as /events/{id}'s is
            assert "304" in operation["responses"], path


CASES = sorted(READS.items()) + OTHER_REPRESENTATIONS


@pytest.mark.parametrize(
    ("path", "read"), CASES, ids=[p + (f" as {r.accept}" if r.accept else "") for p, r in CASES]
)
async def test_a_single_resource_has_an_etag_and_answers_if_none_match(
    world: World, path: str, read: Read
) -> None:
    client, url = world.client, read.url(world)
    headers = read.headers(world) | ({"Accept": read.accept} if read.accept else {})

    async def get(**more: str) -> httpx.Response:
        return await client.get(url, headers=headers | more)

    first = await get()
    assert first.status_code == 200, (url, first.text)
    etag = first.headers.get("etag")
    assert etag and STRONG_TAG.match(etag), f"{path}: no strong ETag ({etag!r})"
    assert (await get()).headers["etag"] == etag, "the same representation, the same tag"
    for matching in (etag, f"W/{etag}", f'"nope", {etag}', f'W/"nope",W/{etag}', "*"):
        again = await get(**{"If-None-Match": matching})
        assert again.status_code == 304, (path, matching, again.status_code)
        assert again.content == b"" and again.headers["etag"] == etag, (path, matching)
        if read.immutable:
            assert "immutable" in again.headers["cache-control"], path
    assert (await get(**{"If-None-Match": '"nope", W/"nope"'})).status_code == 200
    if read.immutable:
        assert "immutable" in first.headers["cache-control"], path
    if first.headers["content-type"].startswith("application/json"):
        # MessagePack: the same document, so the same tag and the same 304 (as the event's)
        packed = await get(**MSGPACK)
        assert packed.status_code == 200 and packed.headers["etag"] == etag, path
        assert packed.headers["content-type"] == "application/msgpack"
        assert msgpack.unpackb(packed.content) == first.json()
        again = await get(**MSGPACK, **{"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag, path
    for change in read.changes:
        await change(world)
        changed = await get(**{"If-None-Match": etag})
        assert changed.status_code == 200, (path, change.__name__, "a 304 kept a stale copy")
        assert changed.headers["etag"] != etag, (path, change.__name__)
        assert changed.content != first.content, (path, change.__name__)
        etag = changed.headers["etag"]
        assert (await get(**{"If-None-Match": etag})).status_code == 304, path


async def test_the_tag_of_a_users_own_resource_is_theirs(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """/auth/me is a different resource for each caller: bob's copy never validates as
    alice's."""
    bob = await register(client, "bob")
    mine = await client.get(f"{API}/auth/me", headers=alice.headers)
    theirs = await client.get(
        f"{API}/auth/me", headers=bob.headers | {"If-None-Match": mine.headers["etag"]}
    )
    assert theirs.status_code == 200 and theirs.json()["id"] == bob.id
    assert theirs.headers["etag"] != mine.headers["etag"]


# --- writes of a single resource: If-Match ------------------------------------------------


@dataclass
class Write:
    """An unsafe request on one of READS' resources, and a change someone else makes to it."""

    method: str
    body: dict[str, Any] | None = None
    change: Change | None = None
    done: int = 200  # its status once it goes ahead


WRITES: dict[tuple[str, str], Write] = {
    ("patch", f"{API}/auth/me/settings"): Write(
        "PATCH", {"timezone": "Europe/Paris"}, change=_new_zone
    ),
    ("patch", f"{API}/webhooks/{{webhook_id}}"): Write(
        "PATCH", {"description": "mine"}, change=_webhook_failed_for_a_day
    ),
    ("delete", f"{API}/webhooks/{{webhook_id}}"): Write(
        "DELETE", change=_describe_webhook, done=204
    ),
    ("delete", f"{API}/feed-tokens/{{token_id}}"): Write("DELETE", done=204),
    ("delete", f"{API}/app-passwords/{{password_id}}"): Write("DELETE", done=204),
}


async def test_every_write_of_a_tagged_resource_takes_if_match(app: FastAPI) -> None:
    """RFC 9110 §13.1.1: a server that tags a resource evaluates `If-Match` on its writes. A new
    write of one of READS' resources fails here until it documents the header and its 412 (an
    event's writes, `access.check_if_match`, are SPEC §7's and tested with them) and, if not
    an event's, is named in WRITES."""
    for method, path, operation in _operations(app):
        if path not in READS or method not in ("put", "patch", "delete", "post"):
            continue
        headers = {
            p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
        }
        assert "if-match" in headers and "412" in operation["responses"], (method, path)
        assert path.startswith(f"{API}/events/") or (method, path) in WRITES, (method, path)


@pytest.mark.parametrize(("method", "path"), sorted(WRITES))
async def test_a_write_with_a_stale_tag_changes_nothing(
    world: World, method: str, path: str
) -> None:
    write, url = WRITES[(method, path)], READS[path].url(world)
    client, headers = world.client, world.alice.headers

    async def tagged() -> tuple[str, bytes]:
        shown = await client.get(url, headers=headers)
        assert shown.status_code == 200, (path, shown.text)
        return shown.headers["etag"], shown.content

    async def send(tag: str) -> httpx.Response:
        return await client.request(
            write.method, url, json=write.body, headers=headers | {"If-Match": tag}
        )

    etag, content = await tagged()
    for stale in ('"nope"', f"W/{etag}", f'W/"nope", W/{etag}'):  # strong comparison
        refused = await send(stale)
        assert refused.status_code == 412, (path, stale, refused.text)
        assert refused.json()["code"] == "precondition_failed"
        assert await tagged() == (etag, content), (path, "a refused write changed it")
    if write.change is not None:
        await write.change(world)
        changed = await tagged()
        refused = await send(etag)  # the tag read before someone else's change
        assert refused.status_code == 412, (path, refused.text)
        assert await tagged() == changed, (path, "a refused write changed it")
        etag = changed[0]
    went = await send(f'"nope", {etag}')
    assert went.status_code == write.done, (path, went.text)
    if write.method == "DELETE":
        assert (await client.get(url, headers=headers)).status_code == 404
    else:
        assert (await tagged())[0] != etag
        assert (await send("*")).status_code == write.done  # it exists


async def test_a_zone_is_set_only_where_none_is(client: httpx.AsyncClient, alice: Account) -> None:
    """What the web client does at sign-in (`adoptZone`): the browser's zone, unless one was
    chosen since it looked (in another tab, on another device), which it never overwrites."""
    url = f"{API}/auth/me/settings"
    looked = await client.get(url, headers=alice.headers)
    assert looked.json() == {"timezone": None}
    chosen = await client.patch(url, json={"timezone": "Asia/Tokyo"}, headers=alice.headers)
    assert chosen.status_code == 200, chosen.text
    adopted = await client.patch(
        url,
        json={"timezone": "Europe/Paris"},
        headers=alice.headers | {"If-Match": looked.headers["etag"]},
    )
    assert adopted.status_code == 412, adopted.text
    assert (await client.get(url, headers=alice.headers)).json() == {"timezone": "Asia/Tokyo"}
