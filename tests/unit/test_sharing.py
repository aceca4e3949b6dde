"""Each room or call is swept by exactly one live node, and a node leaving moves only its own share."""

from signaling.sharing import share_of, sweeper_of

ROOMS = [f"room-{i}" for i in range(300)]


def test_every_room_has_exactly_one_sweeper_among_the_live_nodes() -> None:
    nodes = ["node-a", "node-b", "node-c"]
    tests = {node: share_of(node, nodes) for node in nodes}
    for room in ROOMS:
        assert [node for node in nodes if tests[node](room)] == [sweeper_of(room, nodes)]


def test_the_work_is_spread_over_the_nodes() -> None:
    nodes = ["node-a", "node-b", "node-c"]
    counts = {node: sum(share_of(node, nodes)(room) for room in ROOMS) for node in nodes}
    assert sum(counts.values()) == len(ROOMS)
    assert min(counts.values()) > len(ROOMS) // 6


def test_a_node_leaving_hands_over_only_its_own_rooms() -> None:
    before = {room: sweeper_of(room, ["node-a", "node-b", "node-c"]) for room in ROOMS}
    after = {room: sweeper_of(room, ["node-a", "node-b"]) for room in ROOMS}
    moved = {room for room in ROOMS if before[room] != after[room]}
    assert moved == {room for room in ROOMS if before[room] == "node-c"}


def test_a_node_not_yet_seen_alive_counts_itself_and_a_lone_node_sweeps_everything() -> None:
    assert all(share_of("node-a", [])(room) for room in ROOMS)
    newcomer = share_of("node-new", ["node-a"])
    assert any(newcomer(room) for room in ROOMS)
    assert not all(newcomer(room) for room in ROOMS)
