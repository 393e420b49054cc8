"""One name or UID from two people's apps in one calendar (RFC 4791 §5.3.2.1): both are
checked against their writer's calendar only, so after a share the reader who holds both is
served the one that does not go first (theirs before another's, else the older) under its
own `event-{id}.ics` and `event-{id}@neo-events` (caldav/service.py `_shadowed`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.caldav.dav import dav_for, ics, propfind, responses
from tests.helpers import share

pytestmark = pytest.mark.anyio


def uid_of(text: bytes) -> str:
    [event] = Calendar.from_ical(text).walk("VEVENT")
    return str(event["UID"])


def shadowed(etag: str) -> bool:
    """Whether an ETag says its item is served under its own name (`-u`, before the mark of
    the texts' generation, if any)."""
    return "u" in etag.strip('"').split("-")[1:]


async def test_a_shared_twin_is_served_under_its_own_name_and_uid(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    # bob's first (the older), then alice's: the name and UID the `caldav` library would give
    assert (await bob.put("same.ics", ics(uid="same", summary="Bob's"))).status_code == 201
    assert (await alice.put("same.ics", ics(uid="same"))).status_code == 201
    [his] = (await client.get("/api/v1/events", headers=bob.account.headers)).json()["items"]
    await share(client, bob.account, his["id"], alice.account, "editor")

    # to alice, her own goes first; bob's is served under its own name and UID
    listing = await alice.request("PROPFIND", alice.calendar, propfind("d:getetag"), Depth="1")
    hrefs = sorted(h for h in responses(listing.content) if h.endswith(".ics"))
    his_there = alice.calendar + f"event-{his['id']}.ics"
    assert hrefs == sorted([his_there, alice.calendar + "same.ics"])
    theirs = await alice.request("GET", his_there)
    assert uid_of(theirs.content) == f"event-{his['id']}@neo-events"
    assert b"SUMMARY:Bob's" in theirs.content and shadowed(theirs.headers["etag"])
    mine = await alice.request("GET", alice.calendar + "same.ics")
    assert uid_of(mine.content) == "same" and b"SUMMARY:Dentist" in mine.content
    # to bob, his event is as he wrote it
    own = await bob.request("GET", bob.calendar + "same.ics")
    assert uid_of(own.content) == "same" and not shadowed(own.headers["etag"])

    # alice writes it back as she was given it: bob's event, still "same" to him
    edited = theirs.content.replace(b"SUMMARY:Bob's", b"SUMMARY:Bob's (moved)")
    tag = theirs.headers["etag"]
    put = await alice.request("PUT", his_there, edited, **{"If-Match": tag})
    assert put.status_code == 204, put.text
    own = await bob.request("GET", bob.calendar + "same.ics")
    assert uid_of(own.content) == "same" and b"SUMMARY:Bob's (moved)" in own.content
    # the name and UID she was given are not hers to give a new resource
    again = await alice.put("new.ics", ics(uid=f"event-{his['id']}@neo-events"))
    assert again.status_code == 403 and b"no-uid-conflict" in again.content

    # once her own is gone, his is "same.ics" and "same" to her too
    deleted = await alice.request("DELETE", alice.calendar + "same.ics")
    assert deleted.status_code == 204, deleted.text
    back = await alice.request("GET", alice.calendar + "same.ics")
    assert uid_of(back.content) == "same" and b"SUMMARY:Bob's (moved)" in back.content
    assert not shadowed(back.headers["etag"])
    assert (await alice.request("GET", his_there)).status_code == 404


SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


async def synced(dav: Any, token: str = "") -> tuple[dict[str, Any], str]:
    """A sync-collection's entries by href, and its new token."""
    answer = await dav.request("REPORT", dav.calendar, SYNC.format(token=token))
    assert answer.status_code == 207, answer.text
    token = answer.content.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()
    return responses(answer.content), token


async def test_a_twin_that_goes_is_gone_by_the_name_the_reader_had_and_the_other_renamed(
    client: httpx.AsyncClient,
) -> None:
    """An outside attack: alice's and bob's apps each made same.ics; alice shares hers with
    bob and carol, bob his with carol. To bob, his own is same.ics and alice's her own name;
    to carol, alice's (the older) is same.ics and bob's his own name. Alice deletes hers:
    sync told bob `same.ics` 404 (his app dropped his own event) and carol the same (her app
    kept a dead copy and lost bob's)."""
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    assert (await alice.put("same.ics", ics(uid="same", summary="Alice's"))).status_code == 201
    assert (await bob.put("same.ics", ics(uid="same", summary="Bob's"))).status_code == 201
    events = "/api/v1/events"
    [hers] = (await client.get(events, headers=alice.account.headers)).json()["items"]
    [his] = (await client.get(events, headers=bob.account.headers)).json()["items"]
    await share(client, alice.account, hers["id"], bob.account, "editor")
    await share(client, alice.account, hers["id"], carol.account, "viewer")
    await share(client, bob.account, his["id"], carol.account, "viewer")
    hers_to_bob = bob.calendar + f"event-{hers['id']}.ics"
    his_to_carol = carol.calendar + f"event-{his['id']}.ics"
    first, bobs_token = await synced(bob)
    assert sorted(h for h in first if h.endswith(".ics")) == [
        hers_to_bob,
        bob.calendar + "same.ics",
    ]
    first, carols_token = await synced(carol)
    assert sorted(h for h in first if h.endswith(".ics")) == sorted(
        [carol.calendar + "same.ics", his_to_carol]
    )

    deleted = await client.delete(f"{events}/{hers['id']}", headers=alice.account.headers)
    assert deleted.status_code == 204, deleted.text
    delta, _ = await synced(bob, bobs_token)
    assert delta[hers_to_bob]["status"] == 404
    assert delta.get(bob.calendar + "same.ics", {}).get("status") != 404  # his own stays
    delta, _ = await synced(carol, carols_token)
    assert delta[his_to_carol]["status"] == 404  # bob's is same.ics to her now
    now = delta[carol.calendar + "same.ics"]
    assert now["status"] != 404 and now["props"]
    got = await carol.request("GET", carol.calendar + "same.ics")
    assert uid_of(got.content) == "same" and b"SUMMARY:Bob's" in got.content
