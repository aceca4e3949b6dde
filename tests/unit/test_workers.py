"""What ``haven serve --workers N`` decides before and between starts: refusals, node ids, restart delays."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_settings
from server.workers import (
    LAST_RESTART_SECONDS,
    node_name,
    parse_pipes,
    refusal,
    restart_delay,
    worker_environment,
)

SHARED = {
    "HAVEN_DATABASE_URL": "postgresql+asyncpg://h@db/haven",
    "HAVEN_REDIS_URL": "redis://r:6379/0",
    "HAVEN_JWT_SECRET": "s" * 40,
    "HAVEN_WORKERS": "4",
}


def test_one_worker_is_the_default_and_the_count_is_bounded(tmp_path: Path) -> None:
    assert load_settings({"HAVEN_DATA_DIR": str(tmp_path)}).workers == 1
    assert load_settings({"HAVEN_DATA_DIR": str(tmp_path), **SHARED}).workers == 4
    for bad in ("0", "65", "two"):
        with pytest.raises(ConfigError, match="HAVEN_WORKERS"):
            load_settings({"HAVEN_DATA_DIR": str(tmp_path), **SHARED, "HAVEN_WORKERS": bad})


def test_several_workers_need_redis_postgresql_and_a_fixed_port(tmp_path: Path) -> None:
    def problem(**env: str) -> str | None:
        return refusal(load_settings({"HAVEN_DATA_DIR": str(tmp_path), **SHARED, **env}))

    assert problem() is None
    assert problem(HAVEN_WORKERS="1", HAVEN_REDIS_URL="", HAVEN_DATABASE_URL="") is None
    assert problem(HAVEN_REDIS_URL="") == (
        "--workers 4 (HAVEN_WORKERS) needs HAVEN_REDIS_URL: each worker is a node of its own, and nodes share "
        "rooms, presence and messages only through Redis"
    )
    assert "needs PostgreSQL" in (problem(HAVEN_DATABASE_URL="") or "")
    assert "needs PostgreSQL" in (problem(HAVEN_DATABASE_URL="sqlite+aiosqlite:///:memory:") or "")
    assert "needs a fixed port" in (problem(HAVEN_PORT="0") or "")


def test_every_start_of_a_worker_is_a_new_node_named_after_the_deployments(tmp_path: Path) -> None:
    names = {node_name("node-a", 1) for _ in range(20)}
    assert len(names) == 20
    assert all(name.startswith("node-a-w1-") for name in names)
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path), **SHARED, "HAVEN_NODE_ID": "edge"})
    env = worker_environment({"HAVEN_NODE_ID": "edge", "HAVEN_PORT": "9000"}, settings, 3)
    assert env["HAVEN_NODE_ID"].startswith("edge-w3-")
    assert env["HAVEN_PORT"] == "9000"


def test_forwarder_processes_are_shared_out_unless_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    settings = load_settings({"HAVEN_DATA_DIR": str(tmp_path), **SHARED, "HAVEN_WORKERS": "3"})
    assert worker_environment({}, settings, 0)["HAVEN_MEDIA_WORKERS"] == "3"  # 3 workers x 3 >= 8 cores
    assert worker_environment({"HAVEN_MEDIA_WORKERS": "0"}, settings, 0)["HAVEN_MEDIA_WORKERS"] == "0"


def test_a_worker_that_keeps_dying_is_started_again_later_each_time() -> None:
    delays = [restart_delay(n) for n in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert delays[-1] == LAST_RESTART_SECONDS
    assert restart_delay(10_000) == LAST_RESTART_SECONDS


def test_the_worker_flag_names_two_descriptors() -> None:
    assert parse_pipes("7,9") == (7, 9)
    with pytest.raises(ValueError, match="invalid literal"):
        parse_pipes("7")
