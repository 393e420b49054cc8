"""SPEC §6–7 through HTTP: history, snapshots, rollback, changelog, diff, as-of, preconditions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from neo_events.history.diff import CONTENT_FIELDS
from tests.conftest import http_client, make_settings, serving
from tests.helpers import (
    Account,
    assert_problem,
    count_rows,
    create_event,
    created,
    register,
    share,
)

pytestmark = pytest.mark.anyio


async def _edit(client: httpx.AsyncClient, who: Account, event_id: int, **fields: object) -> dict:  # type: ignore[type-arg]
    response = await client.patch(f"/api/v1/events/{event_id}", json=fields, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_history_newest_first_with_summaries(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, title="Alpha")
    await _edit(client, alice, event["id"], title="Beta")
    await _edit(client, alice, event["id"], location="Room 9")
    response = await client.get(f"/api/v1/events/{event['id']}/history", headers=alice.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["version"] for i in items] == [3, 2, 1]
    assert [i["change_type"] for i in items] == ["updated", "updated", "created"]
    assert items[1]["summary"] == "title changed from “Alpha” to “Beta”"
    assert items[2]["summary"] == "created “Alpha”"
    assert items[0]["changed_by"] == {"id": alice.id, "username": "alice"}
    paged = await client.get(
        f"/api/v1/events/{event['id']}/history", params={"limit": 2}, headers=alice.headers
    )
    assert [i["version"] for i in paged.json()["items"]] == [3, 2]
    rest = await client.get(
        f"/api/v1/events/{event['id']}/history",
        params={"limit": 2, "cursor": paged.json()["next_cursor"]},
        headers=alice.headers,
    )
    assert [i["version"] for i in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None


async def test_snapshots_are_immutable_and_cacheable(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, title="Alpha")
    await _edit(client, alice, event["id"], title="Beta")
    response = await client.get(f"/api/v1/events/{event['id']}/history/1", headers=alice.headers)
    assert response.status_code == 200
    snapshot = response.json()
    assert snapshot["title"] == "Alpha" and snapshot["version"] == 1
    assert snapshot["change_type"] == "created"
    assert snapshot["changed_by"]["username"] == "alice"
    assert "immutable" in response.headers["cache-control"]
    assert "private" in response.headers["cache-control"]
    # SPEC §2: If-None-Match with its ETag gives 304, which says it varies as its 200 does
    for tag in (response.headers["etag"], "*"):
        again = await client.get(
            f"/api/v1/events/{event['id']}/history/1",
            headers=alice.headers | {"If-None-Match": tag},
        )
        assert again.status_code == 304 and again.content == b"", again.text
        assert again.headers["etag"] == response.headers["etag"]
        assert "Accept" in again.headers["vary"] and "immutable" in again.headers["cache-control"]
    current = await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)
    unchanged = await client.get(
        f"/api/v1/events/{event['id']}",
        headers=alice.headers | {"If-None-Match": current.headers["etag"]},
    )
    assert unchanged.status_code == 304 and "Accept" in unchanged.headers["vary"]
    assert_problem(
        await client.get(f"/api/v1/events/{event['id']}/history/9", headers=alice.headers),
        404,
        "version_not_found",
    )


async def test_a_snapshot_shows_the_content_as_the_event_object_does(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Every content field, all-day dates, exdates and recurrence ids as dates, instants with
    their offset (SPEC §2, §6): as the event object shows them (`EventContentRead`). An
    outside tester found all_day, the dates, transparency and rdates missing, and an all-day
    series' exdates as naive date-times."""
    content = CONTENT_FIELDS
    days_off = await created(
        client,
        alice,
        {
            "title": "Days off",
            "all_day": True,
            "start_date": "2027-01-01",
            "end_date": "2027-01-02",
            "timezone": "Europe/Berlin",
            "recurrence_pattern": "FREQ=WEEKLY;UNTIL=20270401",
            "is_recurring": True,
            "exdates": ["2027-01-15"],
            "rdates": ["2027-01-03"],
            "overrides": [
                {"recurrence_id": "2027-01-22", "start_date": "2027-01-23", "title": "Moved"}
            ],
        },
    )
    timed = await created(
        client,
        alice,
        {
            "title": "Timed",
            "start_time": "2027-01-01T09:00:00Z",
            "end_time": "2027-01-01T10:00:00Z",
            "rdates": ["2027-01-05T09:00:00Z"],
            "transparency": "transparent",
        },
    )
    for event in (days_off, timed):
        url = f"/api/v1/events/{event['id']}"
        response = await client.get(f"{url}/history/1", headers=alice.headers)
        assert response.status_code == 200, response.text
        snapshot = response.json()
        assert {name: snapshot[name] for name in content} == {name: event[name] for name in content}
        # the answer of a fixed version changed form: so did its ETag (a revalidating client
        # gets the new one, not a 304 for its old copy)
        assert response.headers["etag"] == '"1-s2"'
        assert "immutable" in response.headers["cache-control"]
    assert (snapshot["transparency"], snapshot["rdates"]) == (
        "transparent",
        ["2027-01-05T09:00:00Z"],
    )
    # a version no longer current, as `?as_of=` shows it
    url = f"/api/v1/events/{days_off['id']}"
    timed_now = {
        "all_day": False,
        "start_time": "2027-01-01T09:00:00+01:00",
        "end_time": "2027-01-01T10:00:00+01:00",
    }
    await _edit(client, alice, days_off["id"], **timed_now)
    then = days_off["created_at"]
    past = (await client.get(url, params={"as_of": then}, headers=alice.headers)).json()
    snapshot = (await client.get(f"{url}/history/1", headers=alice.headers)).json()
    assert {name: snapshot[name] for name in content} == {name: past[name] for name in content}
    assert (snapshot["exdates"], snapshot["overrides"][0]["recurrence_id"]) == (
        ["2027-01-15"],
        "2027-01-22",
    )


