"""caldav-server-tester (PyPI), the conformance probe of the `caldav` library's authors, run
against a real server process; its verdicts are checked against the committed expected outcome
(server_tester_expected.json). README.md#caldav-conformance says why each check that is not
"full" is not, and which of them are the tool's own limits.

One check is left out: CheckDuplicateEvent fails an assertion inside the tool when its fixture
is missing, which it is here, because the tool's fixture preparation stops at creating a task
list (this server stores VEVENTs only and makes no calendars: MKCALENDAR is a 403, SPEC §15).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.caldav.live import caldav_server, person

pytestmark = pytest.mark.slow

TESTER = Path(sys.executable).with_name("caldav-server-tester")
EXPECTED = Path(__file__).with_name("server_tester_expected.json")
SKIPPED_CHECKS = {"CheckDuplicateEvent"}


def _checks() -> list[str]:
    listed = subprocess.run(
        [str(TESTER), "--list-checks"], capture_output=True, text=True, check=True, timeout=60
    )
    return [name for name in listed.stdout.split() if name not in SKIPPED_CHECKS]


def _verdicts(output: str) -> dict[str, str]:
    report = json.loads(output[output.index("{") :])
    return {name: value["support"] for name, value in sorted(report["features"].items())}


def test_conformance_matches_the_expected_outcome(database_url: str, data_dir: Path) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice = person(base, "alice")
        argv = [str(TESTER), "--caldav-url", f"{base}/", "--caldav-username", "alice"]
        argv += ["--caldav-password", alice.password, "--caldav-calendar", "Neo Events"]
        argv += ["--format", "json"]
        for check in _checks():
            argv += ["--run-checks", check]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    verdicts = _verdicts(result.stdout)
    expected = json.loads(EXPECTED.read_text())
    assert verdicts == expected, {
        name: (expected.get(name), verdicts.get(name))
        for name in sorted(set(expected) | set(verdicts))
        if expected.get(name) != verdicts.get(name)
    }
