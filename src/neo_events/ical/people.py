"""Attendees in iCalendar (RFC 5545 §3.8.4.1, §3.8.4.3): ORGANIZER and ATTENDEE lines out,
and the attendees of an imported VEVENT in. Pure: neither the web framework nor the database.

Users are named by an address (`mailto:`), with CN their username: the reader by their own
email, anyone else by their username at PRIVATE_DOMAIN (`calendar_address`); answers are
PARTSTAT, optional attendees ROLE=OPT-PARTICIPANT.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from icalendar import Component, vCalAddress

from neo_events.ical.properties import without_controls

TO_PARTSTAT = {
    "needs_action": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "tentative": "TENTATIVE",
    "declined": "DECLINED",
}
FROM_PARTSTAT = {v: k for k, v in TO_PARTSTAT.items()}
# RFC 2606's .invalid: an address no mail goes to, naming a user of this service by username
PRIVATE_DOMAIN = "users.neo-events.invalid"


def calendar_address(email: str, username: str, *, reader: bool) -> str:
    """How an export names a user to a reader: the reader by their own email, anyone else by
    `username@PRIVATE_DOMAIN`. An email is its owner's to give (the user lookup hides it
    too): anyone may invite anyone by id, and an export that named invitees by email gave
    away every user's address (an outside attack collected them all). An import, a CalDAV
    write and a client writing an event back name them either way (`users_by_email`)."""
    return email if reader else f"{username}@{PRIVATE_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Attendance:
    """Someone on an event as a calendar file names them."""

    email: str
    name: str | None
    response: str = "needs_action"
    optional: bool = False
    organizer: bool = False


def add_people(component: Component, people: Iterable[Attendance]) -> None:
    """ORGANIZER (the organizer) and one ATTENDEE per person, the organizer included, with
    their PARTSTAT, as calendar apps write them."""
    for person in people:
        if person.organizer:
            component.add("organizer", _address(person))
    for person in people:
        address = _address(person)
        address.params["PARTSTAT"] = TO_PARTSTAT.get(person.response, "NEEDS-ACTION")
        address.params["ROLE"] = "OPT-PARTICIPANT" if person.optional else "REQ-PARTICIPANT"
        component.add("attendee", address)


def with_answers(people: Iterable[Attendance], answers: Mapping[str, str]) -> list[Attendance]:
    """The people of one occurrence: each with their answer for it where they gave one
    (`answers` by lower-cased email), else their series answer."""
    return [
        replace(p, response=answers[p.email.lower()]) if p.email.lower() in answers else p
        for p in people
    ]


def answer_of(people: Iterable[Attendance], addresses: Collection[str]) -> str | None:
    """The PARTSTAT (as a response) a component's people give someone, named by any of
    `addresses` (as written: the caller found whose they are), or None if absent."""
    return next((p.response for p in people if p.email in addresses), None)


def _address(person: Attendance) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    return address


def read_people(component: Component, notes: list[str]) -> list[Attendance]:
    """The ORGANIZER and ATTENDEEs of a VEVENT; addresses that are not email addresses are
    kept as written, but for the characters no text of ours holds, left out of an address
    and a CN as of any other text (`properties.without_controls`, noted): an address with a
    NUL reached the database's user lookup (a 500 on PostgreSQL) and an event's description.
    At most MAX_PEOPLE are read."""
    found: dict[str, Attendance] = {}
    organizer = _email(component.get("organizer"), "ORGANIZER", notes)
    values = component.get("attendee") or []
    if not isinstance(values, list):
        values = [values]
    for value in values[:MAX_PEOPLE]:
        email = _email(value, "ATTENDEE", notes)
        if not email or email.lower() in found:
            continue
        params = getattr(value, "params", {})
        found[email.lower()] = Attendance(
            email=email,
            name=_name(params, "ATTENDEE", notes),
            response=FROM_PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), "needs_action"),
            optional=str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT",
            organizer=organizer is not None and email.lower() == organizer.lower(),
        )
    if organizer and organizer.lower() not in found:
        params = getattr(component.get("organizer"), "params", {})
        found[organizer.lower()] = Attendance(
            email=organizer,
            name=_name(params, "ORGANIZER", notes),
            response="accepted",
            organizer=True,
        )
    return list(found.values())


MAX_PEOPLE = 500  # ATTENDEE lines read from one VEVENT, as an event holds at most


def _email(value: object, name: str, notes: list[str]) -> str | None:
    if value is None:
        return None
    text = without_controls(name, str(value), notes).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text[:254] or None


def _name(params: Mapping[str, Any], name: str, notes: list[str]) -> str | None:
    """The CN, if any, without what no text of ours holds, on one line: a guest is one line
    of the description (`importing.with_guests`), and RFC 6868's `^n` is a line break."""
    cn = params.get("CN")
    if not cn:
        return None
    return _LINE_BREAK.sub(" ", without_controls(name, str(cn), notes)).strip() or None


_LINE_BREAK = re.compile(r"\r\n|\n|\r")
