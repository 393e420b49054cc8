"""Word diffs stay cheap whatever the text: worst-case inputs at the fields' maximum lengths."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from tests.helpers import cpu_bound, create_event, register
from tests.timing import budget

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
        assert spent < budget(1.0), f"{path} of {shape!r} took {spent:.2f} s of CPU"

    diff = (
        await client.get(f"/api/v1/events/{event['id']}/diff/1/2", headers=alice.headers)
    ).json()
    changes = {c["field"]: c for c in diff["changes"]}
    for field in LIMITS:
        ops = changes[field]["diff"]
        assert "".join(o["text"] for o in ops if o["op"] != "insert") == before[field]
        assert "".join(o["text"] for o in ops if o["op"] != "delete") == after[field]


# History and changelog pages summarise many versions at once (up to 500): each version of
# a long text must cost no word diff, or 300 versions of a 10,000-character description took
# ~8 s of CPU per page (~25 ms per version).
VERSIONS = 120


async def test_history_and_changelog_of_many_long_versions_are_cheap(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    words = random.Random(3)
    texts = [
        " ".join(words.choice("abcdefgh") for _ in range(LIMITS["description"] // 2 - 1))
        for _ in range(VERSIONS)
    ]
    event = await create_event(client, alice, title="Long", description=texts[0])
    for text in texts[1:]:
        response = await client.patch(
            f"/api/v1/events/{event['id']}", json={"description": text}, headers=alice.headers
        )
        assert response.status_code == 200, response.text

    with cpu_bound(1.0):
        history = await client.get(
            f"/api/v1/events/{event['id']}/history?limit=500", headers=alice.headers
        )
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [i["version"] for i in items] == list(range(VERSIONS, 0, -1))
    assert items[0]["summary"].startswith("description changed from “")

    with cpu_bound(1.0):
        changelog = await client.get(
            f"/api/v1/events/{event['id']}/changelog?limit=500", headers=alice.headers
        )
    assert changelog.status_code == 200, changelog.text
    entries = changelog.json()["items"]
    assert [e["version"] for e in entries] == list(range(1, VERSIONS + 1))
    for before, after, entry in zip(texts[:-1], texts[1:], entries[1:], strict=True):
        (change,) = entry["changes"]
        assert (change["field"], change["old"], change["new"]) == ("description", before, after)
