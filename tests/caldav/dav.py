"""Helpers for the CalDAV tests: app passwords, Basic auth, PROPFIND/REPORT bodies."""

from __future__ import annotations

import base64
from typing import Any
from xml.etree import ElementTree as ET

import httpx

from tests.helpers import Account, register

NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav", "cs": "http://calendarserver.org/ns/"}


async def app_password(client: httpx.AsyncClient, account: Account, name: str = "test") -> str:
    response = await client.post(
        "/api/v1/app-passwords", json={"name": name}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["password"]
    return secret


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def propfind(*props: str) -> str:
    inner = "".join(f"<{p}/>" for p in props)
    return (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'
        f"<d:prop>{inner}</d:prop></d:propfind>"
    )


def responses(body: bytes) -> dict[str, dict[str, Any]]:
    """href → {'status': int | None, 'props': {tag: element}, 'missing': [tag]}."""
    root = ET.fromstring(body)
    found: dict[str, dict[str, Any]] = {}
    for response in root.findall("d:response", NS):
        href = response.findtext("d:href", namespaces=NS) or ""
        entry: dict[str, Any] = {"status": None, "props": {}, "missing": []}
        status = response.findtext("d:status", namespaces=NS)
        if status:
            entry["status"] = int(status.split()[1])
        for propstat in response.findall("d:propstat", NS):
            code = int((propstat.findtext("d:status", namespaces=NS) or "x 0").split()[1])
            for prop in propstat.find("d:prop", NS) or []:
                if code == 200:
                    entry["props"][prop.tag] = prop
                else:
                    entry["missing"].append(prop.tag)
        found[href] = entry
    return found


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260310T090000
DTEND;TZID=Europe/Berlin:20260310T100000
SUMMARY:{summary}
{extra}END:VEVENT
END:VCALENDAR
"""


def ics(uid: str = "abc-1", summary: str = "Dentist", extra: str = "") -> bytes:
    return ICS.format(uid=uid, summary=summary, extra=extra).replace("\n", "\r\n").encode()


class Dav:
    def __init__(self, client: httpx.AsyncClient, account: Account, secret: str) -> None:
        self.client, self.account = client, account
        self.auth = basic(account.username, secret)
        self.calendar = f"/dav/calendars/{account.username}/events/"

    async def request(
        self, method: str, path: str, body: str | bytes = b"", **headers: str
    ) -> httpx.Response:
        return await self.client.request(method, path, content=body, headers=self.auth | headers)

    async def put(self, name: str, data: bytes, **headers: str) -> httpx.Response:
        return await self.request(
            "PUT", self.calendar + name, data, **({"Content-Type": "text/calendar"} | headers)
        )


async def dav_for(client: httpx.AsyncClient, name: str) -> Dav:
    account = await register(client, name)
    return Dav(client, account, await app_password(client, account))
