"""The line model on hand-computed cases."""

from __future__ import annotations

import pytest

from xenpatch.cost.coherence import Lines, cross_fraction, spread


def test_a_hit_and_a_silent_upgrade_move_nothing():
    c = Lines([0, 0])
    assert c.access(0, "L", "load") is None  # cold: a fill from memory
    assert c.fills == 1
    assert c.access(0, "L", "load") is None
    assert c.access(0, "L", "store") is None  # only holder: E -> M
    assert c.access(0, "L", "rmw") is None
    assert c.fills == 1


def test_a_modified_line_is_forwarded_then_shared():
    c = Lines([0, 0])
    c.access(0, "L", "store")
    t = c.access(1, "L", "load")
    assert t is not None and t.modified and t.kind == "load"
    assert c.holders("L") == {0, 1}
    # the old owner kept a shared copy: its load hits
    assert c.access(0, "L", "load") is None
    # a store with another copy around: one transfer (the invalidation), clean data
    t = c.access(1, "L", "store")
    assert t is not None and not t.modified
    assert c.holders("L") == {1}
    t = c.access(0, "L", "rmw")
    assert t is not None and t.modified and t.kind == "rmw"


def test_every_writer_in_turn_pays_one_transfer():
    """N CPUs incrementing one counter in turn: each RMW after the first
    round moves the line once."""
    n = 5
    c = Lines([0] * n)
    moves = sum(c.access(cpu, "L", "rmw") is not None
                for _ in range(3) for cpu in range(n))
    assert moves == 3 * n - 1


def test_lines_are_independent():
    c = Lines([0, 0])
    c.access(0, "slot0", "store")
    c.access(1, "slot1", "store")
    assert c.access(0, "slot0", "store") is None
    assert c.access(1, "slot1", "store") is None


def test_crossing_sockets():
    c = Lines([0, 1, 0])
    c.access(0, "L", "store")
    t = c.access(2, "L", "load")
    assert t is not None and not t.cross  # from CPU 0, same socket
    t = c.access(1, "L", "load")
    assert t is not None and t.cross  # the copies are all on socket 0
    t = c.access(0, "L", "store")
    assert t is not None and t.cross  # CPU 1's copy must be invalidated


@pytest.mark.parametrize(("n", "s", "want"), [
    (1, 2, 0.0), (2, 2, 1.0), (4, 2, 8 / 12), (8, 1, 0.0), (3, 3, 1.0), (4, 4, 1.0),
    (6, 2, 18 / 30),
])
def test_cross_fraction(n: int, s: int, want: float):
    assert cross_fraction(n, s) == pytest.approx(want)
    assert spread(n, s).count(0) == -(-n // s)
