"""vdirsyncer (PyPI) syncing a local folder two ways with a real server process: discovery
from the server URL, a change made on each side reaching the other, and the local edit in
the API's history as a new version by the user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.caldav.live import caldav_server, person

pytestmark = pytest.mark.slow

VDIRSYNCER = Path(sys.executable).with_name("vdirsyncer")

LOCAL_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Local//EN
BEGIN:VEVENT
UID:local-1@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260312T140000Z
DTEND:20260312T150000Z
SUMMARY:Made in the folder
END:VEVENT
END:VCALENDAR
"""


def _config(tmp: Path, base: str, password: str) -> Path:
    config = tmp / "config"
    config.write_text(
        f"""[general]
status_path = "{tmp}/status/"

[pair calendar]
a = "folder"
b = "server"
collections = ["from b"]
conflict_resolution = "b wins"

[storage folder]
type = "filesystem"
path = "{tmp}/calendars/"
fileext = ".ics"

[storage server]
type = "caldav"
url = "{base}/"
username = "alice"
password = "{password}"
"""
    )
    return config


def _run(config: Path, *args: str) -> str:
    result = subprocess.run(
        [str(VDIRSYNCER), "-c", str(config), *args],
        input="y\n" * 4,  # `discover` asks before creating the local folder
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_two_way_sync_with_a_local_folder(
    database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice = person(base, "alice")
        api = httpx.Client(base_url=f"{base}/api/v1", headers=alice.headers, timeout=30)
        made = api.post(
            "/events",
            json={
                "title": "Made in the API",
                "start_time": "2026-03-10T09:00:00Z",
                "end_time": "2026-03-10T10:00:00Z",
                "timezone": "Europe/Berlin",
            },
        ).json()
        config = _config(tmp_path, base, alice.password)
        _run(config, "discover")
        _run(config, "sync")
        [folder] = [p for p in (tmp_path / "calendars").iterdir() if p.is_dir()]
        [pulled] = list(folder.glob("*.ics"))
        assert "SUMMARY:Made in the API" in pulled.read_text()

        # the folder's side: a new event, and an edit of the server's
        (folder / "local-1.ics").write_text(LOCAL_EVENT.replace("\n", "\r\n"))
        pulled.write_text(pulled.read_text().replace("Made in the API", "Edited in the folder"))
        _run(config, "sync")
        edited = api.get(f"/events/{made['id']}").json()
        assert edited["title"] == "Edited in the folder" and edited["version"] == 2
        history = api.get(f"/events/{made['id']}/history").json()["items"]
        assert (history[0]["version"], history[0]["changed_by"]["username"]) == (2, "alice")
        titles = sorted(e["title"] for e in api.get("/events").json()["items"])
        assert titles == ["Edited in the folder", "Made in the folder"]

        # the server's side: an edit through the API, and a deletion
        api.patch(f"/events/{made['id']}", json={"title": "Edited in the API"})
        local = next(
            e for e in api.get("/events").json()["items"] if e["title"] == "Made in the folder"
        )
        assert api.delete(f"/events/{local['id']}").status_code == 204
        _run(config, "sync")
        texts = [p.read_text() for p in folder.glob("*.ics")]
        assert len(texts) == 1 and "SUMMARY:Edited in the API" in texts[0]
        api.close()
