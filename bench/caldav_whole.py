"""Whole-calendar CalDAV reads (issue #16): one user holding 4,500 events (singles, weekly
series, every tenth with an exdate and a moved occurrence), through the real app, one client.
Each read once cold (the worker's rendered texts dropped; the zones' tables built already)
and once warm: a sync-collection from scratch and a calendar-query without a time range, with
ETags only and with calendar-data, a calendar-query over three centuries, a 1,000-href
multiget and a PROPFIND Depth 1; the CPU of this process and the wall clock of each. Run with
`python -m bench caldav-whole`."""

from __future__ import annotations

import base64
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import inprocess

EVENTS = 4_500
HREFS = 1_000
DATA = "<c:calendar-data/>"
SYNC = """<?xml version="1.0"?>
<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/>{data}</d:prop>
</d:sync-collection>"""
QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/>{data}</d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT">{window}</c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
CENTURIES = '<c:time-range start="19000101T000000Z" end="22000101T000000Z"/>'
MULTIGET = """<?xml version="1.0"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/>{data}</d:prop>{hrefs}</c:calendar-multiget>"""
PROPFIND = """<?xml version="1.0"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>"""


def mixed_event(index: int) -> dict[str, Any]:
    """The calendar's event `index`: singles, weekly series and every tenth a series with an
    exdate and a moved occurrence, in three zones, spread over three years (also the
    calendar of tests/caldav/test_whole_calendar.py)."""
    start = datetime(2025, 1, 6, 9, tzinfo=UTC) + timedelta(days=index % 1000, hours=index % 9)
    body: dict[str, Any] = {
        "title": f"Event {index}",
        "description": "notes",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "timezone": ("Europe/Berlin", "America/New_York", "UTC")[index % 3],
    }
    if index % 5 == 0:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;COUNT=52"}
    if index % 10 == 0:
        moved = start + timedelta(weeks=3)
        body |= {
            "timezone": "UTC",
            "exdates": [(start + timedelta(weeks=2)).isoformat()],
            "overrides": [
                {
                    "recurrence_id": moved.isoformat(),
                    "title": "moved",
                    "start_time": (moved + timedelta(hours=1)).isoformat(),
                    "end_time": (moved + timedelta(hours=2)).isoformat(),
                }
            ],
        }
    return body


async def measure(url: str, data_dir: Path) -> list[tuple[str, str, float, float, int, bool]]:
    """(read, cold|warm, CPU ms, wall ms, responses, ended with a 507) of each read."""
    await inprocess.fresh_database(url)
    rows = []
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        created = await inprocess.create_all(
            client, headers, [mixed_event(i) for i in range(EVENTS)]
        )
        secret = (
            await client.post("/api/v1/app-passwords", json={"name": "bench"}, headers=headers)
        ).json()["password"]
        dav = {
            "Authorization": "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode(),
            "Depth": "1",
            "Content-Type": "application/xml",
        }
        calendar = "/dav/calendars/bench/events/"
        hrefs = "".join(f"<d:href>{calendar}event-{e['id']}.ics</d:href>" for e in created[-HREFS:])
        reads = [
            ("sync-collection from scratch, ETags", "REPORT", SYNC.format(token="", data="")),
            (
                "sync-collection from scratch, calendar-data",
                "REPORT",
                SYNC.format(token="", data=DATA),
            ),
            ("calendar-query, no time range, ETags", "REPORT", QUERY.format(data="", window="")),
            (
                "calendar-query, 1900-2200, ETags",
                "REPORT",
                QUERY.format(data="", window=CENTURIES),
            ),
            (
                "calendar-query, no time range, calendar-data",
                "REPORT",
                QUERY.format(data=DATA, window=""),
            ),
            (
                f"multiget of {HREFS:,} hrefs, calendar-data",
                "REPORT",
                MULTIGET.format(data=DATA, hrefs=hrefs),
            ),  # fmt: skip
            ("PROPFIND Depth 1, getetag + getcontenttype", "PROPFIND", PROPFIND),
        ]
        state = client._transport.app.state  # type: ignore[attr-defined]
        # the zones' tables (ical/vtimezones.py, once per worker) are built before the timings
        await client.request(
            "REPORT", calendar, content=SYNC.format(token="", data=DATA), headers=dav
        )
        for name, method, body in reads:
            if hasattr(state, "caldav_caches"):
                del state.caldav_caches  # cold: no rendered text
            for label in ("cold", "warm"):
                began, began_cpu = time.perf_counter(), time.process_time()
                response = await client.request(method, calendar, content=body, headers=dav)
                wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
                assert response.status_code == 207, response.text
                rows.append(
                    (
                        name,
                        label,
                        cpu * 1000,
                        wall * 1000,
                        response.content.count(b"<d:response>"),
                        b"507 Insufficient Storage" in response.content,
                    )
                )
    await inprocess.reset(url)
    return rows


def run() -> list[str]:
    lines = [
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        "",
        f"| CalDAV whole-calendar read, {EVENTS:,} events, in-process | database | cache "
        "| CPU ms | wall ms | responses | 507 |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for name, rows in inprocess.on_each_database(measure):
        if rows is None:
            lines.append("| (all) | PostgreSQL: set BENCH_DATABASE_URL | | | | | |")
            continue
        for read, label, cpu, wall, count, cut in rows:
            lines.append(
                f"| {read} | {name} | {label} | {cpu:.0f} | {wall:.0f} | {count} "
                f"| {'yes' if cut else ''} |"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