async def test_rollback_appends_a_version(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice, title="Alpha", location="Room 1")
    await _edit(client, alice, event["id"], title="Beta", location="Room 2")
    response = await client.post(f"/api/v1/events/{event['id']}/rollback/1", headers=alice.headers)
    assert response.status_code == 200
    rolled = response.json()
    assert rolled["title"] == "Alpha" and rolled["location"] == "Room 1"
    assert rolled["version"] == 3
    assert response.headers["etag"] == '"3"'
    v3 = (await client.get(f"/api/v1/events/{event['id']}/history/3", headers=alice.headers)).json()
    assert v3["change_type"] == "rolled_back" and v3["rolled_back_to"] == 1
    # history is never rewritten: version 2 is still there, unchanged
    v2 = (await client.get(f"/api/v1/events/{event['id']}/history/2", headers=alice.headers)).json()
    assert v2["title"] == "Beta"
    # rolling back to the current content is allowed and still recorded
    again = await client.post(f"/api/v1/events/{event['id']}/rollback/3", headers=alice.headers)
    assert again.status_code == 200 and again.json()["version"] == 4
    assert await count_rows(app, "audit_log", action="event.rolled_back") == 2
    assert_problem(
        await client.post(f"/api/v1/events/{event['id']}/rollback/99", headers=alice.headers),
        404,
        "version_not_found",
    )


async def test_rollback_roles(client: httpx.AsyncClient, alice: Account) -> None:
    bob = await register(client, "bob")
    carol = await register(client, "carol")
    dave = await register(client, "dave")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "editor")
    await share(client, alice, event["id"], carol, "viewer")
    url = f"/api/v1/events/{event['id']}/rollback/1"
    assert (await client.post(url, headers=bob.headers)).status_code == 200
    assert_problem(await client.post(url, headers=carol.headers), 403, "role_too_low")
    assert_problem(await client.post(url, headers=dave.headers), 404, "event_not_found")
    for path in ("history", "history/1", "changelog", "diff/1/2"):
        assert (
            await client.get(f"/api/v1/events/{event['id']}/{path}", headers=carol.headers)
        ).status_code == 200
        assert_problem(
            await client.get(f"/api/v1/events/{event['id']}/{path}", headers=dave.headers),
            404,
            "event_not_found",
        )


