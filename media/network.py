"""Where the forwarder's media sockets live: the addresses it gathers on, the UDP port range, the address it
announces behind NAT, and the ICE servers (from configuration only: never a public STUN server).

aioice would gather on every interface except loopback, on any port. A forwarder serving ``127.0.0.1`` (tests,
a single machine) or a deployment with a firewall opening a port range needs both chosen: ``install`` replaces a
connection's gathering with host candidates bound here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from dataclasses import dataclass, field
from typing import Any

from aioice import Candidate, candidate, ice
from aioice.ice import Connection, StunProtocol
from aiortc import RTCIceServer

RECEIVE_BUFFER = 4 * 1024 * 1024  # many streams arrive on one loop: give the kernel room between reads


@dataclass
class MediaNetwork:
    addresses: tuple[str, ...] = ()  # empty: every non-loopback interface (aioice's own choice)
    ports: tuple[int, int] | None = None  # inclusive UDP range
    public_address: str | None = None
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    _next_port: itertools.cycle[int] | None = None

    def rtc_ice_servers(self) -> list[RTCIceServer]:
        return [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in self.ice_servers
        ]

    def install(self, connection: Connection) -> None:
        """Make ``connection`` gather its host candidates on this network's addresses and ports."""
        if not self.addresses and self.ports is None and self.public_address is None:
            return
        network = self

        async def gather_candidates() -> None:
            if connection._local_candidates_start:
                return
            connection._local_candidates_start = True
            connection._local_candidates += await network._host_candidates(connection)
            connection._local_candidates_end = True

        connection.gather_candidates = gather_candidates  # type: ignore[method-assign]

    async def _host_candidates(self, connection: Connection) -> list[Candidate]:
        loop = asyncio.get_running_loop()
        addresses = self.addresses or tuple(ice.get_host_addresses(use_ipv4=True, use_ipv6=False))
        candidates: list[Candidate] = []
        for address in addresses:
            bound = await self._bind(loop, connection, address)
            if bound is None:
                continue
            protocol, port = bound
            host = self.public_address or address
            protocol.local_candidate = Candidate(
                foundation=candidate.candidate_foundation("host", "udp", host),
                component=1,
                transport="udp",
                priority=candidate.candidate_priority(1, "host"),
                host=host,
                port=port,
                type="host",
            )
            connection._protocols.append(protocol)
            candidates.append(protocol.local_candidate)
        return candidates

    async def _bind(
        self, loop: asyncio.AbstractEventLoop, connection: Connection, address: str
    ) -> tuple[StunProtocol, int] | None:
        ports: list[int] = [0]
        if self.ports is not None:
            low, high = self.ports
            if self._next_port is None:
                self._next_port = itertools.cycle(range(low, high + 1))
            ports = [next(self._next_port) for _ in range(high - low + 1)]
        for port in ports:
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: StunProtocol(connection), local_addr=(address, port)
                )
            except OSError:
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            return protocol, transport.get_extra_info("sockname")[1]
        return None
