"""Schemathesis against the app's own OpenAPI document, over real HTTP, as a signed-in user.

Every operation, generated and stateful cases (with explicit links: create → get → update →
diff, rollback, share…): no response may be a 5xx or break the documented schema. Bounded
here (FUZZ_EXAMPLES, default 15 per operation); `make fuzz` runs it longer. A failure it
finds becomes a regular regression test before it is fixed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import truncate_all
from tests.helpers import PASSWORD
from tests.live import running_server

pytestmark = pytest.mark.slow  # a server and Schemathesis, 90 s or more a database

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "15")
# Streams never end on their own; logout would revoke the fuzzer's own token mid-run.
EXCLUDED = [
    "--exclude-path-regex",
    r"/(ws|notifications/stream)$",
    "--exclude-path",
    "/api/v1/auth/logout",
]


EVENT = "/api/v1/events/{event_id}"
# Stateful links (OpenAPI 3.1 `links`), added to the served document before the run: a created
# event is read, updated, diffed, rolled back, shared…; an update is diffed against version 1.
# Schemathesis also infers links from Location headers; these reach the rest of the event tree.
CREATED_EVENT_LINKS = {
    ("get", EVENT): {"event_id": "$response.body#/id"},
    ("patch", EVENT): {"event_id": "$response.body#/id"},
    ("put", EVENT): {"event_id": "$response.body#/id"},
    ("delete", EVENT): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/history"): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/changelog"): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/instances"): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/conflicts"): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/permissions"): {"event_id": "$response.body#/id"},
    ("post", f"{EVENT}/share"): {"event_id": "$response.body#/id"},
    ("post", f"{EVENT}/attendees"): {"event_id": "$response.body#/id"},
    ("put", f"{EVENT}/rsvp"): {"event_id": "$response.body#/id"},
    ("get", f"{EVENT}/history/{{version}}"): {
        "event_id": "$response.body#/id",
        "version": "$response.body#/version",
    },
    ("post", f"{EVENT}/rollback/{{version}}"): {
        "event_id": "$response.body#/id",
        "version": "$response.body#/version",
    },
}
UPDATED_EVENT_LINKS = {
    ("get", f"{EVENT}/diff/{{v1}}/{{v2}}"): {
        "event_id": "$response.body#/id",
        "v1": 1,
        "v2": "$response.body#/version",
    },
    ("post", f"{EVENT}/rollback/{{version}}"): {"event_id": "$response.body#/id", "version": 1},
    ("get", f"{EVENT}/history/{{version}}"): {
        "event_id": "$response.body#/id",
        "version": "$response.body#/version",
    },
}


def _links(targets: dict[tuple[str, str], dict[str, object]]) -> dict[str, object]:
    def ref(method: str, path: str) -> str:
        return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method

    return {
        f"{method}{path}".replace("/", "_").replace("{", "").replace("}", ""): {
            "operationRef": ref(method, path),
            "parameters": parameters,
        }
        for (method, path), parameters in targets.items()
    }


def schema_with_links(document: dict[str, Any]) -> dict[str, Any]:
    """The served OpenAPI document plus the links above."""
    paths = document["paths"]
    for method, path, status, links in [
        ("post", "/api/v1/events", "201", CREATED_EVENT_LINKS),
        ("patch", EVENT, "200", UPDATED_EVENT_LINKS),
        ("put", EVENT, "200", UPDATED_EVENT_LINKS),
    ]:
        response = paths[path][method]["responses"].setdefault(status, {"description": "OK"})
        response.setdefault("links", {}).update(_links(links))
    return document


def test_no_server_errors_and_no_schema_violations(database_url: str, tmp_path: Path) -> None:
    try:
        with running_server(database_url=database_url, data_dir=tmp_path) as base:
            user = httpx.post(
                f"{base}/api/v1/auth/register",
                json={"username": "fuzzer", "email": "fuzzer@example.com", "password": PASSWORD},
                timeout=30,
            ).json()
            token = user["access_token"]
            httpx.post(
                f"{base}/api/v1/events",
                json={
                    "title": "Seed",
                    "start_time": "2026-03-16T09:00:00+01:00",
                    "end_time": "2026-03-16T10:00:00+01:00",
                    "timezone": "Europe/Berlin",
                    "is_recurring": True,
                    "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).raise_for_status()
            schema = tmp_path / "openapi.json"
            served = httpx.get(f"{base}/openapi.json", timeout=30).json()
            schema.write_text(json.dumps(schema_with_links(served)))
            result = subprocess.run(
                [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "run",
                    str(schema),
                    "--url",
                    base,
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error,response_schema_conformance",
                    "--max-examples",
                    EXAMPLES,
                    "--seed",
                    os.environ.get("FUZZ_SEED", "20261124"),
                    *EXCLUDED,
                ],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
                cwd=tmp_path,
            )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        asyncio.run(truncate_all(database_url))
