"""How an import reads a file: its bytes as text, its texts, and its calendar's own properties
(findings of an outside attack; each test says what went wrong)."""

from __future__ import annotations

import codecs

import httpx
import pytest

from tests.api.test_ical_import import API, ics, post, vevent
from tests.helpers import Account

pytestmark = pytest.mark.anyio


async def test_only_the_lines_that_are_not_utf8_are_read_as_windows_1252(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """One stray Windows-1252 byte used to make the whole file Windows-1252, garbling every
    correct UTF-8 character (`MÃ¼nchen`): each line is decoded on its own now."""
    events = [
        vevent(f"u{i}", f"SUMMARY:München {i}", "DTSTART:20260701T100000Z", "DURATION:PT1H")
        for i in range(3)
    ]
    body = ics(*events).replace(b"SUMMARY:M\xc3\xbcnchen 1", "SUMMARY:Café".encode("cp1252"))
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["München 0", "Café", "München 2"]
    line = body.split(b"\r\n").index(b"SUMMARY:Caf\xe9") + 1
    assert [w["message"] for w in response.json()["warnings"]] == [
        f"the file is not all UTF-8: line {line} read as Windows-1252"
    ]
    # many such lines: the first five are named, the others counted
    many = [
        vevent(f"w{i}", "SUMMARY:Caf\xe9", "DTSTART:20260701T100000Z", "DURATION:PT1H")
        for i in range(8)
    ]
    response = await post(client, alice, ics(*many).decode().encode("cp1252"))
    (warning,) = response.json()["warnings"]
    assert warning["message"] == (
        "the file is not all UTF-8: lines 6, 12, 18, 24, 30 and 3 more read as Windows-1252"
    )
    assert {i["title"] for i in response.json()["items"]} == {"Café"}


async def test_a_utf16_file_with_a_byte_order_mark_is_read(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """It was a 422 `expected BEGIN:VCALENDAR`, which misled: Windows tools write UTF-16."""
    text = ics(
        vevent("u1", "SUMMARY:Grüße 🎉", "DTSTART:20260701T100000Z", "DURATION:PT1H")
    ).decode()
    for mark, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        response = await post(client, alice, mark + text.encode(encoding))
        assert response.status_code == 201, response.text
        assert [i["title"] for i in response.json()["items"]] == ["Grüße 🎉"]
        assert response.json()["warnings"] == []
        upload = await client.post(
            f"{API}/events/import",
            files={"file": ("cal.ics", mark + text.encode(encoding), "text/calendar")},
            headers=alice.headers,
        )
        assert [i["title"] for i in upload.json()["items"]] == ["Grüße 🎉"], upload.text


async def test_export_then_import_keeps_a_description_as_the_api_shows_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The API keeps a description's leading and trailing blanks (it trims only a title and a
    location); the import trimmed every text, so our own export did not read back."""
    texts = {"title": "  Planning ", "description": "  indented\n\ttab \n", "location": " Room 4 "}
    created = await client.post(
        f"{API}/events",
        json=texts | {"start_time": "2026-12-01T10:00:00Z", "end_time": "2026-12-01T11:00:00Z"},
        headers=alice.headers,
    )
    assert created.status_code == 201, created.text
    shown = {k: created.json()[k] for k in texts}
    assert shown == {
        "title": "Planning",
        "description": "  indented\n\ttab \n",
        "location": "Room 4",
    }
    exported = await client.get(f"{API}/events/{created.json()['id']}.ics", headers=alice.headers)
    response = await post(client, alice, exported.content)
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert {k: item[k] for k in texts} == shown
    # a file's own blanks: the title and the location trimmed, the description kept
    written = vevent(
        "d1", "SUMMARY: Spaced ", "DESCRIPTION: two\\n lines ", "LOCATION:\tThere ",
        "DTSTART:20260701T100000Z",
    )  # fmt: skip
    (item,) = (await post(client, alice, ics(written))).json()["items"]
    assert (item["title"], item["description"], item["location"]) == (
        "Spaced", " two\n lines ", "There",
    )  # fmt: skip
