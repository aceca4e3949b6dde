"""A private, throwaway coturn TURN server on loopback, with coturn's REST-secret scheme (``use-auth-secret``).

Like ``services.PrivateRedis`` it lives in its own temporary folder on a free port and is removed afterwards. Its
configuration file, SQLite user database, pid file and log all live in that folder, so nothing under /etc or /var is
read or written (coturn otherwise reads /etc/turnserver.conf and opens /var/lib/turn/turndb). The secret is in the
configuration file (mode 0600), not on the command line, so ``ps`` does not show it; coturn logs the REST usernames
(``<expiry>:<random>``), which name nobody.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import free_port

REALM = "haven.test"
STUN_MAGIC_COOKIE = 0x2112A442
STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101
# Relay ports per server: each call side allocates one, so a few dozen is plenty and keeps parallel runs apart.
RELAY_PORTS = 64


def free_udp_and_tcp_port() -> int:
    """A loopback port free for both UDP and TCP (coturn listens on both)."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP+TCP port on 127.0.0.1")


def free_udp_range(size: int) -> int:
    """The first port of ``size`` consecutive loopback UDP ports that are free now (a best effort, as ever)."""
    for _ in range(50):
        # Below the kernel's ephemeral range (32768 and up by default), where nothing picks ports by itself.
        first = 20_000 + secrets.randbelow(10_000)
        taken = False
        for port in range(first, first + size):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return first
    raise RuntimeError(f"no {size} consecutive free UDP ports on 127.0.0.1")


def stun_binding_answered(port: int, timeout: float = 0.3) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:``port`` over UDP gets a success response."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", STUN_BINDING_REQUEST, 0, STUN_MAGIC_COOKIE) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        try:
            udp.sendto(request, ("127.0.0.1", port))
            reply, _ = udp.recvfrom(2048)
        except OSError:  # timeout, or ICMP port unreachable before coturn binds
            return False
    return len(reply) >= 20 and struct.unpack("!H", reply[:2])[0] == STUN_BINDING_SUCCESS and reply[8:20] == transaction


@dataclass
class PrivateTurn:
    """coturn on 127.0.0.1 (UDP and TCP), relaying between loopback peers only, with a random REST secret."""

    port: int = field(default_factory=free_udp_and_tcp_port)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    realm: str = REALM
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="haven-turn-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def log_path(self) -> Path:
        return self.root / "turn.log"

    def config(self, min_port: int) -> str:
        lines = [
            f"listening-port={self.port}",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"min-port={min_port}",
            f"max-port={min_port + RELAY_PORTS - 1}",
            "use-auth-secret",
            f"static-auth-secret={self.secret}",
            f"realm={self.realm}",
            "fingerprint",
            # Plain UDP/TCP only: no certificates to make, and nothing but loopback peers.
            "no-tls",
            "no-dtls",
            "no-tcp-relay",
            "no-cli",
            "no-rfc5780",
            "no-software-attribute",
            "allow-loopback-peers",  # both call sides are on 127.0.0.1; coturn refuses loopback peers otherwise
            "no-multicast-peers",
            # One relay thread: the tests' media is a few hundred packets a second, and the machine has 2 cores.
            "relay-threads=1",
            "total-quota=64",
            # Everything coturn would otherwise put under /var (its user database, pid file and logs) stays here.
            f"userdb={self.root / 'turndb'}",
            f"pidfile={self.root / 'turn.pid'}",
            f"log-file={self.log_path}",
            "simple-log",
            "no-stdout-log",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError("turnserver not found: run ./scripts/test, which installs coturn")
        config = self.root / "turnserver.conf"
        config.touch(mode=0o600)
        config.write_text(self.config(free_udp_range(RELAY_PORTS)))
        self.process = subprocess.Popen(
            [binary, "-c", str(config)],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so stopping it cannot miss a helper it forked.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not stun_binding_answered(self.port):
            if self.process.poll() is not None:
                log = self.log_path.read_text() if self.log_path.exists() else ""
                self.process = None
                raise RuntimeError(f"turnserver exited at start-up:\n{log[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"turnserver did not answer STUN on 127.0.0.1:{self.port} after {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateTurn:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


@contextlib.contextmanager
def turn_server() -> Iterator[PrivateTurn]:
    with PrivateTurn() as server:
        yield server
