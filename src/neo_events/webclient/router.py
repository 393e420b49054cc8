"""Serves the browser client: `/` is its page, `/app/<file>` its modules, styles and icon.

The client is plain files (no build step) that talk to the public API like any other client.
Its responses carry their own Content-Security-Policy, which the security-headers middleware
keeps (it only sets a policy where none is set): scripts, styles and connections from this
origin only, no inline script, no framing.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, Request, Response

from neo_events.errors import AppError
from neo_events.web import inline_style_source

STATIC = Path(__file__).parent / "static"
# FullCalendar adds its stylesheet as an empty <style> element filled through the CSSOM
# (insertRule, which CSP does not govern): the hash of the empty string allows exactly that
# element and no inline style text. Its icon font is a data: URL.
EMPTY_STYLE = inline_style_source("")
CLIENT_CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {EMPTY_STYLE}; "
    "connect-src 'self'; img-src 'self' data:; font-src data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:js|css|svg)$")
# Revalidate on every load (the ETag makes that a 304): a new release is seen at once.
HEADERS = {"Content-Security-Policy": CLIENT_CSP, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


class AssetNotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


def _assets(folder: Path) -> dict[str, Path]:
    """The servable files, fixed at start-up: nothing outside the folder can be named."""
    return {p.name: p for p in folder.iterdir() if p.is_file() and _ASSET_NAME.match(p.name)}


ASSETS = _assets(STATIC)
# Libraries copied from the npm registry as built files by scripts/vendor-web.sh.
VENDOR = _assets(STATIC / "vendor")


def _file(request: Request, path: Path) -> Response:
    """The file, or a 304 when the browser's copy is current. The ETag is the content's hash
    (the files are small): installed wheels give every file the same mtime."""
    body = path.read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = HEADERS | {"ETag": etag}
    wanted = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[path.suffix], headers=headers)


@router.get("/")
def index(request: Request) -> Response:
    """The client's single page; its views live in the URL fragment (`#/week/2026-10-26`)."""
    return _file(request, STATIC / "index.html")


@router.get("/app/{name}")
def asset(request: Request, name: str) -> Response:
    """One of the client's modules, its stylesheet or its icon."""
    path = ASSETS.get(name)
    if path is None:
        raise AssetNotFound(f"The web client has no file named {name!r}.")
    return _file(request, path)


@router.get("/app/vendor/{name}")
def vendored(request: Request, name: str) -> Response:
    """A vendored library's built file (FullCalendar), served like the client's own."""
    path = VENDOR.get(name)
    if path is None:
        raise AssetNotFound(f"The web client has no vendored file named {name!r}.")
    return _file(request, path)
