"""Schemathesis against the app's own OpenAPI document, over real HTTP, as a signed-in user.

Every operation, generated and stateful cases: no response may be a 5xx or break the
documented schema. Bounded here (FUZZ_EXAMPLES, default 15 per operation); `make fuzz` runs
it longer. A failure it finds becomes a regular regression test before it is fixed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import truncate_all
from tests.helpers import PASSWORD
from tests.live import running_server

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "15")
# Streams never end on their own; logout would revoke the fuzzer's own token mid-run.
EXCLUDED = [
    "--exclude-path-regex",
    r"/(ws|notifications/stream)$",
    "--exclude-path",
    "/api/v1/auth/logout",
]


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
            result = subprocess.run(
                [
                    str(Path(sys.executable).with_name("schemathesis")),
                    "run",
                    f"{base}/openapi.json",
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
