"""JSON for Socket.IO packets and room documents through orjson (several times faster than the standard library on
both sides), with the standard library's answer wherever orjson declines (integers beyond 64 bits) or would accept
what the standard library refuses (dataclasses, dates)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, *args, **kwargs)


# What orjson would write but the standard library refuses (dataclasses, dates, subclasses) is handed to the
# standard library, so that sending one by mistake fails as loudly as before rather than sending its fields.
_STRICT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
    """Compact JSON (python-socketio asks for compact separators; orjson writes no spaces)."""
    try:
        return orjson.dumps(value, default=_refuse, option=_STRICT).decode()
    except TypeError:
        return json.dumps(value, *args, **kwargs)


class Codec:
    """The module-like object python-socketio and Engine.IO take as ``json``."""

    loads = staticmethod(loads)
    dumps = staticmethod(dumps)
