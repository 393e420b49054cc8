"""OWASP API7 (SSRF): the service never fetches a URL, so no input can make it call out.

Its only outbound connections are the configured database and Redis. If an HTTP client ever
appears in src/, this test fails and SECURITY.md's SSRF answer must be revisited.
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


def test_no_http_client_is_imported_by_the_service() -> None:
    found = {
        f"{path.relative_to(SRC)}: {name}"
        for path in SRC.rglob("*.py")
        for name in _imports(path)
        if name in HTTP_CLIENTS or name.split(".")[0] in {"httpx", "requests", "aiohttp"}
    }
    assert not found, found
