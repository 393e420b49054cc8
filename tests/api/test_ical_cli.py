"""`neo-events import FILE.ics --user NAME`, run as a user would: the same import as the API,
one transaction, a progress bar on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from neo_events.main import create_app
from tests.conftest import make_settings
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # `neo-events import` run as processes

SAMPLES = Path(__file__).parents[1] / "fixtures" / "ics"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neo_events.cli", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_import_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}"
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "ARGON2_MEMORY_KIB": "1024"}
    assert _cli("migrate", env=env).returncode == 0
    app = create_app(make_settings(url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            registered = await client.post(
                "/api/v1/auth/register",
                json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
            )
            headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}

            large = _cli(
                "import", str(SAMPLES / "apple-ical2-large-370-events.ics"), "--user", "alice",
                env=env,
            )  # fmt: skip
            assert large.returncode == 0, large.stderr
            assert large.stdout.startswith("imported 370 events for alice (0 skipped, 0 warnings)")
            assert "importing [" in large.stderr and "] 370/370 events\n" in large.stderr

            todos = _cli(
                "import", str(SAMPLES / "thunderbird-events-with-todos.ics"),
                "--user", "ALICE@example.com", env=env,
            )  # fmt: skip
            assert todos.returncode == 0, todos.stderr
            assert "imported 1 events for alice (3 skipped" in todos.stdout
            assert "VTODO is not an event" in todos.stdout

            bad = _cli(
                "import", str(SAMPLES / "bad-outlook2003-freebusy-invalid-dates.ics"),
                "--user", "alice", env=env,
            )  # fmt: skip
            assert bad.returncode == 1
            assert "The calendar cannot be read: the VFREEBUSY of line 4" in bad.stderr
            for refused in (
                _cli("import", str(SAMPLES / "nextcloud-allday-yearly-alarms.ics"),
                     "--user", "nobody", env=env),
                _cli("import", str(tmp_path / "missing.ics"), "--user", "alice", env=env),
            ):  # fmt: skip
                assert refused.returncode == 2 and refused.stderr.startswith("neo-events: ")

            listed = await client.get("/api/v1/events", params={"limit": 500}, headers=headers)
            assert len(listed.json()["items"]) == 371
            audit = await client.get(
                "/api/v1/audit", params={"action": "event.imported"}, headers=headers
            )
            assert [e["details"]["count"] for e in audit.json()["items"]] == [1, 370]
            assert audit.json()["items"][0]["user_agent"] == "neo-events import"

            alarms = _cli(
                "import", str(SAMPLES / "outlook2003-custom-vtimezone-daily-weekdays.ics"),
                "--user", "alice", env=env,
            )  # fmt: skip
            assert alarms.returncode == 0, alarms.stderr
            listed = await client.get("/api/v1/events", params={"limit": 500}, headers=headers)
            [imported] = [e for e in listed.json()["items"] if e["title"] == "Standup"]
            assert imported["my_reminders"] == [{"minutes_before": 5}]  # its VALARM
