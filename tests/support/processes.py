"""Haven as separate processes, the way an operator runs it: the ``haven`` command with an environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.services import free_port

HAVEN = str(Path(sys.executable).with_name("haven"))


def clean_env(**haven: str) -> dict[str, str]:
    """The process environment without any HAVEN_* setting of the developer's, plus ``haven``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(haven)
    return env


def haven(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HAVEN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin-password"


def create_admin(cwd: Path, env: dict[str, str]) -> None:
    """The deployment's first administrator, made as an operator would, with ``haven user create``."""
    created = haven(
        "user",
        "create",
        "--email",
        ADMIN_EMAIL,
        "--name",
        "Admin",
        "--role",
        "admin",
        "--password",
        ADMIN_PASSWORD,
        cwd=cwd,
        env=env,
    )
    if created.returncode != 0:
        raise RuntimeError(f"haven user create failed: {created.stderr}")


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback test server
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class Node:
    """One running ``haven serve`` process."""

    process: subprocess.Popen[str]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"haven serve exited with {self.process.returncode}: {self.process.stderr.read() if self.process.stderr else ''}"
                )
            try:
                if http("GET", self.base + "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("haven serve did not answer /healthz")

    async def stop(self, within: float = 30) -> int:
        """SIGTERM, then wait without blocking the test's event loop (its clients must see the close)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(within):
                while self.process.poll() is None:
                    await asyncio.sleep(0.05)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def start_node(cwd: Path, env: dict[str, str], port: int | None = None) -> Node:
    port = port or free_port()
    process = subprocess.Popen(
        [HAVEN, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    node = Node(process, port)
    try:
        node.wait_healthy()
    except BaseException:
        process.kill()
        process.wait()
        raise
    return node
