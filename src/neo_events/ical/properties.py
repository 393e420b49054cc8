"""A VEVENT's plain properties as the importer reads them: the first of a repeated one, text
cut to the API's limits (with a note), SEQUENCE, STATUS:CANCELLED, TRANSP and the RRULE as
written."""

from __future__ import annotations

from typing import Any

from icalendar import Component

TEXT_LIMITS = {"title": 200, "description": 10_000, "location": 500}


def transparency(component: Component) -> str | None:
    """TRANSP as the event model's transparency; None if absent or unknown."""
    value = str(first(component, "TRANSP") or "").strip().upper()
    return {"OPAQUE": "opaque", "TRANSPARENT": "transparent"}.get(value)


def first(component: Component, name: str) -> Any:
    value = component.get(name)
    return value[0] if isinstance(value, list) and value else value


def text(component: Component, name: str, notes: list[str]) -> str | None:
    """A TEXT property as the API takes it: SUMMARY and LOCATION trimmed (as the API trims a
    title and a location), DESCRIPTION as written (the API keeps a description's blanks, and
    our export writes them: importing it gives the same text back)."""
    value = first(component, name)
    if value is None:
        return None
    cleaned = str(value).replace("\x00", "")
    if name != "DESCRIPTION":
        cleaned = cleaned.strip()
    limit = TEXT_LIMITS[name.lower() if name != "SUMMARY" else "title"]
    if len(cleaned) > limit:
        notes.append(f"{name} cut to {limit} characters")
        cleaned = cleaned[:limit]
    return cleaned or None


def sequence(component: Component) -> int:
    try:
        return int(str(first(component, "SEQUENCE") or 0).strip())
    except ValueError:
        return 0


def cancelled(component: Component) -> bool:
    return str(first(component, "STATUS") or "").strip().upper() == "CANCELLED"


def rule_text(component: Component, notes: list[str]) -> str | None:
    """The RRULE as written (our parser tolerates Exchange's `BYDAY=MO, TU` and trailing
    blanks, which icalendar refuses)."""
    rules = component.get("RRULE")
    if rules is None:
        return None
    if isinstance(rules, list):
        notes.append("only the first of several RRULEs is kept")
        rules = rules[0]
    if "EXRULE" in component:
        notes.append("EXRULE (deprecated by RFC 5545) ignored")
    # A broken RRULE (a str) is kept as written; a parsed one is written back.
    return str(rules) if isinstance(rules, str) else str(rules.to_ical().decode())
