"""CalDAV for a user holding 2,000 events (20% recurring), through the real app, one client:
a calendar-query for one month (ETags only, as clients list; and with calendar-data, as the
`caldav` library's search asks), a sync-collection after 10 changes (issue #21: p95 at
most 50 ms), and the PUT of a new resource as DAVx5 writes one, with the number of full
garbage collections during each scenario's timed requests. Run with `python -m bench caldav`."""

from __future__ import annotations

import base64
import gc
import os
import random
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench import inprocess
from bench.window_listing import EVENTS, RECURRING_SHARE, _event

REQUESTS = 100
SYNC_ROUNDS = 30
CHANGES = 10

MONTH_QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/>{data}</d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20260601T000000Z" end="20260701T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""

SYNC = """<?xml version="1.0"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>
<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"""


# A weekly series as DAVx5 writes it: its zone's VTIMEZONE, an EXDATE, an alarm, its own
# X- property (each PUT a new resource: {n}).
PUT_BODY = """BEGIN:VCALENDAR
PRODID:+//IDN bitfire.at//DAVx5/4.3 ical4j/3.2
VERSION:2.0
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19810329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19961027T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:bench-put-{n}@davx5
DTSTAMP:20260601T080000Z
CREATED:20260601T080000Z
LAST-MODIFIED:20260601T080000Z
SEQUENCE:0
SUMMARY:Standup {n}
LOCATION:Room 4
DESCRIPTION:Daily-ish standup\\, bring notes
DTSTART;TZID=Europe/Berlin:20260602T0930{m:02d}
DTEND;TZID=Europe/Berlin:20260602T0945{m:02d}
RRULE:FREQ=WEEKLY;BYDAY=TU,TH
EXDATE;TZID=Europe/Berlin:20260609T0930{m:02d}
X-MOZ-GENERATION:1
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Standup
TRIGGER:-PT10M
END:VALARM
END:VEVENT
END:VCALENDAR
"""

Timings = tuple[list[float], list[float]]  # wall clock, and this process's CPU


class FullCollections:
    """How many full (generation 2) collections the garbage collector ran: each costs ~8 ms
    of CPU here, so their share of the requests decides much of the p95 (BENCHMARKS.md)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.count += 1

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _timed(
    call: Callable[[], Awaitable[httpx.Response]], n: int, status: int = 207
) -> tuple[Timings, httpx.Response]:
    times: list[float] = []
    cpu: list[float] = []
    response = None
    for _ in range(n):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = await call()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert response.status_code == status, response.text
    assert response is not None
    return (times, cpu), response


def _summary(timings: Timings, count: int, full_gcs: int) -> dict[str, float]:
    """Wall-clock quantiles, and CPU ones: on a shared machine the CPU a request used is the
    figure other processes do not inflate (the wall clock waits for them)."""
    times, cpu = timings
    q, c = statistics.quantiles(times, n=100), statistics.quantiles(cpu, n=100)
    return {
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "cpu_p95_ms": c[94] * 1000,
        "items": count,
        "full_gcs": full_gcs,
    }


def _token(body: bytes) -> str:
    found = re.search(rb"<d:sync-token>([^<]+)</d:sync-token>", body)
    assert found is not None
    return found.group(1).decode()


async def measure(url: str, data_dir: Path) -> dict[str, dict[str, float]]:
    await inprocess.fresh_database(url)
    rng = random.Random(7)
    results: dict[str, dict[str, float]] = {}
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        created = await inprocess.create_all(
            client, headers, [_event(rng, i) for i in range(EVENTS)]
        )
        ids = [e["id"] for e in created][-CHANGES * SYNC_ROUNDS :]
        secret = (
            await client.post("/api/v1/app-passwords", json={"name": "bench"}, headers=headers)
        ).json()["password"]
        dav = {
            "Authorization": "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode(),
            "Depth": "1",
            "Content-Type": "application/xml",
        }
        calendar = "/dav/calendars/bench/events/"
        for name, data in (
            ("month, ETags", ""),
            ("month, calendar-data", "<c:calendar-data/>"),
        ):
            body = MONTH_QUERY.format(data=data)
            with FullCollections() as full:
                times, last = await _timed(
                    lambda body=body: client.request("REPORT", calendar, content=body, headers=dav),
                    REQUESTS,
                )
            results[f"calendar-query, {name}"] = _summary(
                times, last.content.count(b"<d:response>"), full.count
            )
        first = await client.request("REPORT", calendar, content=SYNC.format(token=""), headers=dav)
        token = _token(first.content)
        sync_times: list[float] = []
        sync_cpu: list[float] = []
        count = 0
        full_gcs = 0
        for round_ in range(SYNC_ROUNDS):
            for event_id in ids[round_ * CHANGES : (round_ + 1) * CHANGES]:
                changed = await client.patch(
                    f"/api/v1/events/{event_id}",
                    json={"title": f"changed {round_}"},
                    headers=headers,
                )
                assert changed.status_code == 200, changed.text
            began, began_cpu = time.perf_counter(), time.process_time()
            with FullCollections() as full:
                delta = await client.request(
                    "REPORT", calendar, content=SYNC.format(token=token), headers=dav
                )
            full_gcs += full.count
            sync_times.append(time.perf_counter() - began)
            sync_cpu.append(time.process_time() - began_cpu)
            assert delta.status_code == 207, delta.text
            token = _token(delta.content)
            count = delta.content.count(b"<d:response>")
        results[f"sync-collection after {CHANGES} changes"] = _summary(
            (sync_times, sync_cpu), count, full_gcs
        )
        written = iter(range(REQUESTS))

        def put() -> Awaitable[httpx.Response]:
            n = next(written)
            body = PUT_BODY.format(n=n, m=n % 60).replace("\n", "\r\n")
            headers = dav | {"Content-Type": "text/calendar"}
            return client.put(f"{calendar}bench-put-{n}.ics", content=body, headers=headers)

        with FullCollections() as full:
            times, last = await _timed(put, REQUESTS, status=201)
        results["PUT of a new weekly series (DAVx5's text)"] = _summary(times, 1, full.count)
    await inprocess.reset(url)
    return results


def run() -> list[str]:
    lines = [
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        "",
        f"| CalDAV, {EVENTS} events ({RECURRING_SHARE:.0%} recurring), one client, in-process "
        "| database | p50 ms | p95 ms | CPU p95 ms | responses | full GCs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, results in inprocess.on_each_database(measure):
        if results is None:
            lines.append("| (all) | PostgreSQL: set BENCH_DATABASE_URL | | | | | |")
            continue
        for scenario, result in results.items():
            lines.append(
                f"| {scenario} | {name} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
                f"| {result['cpu_p95_ms']:.1f} | {result['items']:.0f} | {result['full_gcs']:.0f} |"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
