"""OWASP API7 (SSRF): the service fetches no URL but a webhook's, and only through one module.

Its outbound connections are the configured database and Redis, and webhook deliveries
(SPEC §14), which go through `webhooks/delivery.py` alone: it connects only to an address
that `webhooks/ssrf.py` checked after resolving the name, at every attempt (tests in
tests/api/test_webhooks.py). If an HTTP client appears anywhere else in src/, this test
fails and SECURITY.md's SSRF answer must be revisited.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "neo_events"
HTTP_CLIENTS = {
    "httpx",
    "requests",
    "aiohttp",
    "urllib.request",
    "http.client",
    "urllib3",
    "pycurl",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


WEBHOOK_SENDER = Path("webhooks/delivery.py")


def test_no_http_client_is_imported_by_the_service_but_the_webhook_sender() -> None:
    found = {
        f"{path.relative_to(SRC)}: {name}"
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC) != WEBHOOK_SENDER
        for name in _imports(path)
        if name in HTTP_CLIENTS or name.split(".")[0] in {"httpx", "requests", "aiohttp"}
    }
    assert not found, found
