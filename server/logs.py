"""Structured logs: one JSON object a line, carrying events and opaque ids, never personal data or text."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else passed through ``extra`` is a structured field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


QUIET_LIBRARIES = ("aiosqlite", "sqlalchemy", "asyncpg", "alembic", "socketio", "engineio", "aiortc", "aioice")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log prints full paths and client addresses: Haven logs route templates instead.
    logging.getLogger("aiohttp.access").disabled = True
    # These print SQL parameters or event payloads at debug level (emails, names, message text), so they
    # stay at warning whatever HAVEN_LOG_LEVEL says.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
