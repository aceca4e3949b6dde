"""The forwarders under test, as the coordinator runs them: start, one room per size, CPU readings, stop.

- ``RelayServer``: ``bench/reference/relay_server.py`` (aiortc ``MediaRelay``), a fresh process per room.
- ``JanusServer``: Debian's ``janus`` (VideoRoom plugin), a fresh process per room, with a private configuration
  written from ``bench/reference/janus/*.jcfg.in`` into the bench's temporary folder: the HTTP API on 127.0.0.1
  only, the VideoRoom plugin and HTTP transport only, no STUN or TURN. Janus never gathers ICE candidates on a
  loopback interface (``janus_ice_setup_local`` skips ``IFF_LOOPBACK``, whatever ``ice_enforce_list`` says), so its
  media uses this machine's own IPv4 address (enforced as its only one) and the clients gather there too; delivery
  between two addresses of this machine is local.
- ``HavenServer``: one ``haven serve`` node (``HAVEN_MESH_LIMIT=0``, ``HAVEN_MEDIA_WORKERS=1``) on a private
  PostgreSQL and Redis (or ``HAVEN_TEST_DATABASE_URL`` / ``HAVEN_TEST_REDIS_URL``); accounts made once through the
  admin API, a fresh group (lobby off, seat 0 a facilitator) per room. Its CPU includes any child processes.

``open_room`` returns the JSON ``spec`` the workers' drivers (``bench.forwarding.drivers``) join with.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.cpu import cpu_seconds, tree_cpu_seconds
from bench.forwarding.media import machine_ipv4_addresses

REPOSITORY = Path(__file__).resolve().parent.parent.parent
REFERENCE_DIR = REPOSITORY / "bench" / "reference"
JANUS_TEMPLATES = REFERENCE_DIR / "janus"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HAVEN_MAX_CAPACITY = 50  # the groups table's CHECK (capacity BETWEEN 2 AND 50)


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A server process this bench started, its output kept in a file (never a pipe that could fill up)."""

    def __init__(self, name: str, command: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("w")
        self.popen = subprocess.Popen(  # noqa: S603 - fixed command lines built by this bench
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(REPOSITORY)
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    async def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                await asyncio.to_thread(self.popen.wait)
        self._log.close()

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            kept = [
                line
                for line in self.log_path.read_text(errors="replace").splitlines()
                if "has been disabled" not in line and "Hashing algorithm" not in line
            ]
            return "\n".join(kept[-lines:])
        return ""


async def wait_http(url: str, process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if not process.alive():
                raise ServerError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            await asyncio.sleep(0.1)
    raise ServerError(f"{process.name} did not answer {url} within {START_TIMEOUT} s:\n{process.tail()}")


class Server(abc.ABC):
    name = ""
    label = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.process: Process | None = None
        self.rooms = 0

    async def start(self) -> None:
        """Once per run, before any room."""
        return

    @abc.abstractmethod
    def member_name(self, index: int) -> str:
        """The publisher id the others see for seat ``index``."""

    def client_addresses(self) -> list[str]:
        """Where the clients gather their ICE host candidates for this forwarder."""
        return ["127.0.0.1"]

    @abc.abstractmethod
    async def open_room(self, size: int) -> dict[str, Any]:
        """Make a room for ``size`` members; return the spec the workers join with."""

    async def close_room(self) -> None:
        if self.process is not None:
            await self.process.stop()

    async def stop(self) -> None:
        """Once per run, at the end (also after a failure)."""
        await self.close_room()

    def forwarder_cpu(self) -> float:
        """CPU seconds (user + system, all threads) of the forwarding process so far."""
        return cpu_seconds(self.process.pid) if self.process is not None and self.process.alive() else 0.0

    def forwarder_alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def cpu_parts(self) -> dict[str, float]:
        """The forwarder's CPU seconds so far, by process."""
        return {self.name: self.forwarder_cpu()}

    def logs(self) -> str:
        return f"--- {self.name} output (last lines) ---\n{self.process.tail()}" if self.process else ""

    def describe(self) -> dict[str, Any]:
        return {"label": self.label}


class RelayServer(Server):
    name = "relay"
    label = "aiortc MediaRelay reference (Python; decodes, re-encodes per subscriber)"

    def member_name(self, index: int) -> str:
        return f"m{index:02d}"

    async def open_room(self, size: int) -> dict[str, Any]:
        self.rooms += 1
        port = free_port()
        self.process = Process(
            "relay",
            [sys.executable, str(REFERENCE_DIR / "relay_server.py"), "--port", str(port)],
            self.workdir / f"relay-{self.rooms}.log",
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz", self.process)
        return {"kind": "relay", "base": base}


class JanusServer(Server):
    name = "janus"
    label = "Janus VideoRoom (C, Debian package)"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.version = ""
        self.binary = ""

    def member_name(self, index: int) -> str:
        return str(1001 + index)

    def client_addresses(self) -> list[str]:
        addresses = machine_ipv4_addresses()
        if not addresses:
            raise ServerError("no non-loopback IPv4 address for Janus to gather on")
        return addresses[:1]

    async def start(self) -> None:
        binary = shutil.which("janus")
        if binary is None:
            raise ServerError("janus is not installed (apt-get install -y janus)")
        self.binary = binary
        done = await asyncio.to_thread(
            subprocess.run, [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        self.version = " ".join((done.stdout or done.stderr).split()[:4])

    def write_config(self, port: int) -> Path:
        folder = self.workdir / f"janus-{self.rooms}"
        folder.mkdir(parents=True, exist_ok=True)
        values = {
            "CONFIGS": str(folder),
            "PORT": str(port),
            "LIBDIR": janus_library_dir(),
            "ICE_ADDRESS": self.client_addresses()[0],
        }
        for template in JANUS_TEMPLATES.glob("*.jcfg.in"):
            text = template.read_text()
            for key, value in values.items():
                text = text.replace(f"@{key}@", value)
            (folder / template.name.removesuffix(".in")).write_text(text)
        return folder

    async def open_room(self, size: int) -> dict[str, Any]:
        self.rooms += 1
        port = free_port()
        folder = self.write_config(port)
        self.process = Process(
            "janus",
            [self.binary, "-C", str(folder / "janus.jcfg"), "-F", str(folder), "--disable-colors"],
            self.workdir / f"janus-{self.rooms}.log",
        )
        base = f"http://127.0.0.1:{port}/janus"
        await wait_http(base + "/info", self.process)
        room = 4200 + self.rooms
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                async with http.post(base + path, json={**body, "transaction": secrets.token_hex(6)}) as response:
                    answer: dict[str, Any] = await response.json(content_type=None)
                if answer.get("janus") == "error":
                    raise ServerError(f"janus {body}: {answer.get('error')}")
                return answer

            session = (await post("", {"janus": "create"}))["data"]["id"]
            handle = (await post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}))["data"]["id"]
            created = await post(
                f"/{session}/{handle}",
                {
                    "janus": "message",
                    "body": {
                        "request": "create",
                        "room": room,
                        "publishers": max(size, 2),
                        "audiocodec": "opus",
                        "videocodec": "vp8",
                        "bitrate": 0,
                        "fir_freq": 0,
                        "notify_joining": False,
                    },
                },
            )
            data = created.get("plugindata", {}).get("data", {})
            if data.get("videoroom") != "created":
                raise ServerError(f"videoroom create: {created}")
            await post(f"/{session}", {"janus": "destroy"})
        return {"kind": "janus", "base": base, "room": room}

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, "version": self.version, "ice_address": self.client_addresses()[0]}


def janus_library_dir() -> str:
    for candidate in (
        Path("/usr/lib/x86_64-linux-gnu/janus"),
        Path("/usr/lib/aarch64-linux-gnu/janus"),
        Path("/usr/lib/janus"),
    ):
        if (candidate / "plugins").is_dir():
            return str(candidate)
    raise ServerError("Janus's plugin folder was not found")


class HavenServer(Server):
    name = "haven"
    label = "Haven forwarder (Python, haven serve)"

    def __init__(self, workdir: Path, max_size: int) -> None:
        super().__init__(workdir)
        self.max_size = max_size
        self.services: Any = None
        self.node: Any = None
        self.tail_lines: Any = None
        self.http: aiohttp.ClientSession | None = None
        self.api: Any = None
        self.admin = ""
        self.seats: list[tuple[str, str]] = []  # (user id, token); seat 0 is a facilitator
        self.group_id = ""

    def member_name(self, index: int) -> str:
        return self.seats[index][0]

    async def start(self) -> None:
        from bench.chat_targets import Services
        from bench.cpu import CpuProbe
        from bench.rooms import StderrTail
        from tests.support import databases
        from tests.support.api import Api
        from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, clean_env, create_admin, start_node

        self.services = Services(CpuProbe())
        await self.services.start()
        database_url = await databases.create_database(self.services.server_url)
        self.services.databases.append(database_url)
        env = clean_env(
            HAVEN_DATABASE_URL=database_url,
            HAVEN_REDIS_URL=self.services.redis_url,
            HAVEN_REDIS_PREFIX=self.services.fresh_prefix("forwarding") + ":",
            HAVEN_JWT_SECRET="bench-secret-" + secrets.token_hex(24),
            HAVEN_LOG_LEVEL="warning",
            HAVEN_MESH_LIMIT="0",
            HAVEN_MEDIA_WORKERS="1",
        )
        await asyncio.to_thread(create_admin, self.workdir, env)
        self.node = await asyncio.to_thread(start_node, self.workdir, env)
        self.tail_lines = StderrTail(self.node)
        self.http = aiohttp.ClientSession(base_url=self.node.base, timeout=aiohttp.ClientTimeout(total=60))
        self.api = Api(self.http)
        self.admin = await self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        tag = secrets.token_hex(3)

        async def seat(index: int) -> tuple[str, str]:
            role = "facilitator" if index == 0 else "participant"
            user_id, token = await self.api.user(self.admin, f"fwd-{tag}-{index:03d}@example.org", role)
            return str(user_id), str(token)

        for first in range(0, self.max_size, 4):  # argon2 on the node: a few at a time
            self.seats += await asyncio.gather(*(seat(i) for i in range(first, min(first + 4, self.max_size))))

    async def open_room(self, size: int) -> dict[str, Any]:
        if size > HAVEN_MAX_CAPACITY:
            raise ServerError(f"Haven's group capacity is at most {HAVEN_MAX_CAPACITY}")
        self.rooms += 1
        body = {"name": f"Forwarding bench {self.rooms}", "capacity": min(size + 2, 50), "lobby_enabled": False}
        status, answer = await self.api.call("POST", "/api/groups", self.admin, body)
        if status != 201:
            raise ServerError(f"POST /api/groups: {status} {answer}")
        self.group_id = str(answer["id"])
        for index in range(size):
            role = "facilitator" if index == 0 else "participant"
            await self.api.enrol(self.admin, self.group_id, self.seats[index][0], role)
        return {
            "kind": "haven",
            "url": self.node.base,
            "room_id": self.group_id,
            "tokens": {user_id: token for user_id, token in self.seats[:size]},
        }

    async def close_room(self) -> None:
        """The members leave (the workers do that); the node stays for the next room."""

    async def stop(self) -> None:
        http, node, services = self.http, self.node, self.services
        self.http = self.node = self.services = None
        if http is not None:
            await http.close()
        if node is not None:
            with contextlib.suppress(Exception):
                await node.stop(within=15)
        if services is not None:
            await services.stop()

    def forwarder_cpu(self) -> float:
        # The node and any media worker processes it started (HAVEN_MEDIA_WORKERS).
        return tree_cpu_seconds(self.node.process.pid) if self.node is not None else 0.0

    def forwarder_alive(self) -> bool:
        return self.node is not None and self.node.process.poll() is None

    def cpu_parts(self) -> dict[str, float]:
        if self.node is None:
            return {}
        node = cpu_seconds(self.node.process.pid, reaped_children=True)
        return {"node": node, "media workers": self.forwarder_cpu() - node}

    def logs(self) -> str:
        lines = "\n".join(self.tail_lines.lines) if self.tail_lines is not None else ""
        return f"--- haven serve stderr (last lines) ---\n{lines}"


def make_server(name: str, workdir: Path, max_size: int) -> Server:
    if name == "relay":
        return RelayServer(workdir)
    if name == "janus":
        return JanusServer(workdir)
    if name == "haven":
        return HavenServer(workdir, max_size)
    raise ValueError(name)
