"""Runs of an idempotent refresh, shared: whoever asks is covered by a run that starts after they asked, one run at
a time per key, and everyone who asks while one is going shares the next. A burst of changes to one room then costs
two refreshes, not one each, and no run can finish after a later one and undo it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class Coalesced:
    def __init__(self, run: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        self._run = run
        self._running: set[str] = set()
        # Per key, the run that callers who asked during the current one wait for.
        self._next: dict[str, asyncio.Future[None]] = {}

    async def __call__(self, key: str) -> None:
        waiting = self._next.get(key)
        if waiting is None:
            waiting = self._next[key] = asyncio.get_running_loop().create_future()
            if key not in self._running:
                self._start(key)
        await asyncio.shield(waiting)

    def _start(self, key: str) -> None:
        waiting = self._next.pop(key)
        self._running.add(key)
        task = asyncio.get_running_loop().create_task(self._run(key), name=f"haven-refresh-{key}")
        task.add_done_callback(lambda done: self._finished(key, done, waiting))

    def _finished(self, key: str, task: asyncio.Task[None], waiting: asyncio.Future[None]) -> None:
        self._running.discard(key)
        if task.cancelled():
            waiting.cancel()
        elif (error := task.exception()) is not None:
            waiting.set_exception(error)
            waiting.exception()  # retrieved here: a run nobody waits for any more must not warn
        else:
            waiting.set_result(None)
        if key in self._next:
            self._start(key)
