"""What every benchmark does around its measurement: bound it in time, stop on SIGTERM, show the servers' logs
when it fails, always clean up, and keep its results under ``bench/results/``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPOSITORY = Path(__file__).resolve().parent.parent
T = TypeVar("T")


async def bounded_run(
    measure: Callable[[], Awaitable[T]],
    cleanup: Callable[[], Awaitable[None]],
    logs: Callable[[], str],
    time_limit: float,
    cleanup_seconds: float = 60.0,
) -> T:
    """``measure()`` within ``time_limit`` seconds (SIGTERM cancels it); the servers' logs go to stderr if it
    fails, and ``cleanup()`` runs in every case, itself bounded by ``cleanup_seconds``."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(time_limit):
            return await measure()
    except BaseException:
        print(logs(), file=sys.stderr)
        raise
    finally:
        async with asyncio.timeout(cleanup_seconds):
            await cleanup()


def write_results(kind: str, results: dict[str, Any]) -> Path:
    """Save ``results`` as ``bench/results/<kind>-<UTC time>.json`` and say where, relative to the checkout."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nResults: {path.relative_to(REPOSITORY)}")
    return path
