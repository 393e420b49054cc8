"""Structured JSON logs that carry the request id of the request being served."""

from __future__ import annotations

import contextvars
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


# A URL's parameter, `name=value`: the name as written, percent-encoded or not.
_PARAMETER = re.compile(r"([^\s\"'=&?;,/]+)=([^&\s\"']+)")
# The names whose values are secrets (`token`, `access_token`, `client_secret`...), compared
# decoded and without case, as Starlette reads them: `?%74oken=` is `?token=` to the app.
_SECRET_NAMES = ("token", "password", "secret")


def _redact_parameter(match: re.Match[str]) -> str:
    if unquote_plus(match[1]).lower().endswith(_SECRET_NAMES):
        return f"{match[1]}=[redacted]"
    return match[0]


class RedactSecrets(logging.Filter):
    """Credentials in URLs never reach a log line: uvicorn logs a WebSocket's path with its
    query string ('"WebSocket /api/v1/ws?token=…" [accepted]'), and a browser's WebSocket
    can only send its access token there (SPEC §8); a feed URL carries its token the same way."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message as formatted: a token may come in any argument (a dict's too), and
        # rewriting the template could leave its placeholders and arguments apart. Kept
        # formatted, so that the formatter does not format it again.
        try:
            message = record.getMessage()
        except Exception:  # a bad record: logging reports it itself
            return True
        if "=" in message:
            message = _PARAMETER.sub(_redact_parameter, message)
        record.msg, record.args = message, ()
        return True


# Characters that would end a text log line or rewrite it on a terminal (C0, DEL, C1, and the
# Unicode line and paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class TextFormatter(logging.Formatter):
    """`LOG_JSON=false`: one line per record whatever a message holds. A request's path is
    decoded (`/x%0a2026-12-06 … ERROR …` holds a newline) and a client chooses it, so control
    characters in a message are written escaped (`\\n`, `\\x1b`): a client cannot forge a line.
    A traceback, after the message, keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(lambda c: ascii(c[0])[1:-1], record.message)
        return super().formatMessage(record)


def logging_config(*, json_logs: bool = True, level: int = logging.INFO) -> dict[str, Any]:
    """The whole logging set-up as a `dictConfig`: what a server hands to every worker it
    spawns (a spawned worker starts with no logging at all: no access lines, and errors as
    bare text without a request id, went with it)."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if json_logs
        else {
            "()": f"{__name__}.TextFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"redact": {"()": f"{__name__}.RedactSecrets"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["redact"],
            }
        },
        "root": {"level": logging.getLevelName(level), "handlers": ["stderr"]},
        # our middleware writes the access log, with the request id
        "loggers": {"uvicorn.access": {"handlers": [], "propagate": False}},
    }


def configure_logging(*, json_logs: bool = True, level: int = logging.INFO) -> None:
    logging.config.dictConfig(logging_config(json_logs=json_logs, level=level))