async def test_diff_lists_only_changed_fields_with_word_diffs(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, title="Team sync", description="Talk about the plan")
    await _edit(
        client, alice, event["id"], description="Talk about the new plan", location="Room 7"
    )
    response = await client.get(f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["event_id"] == event["id"] and body["from_version"] == 1 and body["to_version"] == 2
    by_field = {c["field"]: c for c in body["changes"]}
    assert set(by_field) == {"description", "location"}  # never updated_at or version
    assert by_field["description"]["old"] == "Talk about the plan"
    assert {"op": "insert", "text": "new "} in by_field["description"]["diff"]
    backwards = (
        await client.get(f"/api/v1/events/{event['id']}/diff/2/1", headers=alice.headers)
    ).json()
    assert {c["field"]: c["new"] for c in backwards["changes"]}["location"] == "Room 1"
    same = (
        await client.get(f"/api/v1/events/{event['id']}/diff/2/2", headers=alice.headers)
    ).json()
    assert same["changes"] == []
    assert_problem(
        await client.get(f"/api/v1/events/{event['id']}/diff/1/5", headers=alice.headers),
        404,
        "version_not_found",
    )


async def test_html_diff_is_escaped(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice, title="Plan")
    await _edit(client, alice, event["id"], title="<script>alert(1)</script> Plan")
    response = await client.get(
        f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers | {"Accept": "text/html"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text
    assert "<ins" in response.text


async def test_html_diff_policy_allows_exactly_its_own_style(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Under `default-src 'none'` alone a browser drops the page's <style>, and with it the
    red and green of removals and additions: the policy names that style's hash, nothing
    looser."""
    event = await create_event(client, alice, title="Plan")
    await _edit(client, alice, event["id"], title="Final plan")
    response = await client.get(
        f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers | {"Accept": "text/html"}
    )
    assert response.status_code == 200
    styles = re.findall(r"<style>(.*?)</style>", response.text, re.DOTALL)
    assert len(styles) == 1 and "ins" in styles[0] and "style=" not in response.text
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["style-src"] == f"'sha256-{digest}'"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    as_json = await client.get(f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers)
    assert "style-src" not in as_json.headers["content-security-policy"]


async def test_changelog_tells_the_whole_story(client: httpx.AsyncClient, alice: Account) -> None:
    bob = await register(client, "bob")
    event = await create_event(client, alice, title="Alpha")
    await _edit(client, alice, event["id"], title="Beta")
    await share(client, alice, event["id"], bob, "viewer")
    await client.put(
        f"/api/v1/events/{event['id']}/permissions/{bob.id}",
        json={"role": "editor"},
        headers=alice.headers,
    )
    await _edit(client, bob, event["id"], location="Room 3")
    await client.delete(f"/api/v1/events/{event['id']}/permissions/{bob.id}", headers=alice.headers)
    await client.post(f"/api/v1/events/{event['id']}/rollback/1", headers=alice.headers)
    response = await client.get(f"/api/v1/events/{event['id']}/changelog", headers=alice.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["change_type"] for i in items] == [
        "created",
        "updated",
        "shared",
        "permission_changed",
        "updated",
        "unshared",
        "rolled_back",
    ]
    assert items[1]["summary"] == "title changed from “Alpha” to “Beta”"
    assert items[1]["changes"][0]["field"] == "title"
    assert items[2]["summary"] == "shared with bob as viewer"
    assert items[2]["user"] == {"id": bob.id, "username": "bob"}
    assert items[3]["summary"] == "bob is now editor (was viewer)"
    assert items[4]["changed_by"]["username"] == "bob"
    assert items[5]["summary"] == "bob removed"
    assert items[6]["rolled_back_to"] == 1
    times = [i["changed_at"] for i in items]
    assert times == sorted(times)
    # paginated, the same story with no gaps or repeats
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(
                f"/api/v1/events/{event['id']}/changelog", params=params, headers=alice.headers
            )
        ).json()
        seen += [i["change_type"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [i["change_type"] for i in items]


async def test_deleted_events_keep_their_history(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice)
    await client.delete(f"/api/v1/events/{event['id']}", headers=alice.headers)
    items = (
        await client.get(f"/api/v1/events/{event['id']}/history", headers=alice.headers)
    ).json()["items"]
    assert [i["change_type"] for i in items] == ["deleted", "created"]
    assert_problem(
        await client.post(f"/api/v1/events/{event['id']}/rollback/1", headers=alice.headers),
        404,
        "event_not_found",
    )


async def test_as_of_reads_the_past(client: httpx.AsyncClient, alice: Account) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    event = await create_event(client, alice, title="Alpha")
    await asyncio.sleep(0.01)
    middle = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await _edit(client, alice, event["id"], title="Beta")
    url = f"/api/v1/events/{event['id']}"
    past = await client.get(url, params={"as_of": middle.isoformat()}, headers=alice.headers)
    assert past.status_code == 200
    assert past.json()["title"] == "Alpha" and past.json()["version"] == 1
    now = await client.get(
        url, params={"as_of": datetime.now(UTC).isoformat()}, headers=alice.headers
    )
    assert now.json()["title"] == "Beta"
    # the event as of now is the event: the same object, ETag and media type as its read
    current = await client.get(url, headers=alice.headers)
    assert now.json() == current.json()
    assert now.headers["etag"] == current.headers["etag"]
    assert now.headers["content-type"] == current.headers["content-type"] == "application/json"
    assert_problem(
        await client.get(url, params={"as_of": before.isoformat()}, headers=alice.headers),
        404,
        "event_not_found",
    )
    assert_problem(
        await client.get(url, params={"as_of": "2026-01-01T00:00:00"}, headers=alice.headers),
        422,
        "validation_error",
    )
    await client.delete(url, headers=alice.headers)
    after_delete = await client.get(
        url, params={"as_of": datetime.now(UTC).isoformat()}, headers=alice.headers
    )
    assert_problem(after_delete, 404, "event_not_found")
    still = await client.get(url, params={"as_of": middle.isoformat()}, headers=alice.headers)
    assert still.json()["title"] == "Alpha"


async def test_if_match_guards_updates(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice)
    url = f"/api/v1/events/{event['id']}"
    ok = await client.patch(url, json={"title": "One"}, headers=alice.headers | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"title": "Two"}, headers=alice.headers | {"If-Match": '"1"'}
    )
    assert_problem(stale, 412, "precondition_failed")
    weak = await client.patch(
        url, json={"title": "Two"}, headers=alice.headers | {"If-Match": 'W/"2"'}
    )
    assert_problem(weak, 412, "precondition_failed")  # If-Match compares strongly
    assert (await client.get(url, headers=alice.headers)).json()["title"] == "One"
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2


async def test_base_version_merges_disjoint_edits(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, title="Alpha", location="Room 1")
    url = f"/api/v1/events/{event['id']}"
    await _edit(client, alice, event["id"], location="Room 2")  # someone else, since version 1
    merged = await client.patch(
        url, json={"title": "Beta", "location": "Room 1", "base_version": 1}, headers=alice.headers
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merged"] is True
    assert body["title"] == "Beta" and body["location"] == "Room 2"  # their change survives
    assert body["version"] == 3


async def test_base_version_conflict_is_409_with_each_side(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice, title="Alpha")
    url = f"/api/v1/events/{event['id']}"
    await _edit(client, alice, event["id"], title="Theirs")
    response = await client.patch(
        url, json={"title": "Yours", "base_version": 1}, headers=alice.headers
    )
    problem = assert_problem(response, 409, "edit_conflict")
    assert problem["conflicts"] == [
        {"field": "title", "base": "Alpha", "yours": "Yours", "theirs": "Theirs"}
    ]
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2
    assert_problem(
        await client.patch(url, json={"title": "x", "base_version": 99}, headers=alice.headers),
        422,
        "validation_error",
    )


async def test_a_merged_move_that_would_drop_exceptions_made_since_is_a_conflict(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """A series moved from an older version would drop the exceptions made since (they no
    longer fall on an occurrence): its sender never saw them, so it is a 409 naming them, not
    a silent loss (an outside attack). Against the current version it is a move as usual."""
    event = await create_event(
        client,
        alice,
        title="Standup",
        start_time="2027-06-01T09:00:00Z",
        end_time="2027-06-01T10:00:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=5",
    )
    url = f"/api/v1/events/{event['id']}"
    cancelled = await client.delete(f"{url}/instances/2027-06-03T09:00:00Z", headers=alice.headers)
    assert cancelled.status_code == 204, cancelled.text
    moved = {"start_time": "2027-06-01T09:30:00Z", "end_time": "2027-06-01T10:30:00Z"}
    response = await client.patch(url, json=moved | {"base_version": 1}, headers=alice.headers)
    problem = assert_problem(response, 409, "edit_conflict")
    assert problem["conflicts"] == [
        {"field": "exdates", "base": [], "yours": [], "theirs": ["2027-06-03T09:00:00Z"]}
    ]
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2
    # an edit of the other fields from version 1 still merges, keeping the exdate
    titled = await client.patch(
        url, json={"title": "Daily", "base_version": 1}, headers=alice.headers
    )
    assert titled.status_code == 200, titled.text
    assert titled.json()["merged"] is True
    assert titled.json()["exdates"] == ["2027-06-03T09:00:00Z"]


@pytest.mark.parametrize("first", ["dates", "zone"])
async def test_a_date_move_and_a_zone_change_of_an_all_day_series_merge(
    client: httpx.AsyncClient, alice: Account, first: str
) -> None:
    """One side moves an all-day series' dates, the other changes its zone (in either order):
    different fields, merged (SPEC §7). Its dates are floating, its times their midnights in
    its zone, so the merge is the new dates' midnights in the new zone; the times, which
    neither sent, are no conflict (an outside tester got a 409 on them)."""
    bob = await register(client, "bob")
    event = await created(
        client,
        alice,
        {
            "title": "Offsite",
            "all_day": True,
            "start_date": "2027-02-01",
            "end_date": "2027-02-03",
            "timezone": "Europe/Berlin",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=6",
        },
    )
    await share(client, alice, event["id"], bob, "editor")
    moved, zoned = {"start_date": "2027-02-02"}, {"timezone": "America/New_York"}
    theirs, yours = (moved, zoned) if first == "dates" else (zoned, moved)
    await _edit(client, alice, event["id"], **theirs)
    response = await client.patch(
        f"/api/v1/events/{event['id']}", json=yours | {"base_version": 1}, headers=bob.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["merged"], body["version"]) == (True, 3)
    assert (body["timezone"], body["start_date"], body["end_date"]) == (
        "America/New_York",
        "2027-02-02",
        "2027-02-04",
    )
    assert (body["start_time"], body["end_time"]) == (
        "2027-02-02T05:00:00Z",
        "2027-02-04T05:00:00Z",
    )
    # both sides moving the dates is still a conflict, on the dates alone
    response = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"start_date": "2027-02-05", "base_version": 1},
        headers=bob.headers,
    )
    problem = assert_problem(response, 409, "edit_conflict")
    assert [c["field"] for c in problem["conflicts"]] == ["start_date"]


async def test_require_if_match_makes_bare_writes_428(database_url: str, data_dir: object) -> None:
    settings = make_settings(database_url, data_dir, require_if_match=True)
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        event = await create_event(client, alice)
        url = f"/api/v1/events/{event['id']}"
        assert_problem(
            await client.patch(url, json={"title": "x"}, headers=alice.headers),
            428,
            "precondition_required",
        )
        if_match = alice.headers | {"If-Match": '"1"'}
        ok = await client.patch(url, json={"title": "x"}, headers=if_match)
        assert ok.status_code == 200
        merged = await client.patch(
            url, json={"location": "y", "base_version": 1}, headers=alice.headers
        )
        assert merged.status_code == 200


async def test_listing_as_of(client: httpx.AsyncClient, alice: Account) -> None:
    kept = await create_event(
        client,
        alice,
        title="Alpha",
        start_time="2026-05-04T09:00:00Z",
        end_time="2026-05-04T10:00:00Z",
    )
    doomed = await create_event(
        client,
        alice,
        title="Doomed",
        start_time="2026-05-05T09:00:00Z",
        end_time="2026-05-05T10:00:00Z",
    )
    await asyncio.sleep(0.01)
    then = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.01)
    await _edit(
        client,
        alice,
        kept["id"],
        title="Beta",
        start_time="2026-05-06T09:00:00Z",
        end_time="2026-05-06T10:00:00Z",
    )
    await client.delete(f"/api/v1/events/{doomed['id']}", headers=alice.headers)
    await create_event(client, alice, title="Later")
    past = (
        await client.get("/api/v1/events", params={"as_of": then}, headers=alice.headers)
    ).json()
    assert [(e["title"], e["version"]) for e in past["items"]] == [("Alpha", 1), ("Doomed", 1)]
    filtered = (
        await client.get(
            "/api/v1/events", params={"as_of": then, "q": "alp"}, headers=alice.headers
        )
    ).json()
    assert [e["title"] for e in filtered["items"]] == ["Alpha"]
    window = {"start_time": "2026-05-04T00:00:00Z", "end_time": "2026-05-05T00:00:00Z"}
    then_window = (
        await client.get("/api/v1/events", params={"as_of": then, **window}, headers=alice.headers)
    ).json()
    assert [e["title"] for e in then_window["items"]] == ["Alpha"]
    now_window = (await client.get("/api/v1/events", params=window, headers=alice.headers)).json()
    assert now_window["items"] == []  # it has moved since


async def test_the_html_diff_page_shows_the_title_as_it_is_now_so_is_revalidated(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The page names the event by its current title: it was sent `immutable` (a browser kept
    the old title for a year); it is `no-cache`, and its ETag follows the title."""
    event = await create_event(client, alice, title="Plan")
    await _edit(client, alice, event["id"], title="Final plan")
    page = f"/api/v1/events/{event['id']}/diff/1/2"
    html = alice.headers | {"Accept": "text/html"}
    first = await client.get(page, headers=html)
    assert first.status_code == 200 and "immutable" not in first.headers["cache-control"]
    assert "no-cache" in first.headers["cache-control"]
    await _edit(client, alice, event["id"], title="Renamed")
    again = await client.get(page, headers=html | {"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and "Renamed" in again.text
