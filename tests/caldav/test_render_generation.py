"""The texts the CalDAV collection renders have a generation (`service.RENDER_GENERATION`).

An item's ETag is made of its event's data (version, stored text's time, people, the reader's
reminders), not of the text: a release that renders an unchanged event otherwise (an outside
attack found one: after an upgrade, attendees' addresses were rendered anew while ETags,
the CTag and sync-collection said nothing had changed, so clients kept the old texts) must
bump the generation, which changes every ETag and the CTag and refuses older sync tokens
(clients then sync from scratch, RFC 6578 §3.2). The last test pins the texts of a set of
events to the generation, so that a change of rendering cannot land without the bump.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from neo_events import timezones
from neo_events.caldav import service
from tests.caldav.dav import Dav, dav_for, propfind, responses
from tests.caldav.test_attendees import invite
from tests.helpers import create_event, created

pytestmark = pytest.mark.anyio

D = "{DAV:}"
CS = "{http://calendarserver.org/ns/}"
SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
# sha256 of the texts `_texts` renders, by RENDER_GENERATION (2 changed texts these events
# do not have: CR-ended people lines, a value holding U+2028 under a reader's alarms)
PINNED = {
    1: "3648164a3bed586b4e9b206f3488dbc2abe3b4061ccb1679aca02f833c2c513d",
    2: "3648164a3bed586b4e9b206f3488dbc2abe3b4061ccb1679aca02f833c2c513d",
}


async def _collection(alice: Dav) -> tuple[str, str, dict[str, str]]:
    """The collection's sync token and CTag, and each item's ETag by href."""
    top = await alice.request(
        "PROPFIND", alice.calendar, propfind("d:sync-token", "cs:getctag"), Depth="0"
    )
    props = responses(top.content)[alice.calendar]["props"]
    items = await alice.request("PROPFIND", alice.calendar, propfind("d:getetag"), Depth="1")
    etags = {
        href: entry["props"][f"{D}getetag"].text
        for href, entry in responses(items.content).items()
        if href != alice.calendar
    }
    return props[f"{D}sync-token"].text, props[f"{CS}getctag"].text, etags


async def _events(client, alice: Dav, bob: Dav) -> list[int]:  # type: ignore[no-untyped-def]
    """Events of every kind a text is rendered from: a series with an exception moved and a
    day cancelled, in a zone; an all-day event; an invitation with answers; reminders."""
    series = await create_event(
        client,
        alice.account,
        title="Stand-up",
        description="Daily; notes, links",
        location="Room 1",
        start_time="2026-03-02T09:00:00+01:00",
        end_time="2026-03-02T09:15:00+01:00",
        timezone="Europe/Berlin",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
        exdates=["2026-03-04T08:00:00Z"],
        overrides=[
            {
                "recurrence_id": "2026-03-09T08:00:00Z",
                "start_time": "2026-03-09T10:00:00Z",
                "end_time": "2026-03-09T10:30:00Z",
                "title": "Stand-up (moved)",
            }
        ],
    )
    offsite = await created(
        client,
        alice.account,
        {"title": "Offsite", "start_date": "2026-04-01", "end_date": "2026-04-03", "all_day": True},
    )
    await invite(client, alice.account, offsite["id"], bob.account)
    answered = await client.put(
        f"/api/v1/events/{offsite['id']}/rsvp",
        json={"response": "accepted"},
        headers=bob.account.headers,
    )
    assert answered.status_code == 200, answered.text
    reminded = await client.put(
        f"/api/v1/events/{series['id']}/reminders",
        json={"reminders": [{"minutes_before": 10}, {"minutes_before": 1440}]},
        headers=alice.account.headers,
    )
    assert reminded.status_code == 200, reminded.text
    return [series["id"], offsite["id"]]


@pytest.mark.parametrize(
    ("module", "name", "value"),
    [
        (service, "RENDER_GENERATION", service.RENDER_GENERATION + 1),  # renders otherwise
        (timezones, "RULES_VERSION", "2099z"),  # one with new zone rules (its VTIMEZONEs)
    ],
)
async def test_a_new_generation_changes_every_etag_and_refuses_older_sync_tokens(
    client, monkeypatch: pytest.MonkeyPatch, module: object, name: str, value: object
) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    await _events(client, alice, bob)
    token, ctag, etags = await _collection(alice)
    assert len(etags) == 2
    caught_up = await alice.request("REPORT", alice.calendar, SYNC.format(token=token))
    assert caught_up.status_code == 207 and len(responses(caught_up.content)) == 0

    monkeypatch.setattr(module, name, value)
    refused = await alice.request("REPORT", alice.calendar, SYNC.format(token=token))
    assert refused.status_code == 403 and b"valid-sync-token" in refused.content
    new_token, new_ctag, new_etags = await _collection(alice)
    assert new_token != token and new_ctag != ctag
    assert new_etags.keys() == etags.keys()
    assert all(new_etags[href] != etags[href] for href in etags)
    for href, etag in new_etags.items():  # a GET says the same, and If-Match takes it
        got = await alice.request("GET", href)
        assert got.status_code == 200 and got.headers["etag"] == etag
    again = await alice.request("REPORT", alice.calendar, SYNC.format(token=""))
    assert again.status_code == 207
    assert len(responses(again.content)) == 2  # from scratch: every item
    fresh = again.content.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()
    delta = await alice.request("REPORT", alice.calendar, SYNC.format(token=fresh))
    assert delta.status_code == 207 and len(responses(delta.content)) == 0


def _normal(text: str, ids: list[int]) -> str:
    """The text without what differs from run to run: the stamps and the events' ids."""
    lines = [
        line
        for line in text.replace("\r\n ", "").split("\r\n")
        if not line.startswith(("DTSTAMP", "CREATED", "LAST-MODIFIED"))
    ]
    normal = "\n".join(lines)
    for n, event_id in enumerate(ids):
        normal = re.sub(rf"event-{event_id}\b", f"event-<{n}>", normal)
    return normal


async def test_the_texts_are_those_of_their_generation(client) -> None:
    """If this fails, the collection renders an unchanged event otherwise than its
    generation did: bump `service.RENDER_GENERATION` (clients then fetch the new texts) and
    pin the new digest here under the new generation."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    ids = await _events(client, alice, bob)
    texts = []
    for reader, held in ((alice, ids), (bob, ids[1:])):  # bob is invited to the offsite
        for event_id in held:
            got = await reader.request("GET", f"{reader.calendar}event-{event_id}.ics")
            assert got.status_code == 200, got.text
            texts.append(_normal(got.text, ids))
    digest = hashlib.sha256("\n--\n".join(texts).encode()).hexdigest()
    assert digest == PINNED.get(service.RENDER_GENERATION), digest + "\n" + "\n--\n".join(texts)
