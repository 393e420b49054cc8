"""Conditional requests on a resource with no version to name (SPEC §2; RFC 9110 §13): a
user, the account's settings, a webhook, an app password, a feed token. Its ETag is a hash
of its JSON (`protocol.content_etag`): `If-None-Match` on its GET, `If-Match` on a write.
(An event's tag names its version: `events/access.check_if_match`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel
from starlette.responses import Response

from neo_events.errors import PreconditionFailed
from neo_events.protocol import content_etag, etag_matches

IfNoneMatch = Annotated[str | None, Header()]
# An unsafe method on a resource `conditional_json` tags (`require_match`).
ResourceIfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="the ETag its GET gave (or `*`): 412 `precondition_failed`, nothing "
        "changed, if it has changed since",
    ),
]
# In a GET route's `responses`: a conditional GET (SPEC §2) is documented by its 304.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match matched the ETag)"}
}


def tag_of(resource: BaseModel) -> str:
    """The ETag its GET gives (`conditional_json`): a write that answers with more (a new
    webhook's secret) sends it too, so the next `If-Match` needs no read first."""
    return content_etag(resource.model_dump_json().encode())


def conditional_json(resource: BaseModel, if_none_match: str | None) -> Response:
    """A single resource with no version to name (SPEC §2), as JSON with its `content_etag`,
    or a 304 when `If-None-Match` matches it (weak comparison, `*`). For small documents (a
    user, a webhook): it is encoded to be compared. MessagePack re-encodes the same document,
    under the same tag, as for an event."""
    body = resource.model_dump_json().encode()
    etag = content_etag(body)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})


def require_match(if_match: str | None, resource: BaseModel) -> None:
    """`If-Match` on a resource `conditional_json` tags (a webhook, the account's settings, an
    app password), evaluated on it as read for the write, its row locked until the write
    commits (RFC 9110 §13.1.1): a tag other than the one its GET gives now is a 412 that
    changes nothing (strong comparison; `*` matches, the resource exists). Without the
    header, no condition. (An event's tag names its version: `access.check_if_match`.)"""
    if if_match is not None and not etag_matches(if_match, tag_of(resource), weak=False):
        raise PreconditionFailed("It has changed since you read it: read it again and retry.")
