"""A CalDAV collection of `listing.MAX_LISTED` (10,000) events listed with the properties
clients ask for (caldav/item_props.py): CPU of the process (client included) and the longest
stretch the event loop's thread held it, the least of three runs each. In process, through
the whole ASGI stack, on a fresh SQLite database (then PostgreSQL, `BENCH_DATABASE_URL`'s
database, its schema emptied, when set):

    PYTHONPATH=. .venv/bin/python -m bench.caldav_props
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import httpx

from bench.inprocess import app_client, create_all, fresh_database, register, table
from neo_events.caldav import listing

NS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"'
TWENTY = """<d:getetag/><d:getcontenttype/><d:resourcetype/><d:displayname/><d:getlastmodified/>
<d:getcontentlength/><d:current-user-privilege-set/><d:owner/><d:current-user-principal/>
<d:sync-token/><cs:getctag/><c:supported-calendar-component-set/><c:supported-calendar-data/>
<d:supported-report-set/><c:max-resource-size/><c:calendar-timezone/><d:principal-URL/>
<c:calendar-home-set/><c:calendar-user-address-set/><d:principal-collection-set/>"""
COLLECTION = "/dav/calendars/lister/events/"
ASKED = {
    "PROPFIND getetag": (
        "PROPFIND",
        f"<d:propfind {NS}><d:prop><d:getetag/></d:prop></d:propfind>",
    ),
    "PROPFIND Thunderbird's three": (
        "PROPFIND",
        f"<d:propfind {NS}><d:prop><d:getcontenttype/><d:resourcetype/><d:getetag/>"
        "</d:prop></d:propfind>",
    ),
    "PROPFIND twenty": ("PROPFIND", f"<d:propfind {NS}><d:prop>{TWENTY}</d:prop></d:propfind>"),
    "PROPFIND allprop": ("PROPFIND", '<d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'),
    "calendar-query, twenty, no time range": (
        "REPORT",
        f"<c:calendar-query {NS}><d:prop>{TWENTY}</d:prop><c:filter><c:comp-filter "
        'name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>'
        "</c:calendar-query>",
    ),
}


async def _measure(url: str, data_dir: Path) -> list[str]:
    await fresh_database(url)
    async with app_client(url, data_dir) as client:
        bearer = await register(client, "lister")
        made = await client.post("/api/v1/app-passwords", json={"name": "b"}, headers=bearer)
        secret = made.json()["password"]
        basic = {"Authorization": "Basic " + base64.b64encode(f"lister:{secret}".encode()).decode()}
        bodies = [
            {"title": f"e{i} <&>", "start_time": f"2027-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
             "end_time": f"2027-01-{1 + i % 28:02d}T{i % 24:02d}:30:00Z"}
            for i in range(listing.MAX_LISTED)
        ]  # fmt: skip
        await create_all(client, bearer, bodies)
        return await _listed(client, basic)


async def _listed(client: httpx.AsyncClient, basic: dict[str, str]) -> list[str]:
    rows = []
    for label, (method, body) in ASKED.items():
        spent, held, size = [], [], 0
        for _ in range(3):
            worst = [0.0]
            stop = asyncio.Event()

            async def watch(worst: list[float] = worst, stop: asyncio.Event = stop) -> None:
                while not stop.is_set():
                    began = time.thread_time()
                    await asyncio.sleep(0.005)
                    worst[0] = max(worst[0], time.thread_time() - began)

            watcher = asyncio.create_task(watch())
            began = time.process_time()
            answer = await client.request(
                method, COLLECTION, content=body, headers=basic | {"Depth": "1"}
            )
            spent.append(time.process_time() - began)
            stop.set()
            await watcher
            held.append(worst[0])
            size = len(answer.content)
        rows.append(
            f"{label} | {answer.status_code} | {size / 1e6:.1f} MB | {min(spent) * 1000:.0f} "
            f"| {min(held) * 1000:.0f}"
        )
    return rows


def run() -> list[str]:
    heads = [
        "| database, 10,000 items, asked | status | answer | CPU ms | loop held ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    return table(heads, _measure)


if __name__ == "__main__":
    print("\n".join(run()))
