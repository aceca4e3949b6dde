"""Admission: at most ``limit`` in flight, a bounded queue served in order, and a refusal for what cannot wait."""

from __future__ import annotations

import asyncio

from signaling.admission import MAX_RETRY_MS, MIN_RETRY_MS, Admission


async def test_slots_are_handed_over_in_arrival_order() -> None:
    admission = Admission(limit=2, queue_limit=10, wait_seconds=5.0)
    assert await admission.enter()
    assert await admission.enter()
    order: list[int] = []

    async def queued(n: int) -> None:
        assert await admission.enter()
        order.append(n)

    waiting = [asyncio.create_task(queued(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert admission.waiting == 3
    assert admission.in_flight == 2
    for _ in range(3):
        admission.leave(0.01)
        await asyncio.sleep(0)
    await asyncio.gather(*waiting)
    assert order == [0, 1, 2]
    assert admission.in_flight == 2  # each slot passed on, none freed
    admission.leave(0.01)
    admission.leave(0.01)
    assert admission.in_flight == 0


async def test_a_full_queue_refuses_at_once() -> None:
    admission = Admission(limit=1, queue_limit=1, wait_seconds=5.0)
    assert await admission.enter()
    first = asyncio.create_task(admission.enter())
    await asyncio.sleep(0)
    assert await admission.enter() is False
    assert admission.counts.refused == 1
    admission.leave(0.01)
    assert await first


async def test_what_cannot_be_admitted_in_time_is_refused_and_leaves_the_queue() -> None:
    admission = Admission(limit=1, queue_limit=5, wait_seconds=0.01)
    assert await admission.enter()
    assert await admission.enter() is False
    assert admission.waiting == 0
    admission.leave(0.01)
    assert admission.in_flight == 0
    assert await admission.enter()


async def test_the_retry_hint_grows_with_the_backlog_within_its_bounds() -> None:
    admission = Admission(limit=1, queue_limit=1000, wait_seconds=5.0)
    assert admission.retry_after_ms() == MIN_RETRY_MS
    assert await admission.enter()
    for _ in range(20):
        admission.leave(2.0)  # slow work raises the estimate
        assert await admission.enter()
    waiters = [asyncio.create_task(admission.enter()) for _ in range(500)]
    await asyncio.sleep(0)
    assert admission.retry_after_ms() == MAX_RETRY_MS
    for task in waiters:
        task.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
