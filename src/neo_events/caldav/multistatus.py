"""A multistatus answer with calendar-data, written off the event loop when large: the texts
escaped as XML, and the whole joined and encoded, in a worker thread past ON_LOOP_TEXT_BYTES
of texts (114 MB of them cost 0.74 s to escape alone, an outside attack, 2026-12-04; an
answer's texts are bounded by service.MAX_ANSWER_BYTES)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from xml.sax.saxutils import escape

from starlette.responses import Response

from neo_events.caldav import xml
from neo_events.caldav.http import multistatus_response

ON_LOOP_TEXT_BYTES = 256 * 1024


async def escaped(texts: Mapping[int, bytes]) -> dict[int, str]:
    """The texts as XML character data."""

    def run() -> dict[int, str]:
        return {i: escape(_xml_chars(text.decode())) for i, text in texts.items()}

    return await asyncio.to_thread(run) if _heavy(texts) else run()


def _xml_chars(text: str) -> str:
    """Without the characters XML 1.0 cannot carry: one in a resource (a text kept as a client
    sent it, or stored before the API refused them) made the whole answer unreadable."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


async def answer(
    texts: Mapping[int, bytes], responses: list[xml.Response], *, sync_token: str | None = None
) -> Response:
    """The multistatus of the responses, whose calendar-data came from `texts`."""

    def run() -> bytes:
        return xml.multistatus(responses, sync_token=sync_token)

    return multistatus_response(await asyncio.to_thread(run) if _heavy(texts) else run())


def _heavy(texts: Mapping[int, bytes]) -> bool:
    return sum(map(len, texts.values())) > ON_LOOP_TEXT_BYTES
