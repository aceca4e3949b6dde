"""Shared refresh runs: each caller is covered by a run that started after it asked, and a burst shares runs."""

from __future__ import annotations

import asyncio

import pytest

from signaling.coalesce import Coalesced


async def test_a_burst_shares_runs_and_each_caller_sees_a_run_started_after_it_asked() -> None:
    state = {"version": 0}
    started: list[int] = []
    gate = asyncio.Event()

    async def run(key: str) -> None:
        started.append(state["version"])
        await gate.wait()

    refresh = Coalesced(run)
    state["version"] = 1
    first = asyncio.create_task(refresh("room"))
    while not started:
        await asyncio.sleep(0)
    # Changes made while the first run is going: their callers need a run that starts after them.
    callers = []
    for version in range(2, 12):
        state["version"] = version
        callers.append(asyncio.create_task(refresh("room")))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *callers)
    assert started == [1, 11]


async def test_keys_run_apart_and_errors_reach_the_callers_of_that_run() -> None:
    async def run(key: str) -> None:
        if key == "broken":
            raise RuntimeError("no forwarder")

    refresh = Coalesced(run)
    await refresh("fine")
    with pytest.raises(RuntimeError):
        await refresh("broken")
    await refresh("fine")
