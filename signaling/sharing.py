"""Which node sweeps what: each room or call is swept by one live node, chosen by rendezvous hashing, so a node's
periodic work grows with its share of the deployment rather than with all of it. When nodes come or go, only the
items of that node change hands. Two nodes that disagree for a moment (one just started, or its heartbeat lapsed)
may both sweep an item; compare-and-set makes that harmless, and an item is never left without a sweeper for
longer than a presence lifetime.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable


def _weight(node: str, item: str) -> bytes:
    return hashlib.blake2b(f"{node}\x00{item}".encode(), digest_size=8).digest()


def sweeper_of(item: str, nodes: Iterable[str]) -> str:
    """The node that sweeps ``item`` among ``nodes`` (which must not be empty)."""
    return max(nodes, key=lambda node: _weight(node, item))


def share_of(me: str, live_nodes: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether ``me`` sweeps an item, given the nodes alive now (``me`` counts as alive)."""
    nodes = sorted({me, *live_nodes})
    if len(nodes) == 1:
        return lambda item: True
    return lambda item: sweeper_of(item, nodes) == me
