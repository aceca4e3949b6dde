"""Where the forwarder's media sockets are: on the configured address, within the UDP port range, announcing the
public address behind NAT, and nothing but what is configured (never a public STUN server)."""

from __future__ import annotations

import socket

from aioice import Connection

from media.network import MediaNetwork


def free_range(size: int) -> tuple[int, int]:
    """A run of ports to use; the test binds them right after, and tolerates one being taken meanwhile."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    low = probe.getsockname()[1]
    probe.close()
    low = min(low, 65535 - size)
    return low, low + size - 1


async def test_candidates_are_gathered_in_the_port_range_and_announce_the_public_address() -> None:
    low, high = free_range(20)
    network = MediaNetwork(addresses=("127.0.0.1",), ports=(low, high), public_address="203.0.113.7")
    connections = [Connection(ice_controlling=False) for _ in range(3)]
    try:
        for connection in connections:
            network.install(connection)
            await connection.gather_candidates()
        candidates = [c for connection in connections for c in connection.local_candidates]
        assert len(candidates) == 3  # one host candidate each, on the one configured address
        assert {c.host for c in candidates} == {"203.0.113.7"}
        assert {c.type for c in candidates} == {"host"}
        ports = [c.port for c in candidates]
        assert all(low <= port <= high for port in ports), ports
        assert len(set(ports)) == 3  # each connection its own socket
        bound = {p.transport.get_extra_info("sockname") for connection in connections for p in connection._protocols}
        assert {address for address, _ in bound} == {"127.0.0.1"}  # bound privately, announced publicly
    finally:
        for connection in connections:
            await connection.close()


async def test_without_settings_the_forwarder_asks_nobody_outside() -> None:
    network = MediaNetwork()
    assert network.rtc_ice_servers() == []
    connection = Connection(ice_controlling=False)
    network.install(connection)  # nothing configured: aioice's own gathering, on this machine's interfaces only
    try:
        await connection.gather_candidates()
        assert all(c.type == "host" for c in connection.local_candidates)
    finally:
        await connection.close()
