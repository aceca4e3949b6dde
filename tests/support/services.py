"""Private, throwaway PostgreSQL and Redis servers started from the installed binaries.

Each lives in its own temporary folder on a free loopback port and is removed afterwards; nothing the tests
did not create is touched. When ``HAVEN_TEST_DATABASE_URL`` / ``HAVEN_TEST_REDIS_URL`` are set, those servers
are used instead (the tests then create and drop their own databases, and use their own key prefixes).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _postgres_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run ./scripts/test, which installs them")


def _as_postgres_user() -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package provides the 'postgres' account.
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder, trust authentication on loopback only."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="haven-pg-")))
    # Fast by default (tests never crash it); a test that halts the server needs commits that survive a crash.
    durable: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://haven@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        bindir = _postgres_bindir()
        data = self.root / "data"
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        prefix = _as_postgres_user()
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "haven", "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        self.resume()

    def halt(self) -> None:
        """Stop the server abruptly, keeping its data, as an outage would."""
        subprocess.run(
            [
                *_as_postgres_user(),
                str(_postgres_bindir() / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            [
                *_as_postgres_user(),
                str(_postgres_bindir() / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PrivateRedis:
    """A redis-server of its own that keeps nothing on disk; it can be stopped and started again."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="haven-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: run ./scripts/test, which installs it")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    given = os.environ.get("HAVEN_TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = PrivatePostgres()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    given = os.environ.get("HAVEN_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = PrivateRedis()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()
