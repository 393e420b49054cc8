"""The server's stop, as the app hears it before its lifespan ends.

Told to stop (SIGTERM), uvicorn closes its WebSockets at once (1012) but waits for every
HTTP response under way to end before the lifespan's shutdown: a Server-Sent Events stream
never ends by itself (its heartbeats keep it alive), so `serve` did not stop while one was
open, and its job runner kept claiming work until the last client left (an outside attack;
Docker then kills it at 10 s, and the claims wait out their lease). The HTTP protocol
(`http_server.py`) calls `server_stopping` when the server asks its connections to stop;
what must end then registers here: the live streams (told to resume: `live/hub.py`) and the
job runner's claims (`jobs/worker.py`). uvicorn's `timeout_graceful_shutdown` (cli.py)
bounds what still runs after that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_callbacks: list[Callable[[], None]] = []


def on_server_stop(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (once) when the server is told to stop; returns what unregisters it."""
    _callbacks.append(callback)

    def forget() -> None:
        if callback in _callbacks:
            _callbacks.remove(callback)

    return forget


def server_stopping() -> None:
    """The server is stopping: call (and forget) every registered callback."""
    callbacks = list(_callbacks)
    _callbacks.clear()
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("a stop callback failed")
