"""Log lines are JSON with structured fields, and the access log names routes, not paths."""

from __future__ import annotations

import json
import logging

from server.logs import JsonFormatter


def test_a_record_becomes_one_json_object() -> None:
    record = logging.makeLogRecord(
        {
            "name": "haven.http",
            "levelno": 20,
            "levelname": "INFO",
            "msg": "http request",
            "route": "/api/groups/{id}",
            "status": 200,
        }
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["event"] == "http request"
    assert entry["route"] == "/api/groups/{id}"
    assert entry["status"] == 200
    assert entry["level"] == "info"
    assert "\n" not in line
