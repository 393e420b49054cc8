"""An email address names its account in every form it may be written in: NFC or NFD, its
domain in Unicode or punycode, any case (`auth/names.name_key`, the key registration stores).
Registration already refused those forms as duplicates; login, the user lookup, an import's
and a CalDAV write's attendees, and CalDAV's Basic sign-in did not recognise them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_ical_import import IMPORT, ics, vevent
from tests.caldav.dav import Dav, app_password, basic, propfind, responses
from tests.caldav.dav import ics as dav_ics
from tests.helpers import PASSWORD, Account, register

pytestmark = pytest.mark.anyio

EMAIL = "zoé@bücher.de"  # as registration stores it: NFC, the domain in Unicode
FORMS = [
    "zoe\u0301@bücher.de",  # the local part in NFD (macOS keyboards, some copy and paste)
    "zoé@xn--bcher-kva.de",  # the domain in punycode (what mail headers carry)
    "zoe\u0301@xn--bcher-kva.de",
    "ZOÉ@BÜCHER.DE",
    "zoé@bu\u0308cher.de",  # the domain in NFD
]


async def _zoe(client: httpx.AsyncClient) -> Account:
    return await register(client, "zoe", email=EMAIL)


async def test_registration_refuses_every_form_as_taken(client: httpx.AsyncClient) -> None:
    await _zoe(client)
    for n, form in enumerate(FORMS):
        body = {"username": f"other{n}", "email": form, "password": PASSWORD}
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 409, (form, response.text)


@pytest.mark.parametrize("form", FORMS)
async def test_login_by_any_form_of_the_address(client: httpx.AsyncClient, form: str) -> None:
    zoe = await _zoe(client)
    response = await client.post(
        "/api/v1/auth/login", json={"username": form, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == zoe.id


@pytest.mark.parametrize("form", FORMS)
async def test_user_lookup_by_any_form(client: httpx.AsyncClient, form: str) -> None:
    zoe = await _zoe(client)
    bob = await register(client, "bob")
    found = await client.get("/api/v1/users", params={"q": form}, headers=bob.headers)
    assert found.status_code == 200, found.text
    assert [u["id"] for u in found.json()["items"]] == [zoe.id]


async def _invited(client: httpx.AsyncClient, who: Account) -> list[str]:
    return [item["title"] for item in await _invitations(client, who)]


async def test_an_imported_attendee_in_any_form_is_invited(client: httpx.AsyncClient) -> None:
    zoe = await _zoe(client)
    alice = await register(client, "alice")
    events = [
        vevent(
            f"e{n}",
            f"SUMMARY:Meeting {n}",
            f"DTSTART:202603{10 + n}T090000Z",
            f"DTEND:202603{10 + n}T100000Z",
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{form}",
        )
        for n, form in enumerate(FORMS)
    ]
    response = await client.post(
        IMPORT, content=ics(*events), headers=alice.headers | {"content-type": "text/calendar"}
    )
    assert response.status_code == 201, response.text
    assert sorted(await _invited(client, zoe)) == [f"Meeting {n}" for n in range(len(FORMS))]


async def test_a_caldav_attendee_in_any_form_is_invited_and_answers_as_its_user(
    client: httpx.AsyncClient,
) -> None:
    zoe = await _zoe(client)
    alice = await register(client, "alice")
    dav = Dav(client, alice, await app_password(client, alice))
    for n, form in enumerate(FORMS):
        people = (
            "ORGANIZER;CN=alice:mailto:alice@example.com\n"
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{form}\n"
        )
        put = await dav.put(f"m{n}.ics", dav_ics(uid=f"m-{n}", summary=f"Call {n}", extra=people))
        assert put.status_code == 201, put.text
    assert sorted(await _invited(client, zoe)) == [f"Call {n}" for n in range(len(FORMS))]
    # her own client names her by another form of her address as it gives her answer
    mine = Dav(client, zoe, await app_password(client, zoe))
    listed = await mine.request("PROPFIND", mine.calendar, propfind("d:getetag"), Depth="1")
    hrefs = [h for h in responses(listed.content) if h.endswith(".ics")]
    bodies = {h: await mine.request("GET", h) for h in hrefs}
    href, got = next((h, g) for h, g in bodies.items() if b"SUMMARY:Call 0" in g.content)
    text = got.content.replace(b"\r\n ", b"").decode()
    [hers] = [x for x in text.split("\r\n") if x.startswith("ATTENDEE") and EMAIL in x]
    answered = hers.replace("NEEDS-ACTION", "ACCEPTED").replace(EMAIL, FORMS[2])
    put = await mine.put(href.rsplit("/", 1)[1], text.replace(hers, answered).encode())
    assert put.status_code == 204, put.text
    event_id = next(i["id"] for i in await _invitations(client, zoe) if i["title"] == "Call 0")
    event = (await client.get(f"/api/v1/events/{event_id}", headers=zoe.headers)).json()
    assert {a["username"]: a["response"] for a in event["attendees"]}["zoe"] == "accepted"


async def _invitations(client: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    listed = await client.get("/api/v1/invitations", headers=who.headers)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


@pytest.mark.parametrize("form", FORMS[:2])
async def test_caldav_signs_in_by_any_form_of_the_address(
    client: httpx.AsyncClient, form: str
) -> None:
    zoe = await _zoe(client)
    secret = await app_password(client, zoe)
    response = await client.request(
        "PROPFIND",
        "/dav/principals/zoe/",
        headers=basic(form, secret) | {"Depth": "0"},
    )
    assert response.status_code == 207, response.text
