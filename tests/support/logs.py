"""Collecting what the server logs, as JSON lines at debug level, to check what it never writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from server.logs import JsonFormatter, configure_logging


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("DEBUG")
    collect = Collect()
    root.addHandler(collect)
    yield collect
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
