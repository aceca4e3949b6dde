"""Finding the connections whose client went silent, in one pass a second.

Engine.IO's own monitor visits one socket at a time, spacing the visits so that all are seen once per ping timeout:
with a thousand connections that is fifty timed waits a second, each ending in a timeout exception, whatever the
clients do. Here every socket is checked once a second in a single pass (the check itself is Engine.IO's), and the
monitor stops as Engine.IO's does when the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from typing import Any

CHECK_SECONDS = 1.0


async def _check_sockets(server: Any) -> None:
    server.service_task_event = server.create_event()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.service_task_event.wait(), timeout=CHECK_SECONDS)
            return
        for socket in list(server.sockets.values()):
            if socket.closed:
                server.sockets.pop(socket.sid, None)
            elif not socket.closing:
                try:
                    await socket.check_ping_timeout()
                except Exception:  # noqa: S112 - one socket's failure must not stop the checks of the others
                    continue


def install(engineio_server: Any) -> None:
    """Use the one-pass monitor on ``engineio_server`` (python-socketio's ``sio.eio``)."""
    engineio_server._service_task = types.MethodType(_check_sockets, engineio_server)
