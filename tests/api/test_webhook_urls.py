"""Webhook URLs whose host no resolver can look up are refused when set (SECURITY.md API7):
a 422 naming the problem, nothing written, on create and on update; ordinary URLs (ports,
IDN hosts, IPv6 literals) still pass. Such a URL already stored fails at delivery as a
refused destination, never a crash. Found by an outside attack: all of these got a 201."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from neo_events.webhooks import ssrf
from tests.helpers import Account, assert_problem, count_rows

pytestmark = pytest.mark.anyio

LONG_LABELS = ".".join(["a" * 59] * 30)  # 1,799 characters, each label valid

# (URL, words the problem's detail says)
BAD_URLS = [
    ("http://exa mple.com/", "no spaces or control characters"),
    ("http://-bad.example.com/", "not a valid name"),
    ("http://1.2.3.999/", "not a valid name"),
    (f"http://{'a' * 1800}/", "not a valid name"),
    (f"http://{LONG_LABELS}/", "longer than 253 characters"),
    ("http://[v1.x]/", "must be an IPv6 address"),
    ("http://[::1:2:3:4:5:6:7:8:9]/", "IPv6"),
    ("http://%31%32%37.0.0.1/", "percent-encoded"),
    ("http://exa%6Dple.com/", "percent-encoded"),
    ("http://example.com:0/", "port must be from 1 to 65535"),
    ("http://example.com:65536/", "Port out of range"),
    ("http://example.com:99999999/", "Port out of range"),
    ("http:///hook", "no host"),
    ("http://:8080/hook", "no host"),
    ("http://user:secret@example.com/", "credentials"),
    ("http://@example.com/", "credentials"),
]

GOOD_URLS = [
    "https://example.com/hook",
    "http://example.com:8080/hook?x=1",
    "https://hooks.example.com:65535/",
    "http://bücher.example/hook",
    "http://webhook_receiver:8080/hook",  # a container name: DNS allows underscores
    "https://xn--bcher-kva.example/hook",
    "https://EXAMPLE.com./hook",
    "http://8.8.8.8:8443/hook",
    "http://[2606:4700:4700::1111]:8443/hook",
    "https://a-b.c0.example/",
]


async def _add(client: httpx.AsyncClient, owner: Account, url: str) -> httpx.Response:
    body = {"url": url, "events": ["*"]}
    return await client.post("/api/v1/webhooks", json=body, headers=owner.headers)


@pytest.mark.parametrize(("url", "says"), BAD_URLS)
async def test_a_url_no_resolver_can_look_up_is_refused(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, url: str, says: str
) -> None:
    problem = assert_problem(await _add(client, alice, url), 422, "validation_error")
    assert says in problem["detail"], problem
    assert [e["loc"] for e in problem["errors"]] == [["url"]]
    assert await count_rows(app, "webhooks") == 0
    # Updating a webhook to it is refused the same way and changes nothing.
    hook = (await _add(client, alice, "https://hooks.example.com/in")).json()
    response = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"url": url}, headers=alice.headers
    )
    assert says in assert_problem(response, 422, "validation_error")["detail"]
    got = await client.get(f"/api/v1/webhooks/{hook['id']}", headers=alice.headers)
    assert got.json()["url"] == "https://hooks.example.com/in"


@pytest.mark.parametrize("url", GOOD_URLS)
async def test_ordinary_urls_still_pass(
    client: httpx.AsyncClient, alice: Account, url: str
) -> None:
    response = await _add(client, alice, url)
    assert response.status_code == 201, response.text
    assert response.json()["url"] == url
    hook = response.json()["id"]
    response = await client.patch(
        f"/api/v1/webhooks/{hook}", json={"url": url}, headers=alice.headers
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("url", "says"), BAD_URLS)
async def test_such_a_url_already_stored_is_a_refused_delivery(url: str, says: str) -> None:
    """Delivery resolves each attempt's URL with `ssrf.resolve`, and records a `Refused` as
    the attempt's failure: a URL stored before this check is refused, not a crash."""
    with pytest.raises(ssrf.Refused, match=says.replace("(", r"\(")):
        await ssrf.resolve(url, require_https=False, allow_private=True)
