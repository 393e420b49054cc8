"""Word diffs stay cheap whatever the text: worst-case inputs at the fields' maximum lengths."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.helpers import create_event, register

pytestmark = pytest.mark.anyio

# Each pair made SequenceMatcher cubic: repeated tokens that match everywhere. At these
# lengths (the schema's maxima: title 200, location 500, description 10,000 characters)
# the old diff took minutes; now one request stays well under a second of CPU.
WORST = {
    "one word repeated": lambda n: ("a " * (n // 2), "b " * (n // 2)),
    "a repeated word anchors": lambda n: ("a b " * (n // 4), "a c " * (n // 4)),
    "punctuation run": lambda n: ("!" * n, "?" + "!" * (n - 2) + "?"),
    "alternating punctuation": lambda n: ("!." * (n // 2), "?." * (n // 2)),
    "CJK ideographs": lambda n: ("会議" * (n // 2), "議会" * (n // 2)),
    "repeated lines": lambda n: ("Room 1\n" * (n // 7), "Room 2\n" * (n // 7)),
}
LIMITS = {"title": 200, "location": 500, "description": 10_000}


def _strip(field: str, text: str) -> str:
    # Title and location are stored stripped; a trailing space or newline would be dropped.
    return text if field == "description" else text.strip()


@pytest.mark.parametrize("shape", list(WORST))
async def test_diff_history_and_changelog_of_worst_texts_are_fast(
    client: httpx.AsyncClient, shape: str
) -> None:
    alice = await register(client, "alice")
    before = {f: _strip(f, WORST[shape](n)[0]) for f, n in LIMITS.items()}
    after = {f: _strip(f, WORST[shape](n)[1]) for f, n in LIMITS.items()}
    event = await create_event(client, alice, **before)
    response = await client.patch(
        f"/api/v1/events/{event['id']}", json=after, headers=alice.headers
    )
    assert response.status_code == 200, response.text

    for path in ("diff/1/2", "history", "changelog"):
        started = time.process_time()
        response = await client.get(f"/api/v1/events/{event['id']}/{path}", headers=alice.headers)
        spent = time.process_time() - started
        assert response.status_code == 200, response.text
        assert spent < 1.0, f"{path} of {shape!r} took {spent:.2f} s of CPU"

    diff = (
        await client.get(f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers)
    ).json()
    changes = {c["field"]: c for c in diff["changes"]}
    for field in LIMITS:
        ops = changes[field]["diff"]
        assert "".join(o["text"] for o in ops if o["op"] != "insert") == before[field]
        assert "".join(o["text"] for o in ops if o["op"] != "delete") == after[field]
