"""Messages between a node and its forwarder workers: JSON objects, each framed by its length, over a Unix socket
pair the node creates and the worker inherits."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

_LENGTH = struct.Struct("!I")
MAX_MESSAGE = 1 << 20  # an SDP of a full room is a few tens of KiB


class ChannelClosed(Exception):
    """The other side went away."""


async def read(reader: asyncio.StreamReader) -> dict[str, Any]:
    try:
        head = await reader.readexactly(_LENGTH.size)
        (size,) = _LENGTH.unpack(head)
        if size > MAX_MESSAGE:
            raise ChannelClosed(f"a message of {size} bytes")
        body = await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        raise ChannelClosed(str(exc)) from exc
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ChannelClosed("not an object")
    return message


def write(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    writer.write(_LENGTH.pack(len(body)) + body)
