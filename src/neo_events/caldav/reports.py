"""REPORT: calendar-query (time-range, expand, text-match), calendar-multiget and
sync-collection, on the one calendar. An all-day event's days are placed where the reader
is (caldav/zones.py: the query's CALDAV:timezone, else the calendar-timezone)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from neo_events.caldav import freebusy, listing, multistatus, rendering, service, sync, xml
from neo_events.caldav.http import (
    calendar_href,
    decoded_path,
    item_href,
    read_body,
    utc_instant,
)
from neo_events.caldav.item_props import describe_items
from neo_events.caldav.props import Context
from neo_events.caldav.service import DavError, Item
from neo_events.caldav.textmatch import (
    COLLATIONS,
    Matcher,
    TextFilter,
    scanned,
    text_match,
    text_values,
)
from neo_events.caldav.xml import CALDAV, DAV, tag
from neo_events.caldav.zones import reader_zone
from neo_events.models import User
from neo_events.pages import MAX_PAGE_BYTES

# REPORT


def _names_and_data(root: ET.Element) -> tuple[list[str], tuple[datetime, datetime] | None]:
    """The requested properties, and the expand window of calendar-data, if any."""
    prop = root.find(tag(DAV, "prop"))
    try:
        names = xml.prop_names(prop) if prop is not None else [tag(DAV, "getetag")]
    except xml.BadXml as exc:
        raise DavError(400, None, f"The body cannot be read: {exc}", "invalid_xml") from None
    expand = None
    if prop is not None:
        data = prop.find(tag(CALDAV, "calendar-data"))
        node = data.find(tag(CALDAV, "expand")) if data is not None else None
        if node is not None:
            start, end = utc_instant(node.get("start")), utc_instant(node.get("end"))
            if start is None or end is None or end <= start:
                raise DavError(
                    403,
                    (CALDAV, "valid-filter"),
                    "expand needs a start before its end",
                    "bad_expand",
                )
            expand = (start, end)
    return names, expand


async def report(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    root = await read_body(request)
    if root is None:
        raise DavError(400, None, "A REPORT needs a body.", "invalid_xml")
    if kind != "calendar":
        raise DavError(
            403, (DAV, "supported-report"), "Reports run on the calendar.", "unsupported_report"
        )
    if root.tag == tag(DAV, "sync-collection"):
        return await _sync_collection(request, session, user, root)
    if root.tag == tag(CALDAV, "calendar-multiget"):
        names, expand = _names_and_data(root)
        base = calendar_href(user)
        # (the path it names, True) or, not UTF-8 once decoded, (the path as written, False)
        wanted: list[tuple[str, bool]] = []
        for node in root.findall(tag(DAV, "href")):
            written = urlsplit((node.text or "").strip()).path
            path = decoded_path(written)
            wanted.append((written, False) if path is None else (path, True))
        # each resource answered once: 5,000 copies of one 64 KB href were a 321 MB answer
        wanted = list(dict.fromkeys(wanted))
        if len(wanted) > service.MAX_MULTIGET:
            raise DavError(
                403, (DAV, "number-of-matches-within-limits"), "Too many hrefs.", "too_many_hrefs"
            )
        member = {
            p: p[len(base) :]
            for p, named in wanted
            if named and p.startswith(base) and "/" not in p[len(base) :]
        }
        found = await service.items_named(session, user, [n for n in member.values() if n])
        answered = [named and member.get(p) in found for p, named in wanted]
        items = [found[member[p]] for (p, _), yes in zip(wanted, answered, strict=True) if yes]
        ctx = Context(request, session, user)
        if tag(CALDAV, "calendar-data") in names:
            ctx.texts, fitted = await rendering.for_answer(
                request.app.state, session, items, expand=expand, zone=await reader_zone(user)
            )
            if fitted < len(items):  # clients ask again for fewer, or GET each
                raise DavError(
                    403,
                    (DAV, "number-of-matches-within-limits"),
                    f"The resources asked for are more than {service.MAX_ANSWER_BYTES >> 20} MB "
                    "of calendar data; ask for fewer at a time.",
                    "answer_too_large",
                )
        described = iter(await describe_items(ctx.user, ctx.texts, items, names))
        responses = [
            next(described) if yes else xml.Response(quote(p) if named else p, status=404)
            for (p, named), yes in zip(wanted, answered, strict=True)
        ]
        return await multistatus.answer(ctx.texts, responses)
    if root.tag == tag(CALDAV, "calendar-query"):
        return await _calendar_query(request, session, user, root)
    if root.tag == tag(CALDAV, "free-busy-query"):
        return await freebusy.report(session, user, root, cache=request.app.state.expansions)
    raise DavError(
        403, (DAV, "supported-report"), "This report is not supported.", "unsupported_report"
    )


# Prop-filters in one calendar-query: clients send one or two (a UID, a SUMMARY search);
# each is tested against every candidate (up to listing.MAX_CANDIDATES).
MAX_PROP_FILTERS = 16


def _query_filter(
    root: ET.Element,
) -> tuple[bool, datetime | None, datetime | None, list[TextFilter]]:
    """(matches any VEVENT at all, window start, window end, prop filters)."""
    filt = root.find(tag(CALDAV, "filter"))
    if filt is None:
        return True, None, None, []
    calendar = filt.find(tag(CALDAV, "comp-filter"))
    if calendar is None or calendar.get("name", "").upper() != "VCALENDAR":
        raise DavError(
            403, (CALDAV, "valid-filter"), "The filter starts with VCALENDAR.", "bad_filter"
        )
    inner = calendar.findall(tag(CALDAV, "comp-filter"))
    if not inner:
        return True, None, None, []
    if len(inner) > 1:
        raise _unsupported("One component filter at a time.")
    comp = inner[0]
    if comp.get("name", "").upper() != "VEVENT":
        return False, None, None, []  # this calendar holds VEVENTs only
    if comp.find(tag(CALDAV, "is-not-defined")) is not None:
        return False, None, None, []
    start = end = None
    window = comp.find(tag(CALDAV, "time-range"))
    if window is not None:
        start, end = utc_instant(window.get("start")), utc_instant(window.get("end"))
        if start is None and end is None:
            raise DavError(
                403, (CALDAV, "valid-filter"), "A time-range needs a start or an end.", "bad_filter"
            )
    props = comp.findall(tag(CALDAV, "prop-filter"))
    if len(props) > MAX_PROP_FILTERS:
        raise _unsupported(f"At most {MAX_PROP_FILTERS} prop-filters.")
    filters = [_prop_filter(prop) for prop in props]
    if comp.find(tag(CALDAV, "comp-filter")) is not None:
        raise _unsupported("No filter on subcomponents (VALARM).")
    return True, start, end, filters


def _prop_filter(prop: ET.Element) -> TextFilter:
    name = prop.get("name", "").upper()
    if not name:
        raise DavError(
            403, (CALDAV, "valid-filter"), "A prop-filter names a property.", "bad_filter"
        )
    if any(prop.find(tag(CALDAV, n)) is not None for n in ("time-range", "param-filter")):
        raise _unsupported(f"Only text filters on {name}.")
    if prop.find(tag(CALDAV, "is-not-defined")) is not None:
        return TextFilter(name, None, undefined=True)
    match = prop.find(tag(CALDAV, "text-match"))
    if match is None:
        return TextFilter(name, None)
    collation = match.get("collation", "i;ascii-casemap")
    if collation not in COLLATIONS:
        raise DavError(
            403, (CALDAV, "supported-collation"), f"No collation {collation}.", "bad_filter"
        )
    negate = match.get("negate-condition", "no").lower() == "yes"
    return text_match(name, match.text or "", negate=negate, collation=collation)


def _unsupported(message: str) -> DavError:
    return DavError(403, (CALDAV, "supported-filter"), message, "unsupported_filter")


# The lines of the resources' texts one query reads for the properties the model does not
# hold: ~1.3-1.8 us a line (split and read once, textmatch.text_values; up to ~4.5 us when
# the collector walks a large heap), so under ~0.5 s of CPU in a worker thread. Past it the
# answer ends at the texts read, with the 507 (as past MAX_ANSWER_BYTES); an ordinary
# resource is a few dozen lines (1,000 of them ~30,000), a series of 1,000 overrides ~10,000.
MAX_READ_LINES = 100_000

# The properties the event model holds are read from the row; any other (CATEGORIES, X-…)
# from the resource's text, which the stored client text feeds (resources.py).
_MODEL_PROPS = {"UID", "SUMMARY", "DESCRIPTION", "LOCATION"}


def _model_values(item: Item, name: str) -> list[str]:
    event = item.event
    value = {
        "UID": item.uid,
        "SUMMARY": event.title,
        "DESCRIPTION": event.description,
        "LOCATION": event.location,
    }[name]
    return [value] if value is not None else []


async def _calendar_query(request: Request, session: Any, user: User, root: ET.Element) -> Response:
    names, expand = _names_and_data(root)
    matches, start, end, filters = _query_filter(root)
    # where the reader's all-day days begin: the query's CALDAV:timezone, else the account's
    zone = await reader_zone(user, root, start or (expand[0] if expand else None))
    model = Matcher(f for f in filters if f.name in _MODEL_PROPS)
    spent = 0  # characters the model's filters scan: the others' budget is what is left

    held = {f.name for f in model.filters}

    def values_of(item: Item) -> dict[str, list[str]]:
        return {name: _model_values(item, name) for name in held}

    def weigh(item: Item) -> int:
        nonlocal spent
        weight = scanned(model, values_of(item))
        spent += weight
        return weight

    def keep(item: Item) -> bool:
        return model.keeps(values_of(item))

    # the time range and the model's text filters decide what matches before it is cut
    items, truncated = (
        await listing.list_items(
            session,
            user,
            start=start,
            end=end,
            caches=service.Caches.of(request.app.state),
            keep=keep if model.filters else None,
            weigh=weigh,
            zone=zone,
        )
        if matches
        else ([], False)
    )
    others = Matcher(f for f in filters if f.name not in _MODEL_PROPS)
    rendered = bool(others.filters) or tag(CALDAV, "calendar-data") in names
    if rendered and len(items) > listing.MAX_RENDERED:
        # rendering is what costs (~2.5 ms an item the first time): a bounded number, then
        # the 507 for the collection
        items, truncated = items[: listing.MAX_RENDERED], True
    if others.filters:
        # at most MAX_RENDERED texts of at most MAX_ANSWER_BYTES in all, read line by line
        texts, fitted = await rendering.for_answer(request.app.state, session, items)
        if fitted < len(items):
            items, truncated = items[:fitted], True
        wanted = {f.name for f in others.filters}

        def judge() -> tuple[set[int], int]:
            """The items kept, of the first `read` (the texts within MAX_READ_LINES)."""
            values, lines, read = {}, 0, 0
            for item in items:
                text = texts.get(item.event.id, b"")
                lines += text.count(b"\n")
                if lines > MAX_READ_LINES and read > 0:
                    break
                values[item.event.id] = text_values(text, wanted)
                read += 1
            if sum(scanned(others, v) for v in values.values()) > listing.MAX_SCANNED - spent:
                raise listing.too_costly(f"more than {listing.MAX_SCANNED:,} characters of text")
            return {i for i, v in values.items() if others.keeps(v)}, read

        kept, read = await asyncio.to_thread(judge)
        if read < len(items):  # a 507, as past MAX_ANSWER_BYTES
            items, truncated = items[:read], True
        items = [i for i in items if i.event.id in kept]
    ctx = Context(request, session, user)
    if tag(CALDAV, "calendar-data") in names:
        ctx.texts, fitted = await rendering.for_answer(
            request.app.state, session, items, expand=expand, zone=zone
        )
        if fitted < len(items):  # past MAX_ANSWER_BYTES: a 507, as past MAX_RENDERED
            items, truncated = items[:fitted], True
    responses = await describe_items(ctx.user, ctx.texts, items, names)
    if truncated:
        responses.append(xml.Response(calendar_href(user), status=507))
    return await multistatus.answer(ctx.texts, responses)


async def _sync_collection(
    request: Request, session: Any, user: User, root: ET.Element
) -> Response:
    token_node = root.find(tag(DAV, "sync-token"))
    token = (token_node.text or "").strip() if token_node is not None else ""
    level = root.find(tag(DAV, "sync-level"))
    if level is not None and (level.text or "").strip() not in ("1", "infinite"):
        raise DavError(400, None, "sync-level is 1.", "invalid_xml")
    names, _ = _names_and_data(root)
    data = tag(CALDAV, "calendar-data") in names
    # a page by cost: rendered bodies are ~100 times dearer than ETags (service.py)
    if data:
        limit, most = service.SYNC_DATA_PAGE, service.SYNC_DATA_PAGE_BYTES
    else:
        limit, most = service.SYNC_PAGE, MAX_PAGE_BYTES
    page = await sync.sync_collection(session, user, token or None, limit=limit, max_bytes=most)
    ctx = Context(request, session, user)
    if data:
        # past MAX_ANSWER_BYTES (people render to more than the content budget weighs) the
        # rest of the page is listed without calendar-data, a 404 for it: clients GET those
        ctx.texts, _ = await rendering.for_answer(request.app.state, session, page.present)
    responses = await describe_items(ctx.user, ctx.texts, page.present, names)
    responses += [xml.Response(item_href(user, gone), status=404) for gone in page.gone]
    if page.truncated:
        responses.append(xml.Response(calendar_href(user), status=507))
    return await multistatus.answer(ctx.texts, responses, sync_token=page.token)
