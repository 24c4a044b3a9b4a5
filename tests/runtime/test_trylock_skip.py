"""A failed trylock skips its body up to the release that balances it.

The "recursive trylock" case of test_real_c.py takes S in its trylock body
again (``spin_trylock_recursive(S) spin_lock_recursive(S) cs
spin_unlock_recursive(S) spin_unlock_recursive(S)``).  Skipping only to the
first matching release left the CPU whose trylock failed running the second
``spin_unlock_recursive(S)`` on a lock another CPU held: a release by a
non-holder, whose plain read-modify-writes of the recursion bitfields race
the holder's in Xen's own code (lost updates, torn recurse_cpu) -- outcomes
that the model, folding each of them into one step, does not have (one
real run in four CI runs of 600, and in 400000 runs of the harness, ended
with S over-released: "fin=s1:-1").
"""

from __future__ import annotations

from xenpatch.runtime.explore import explore
from xenpatch.runtime.machine import Config, Machine
from xenpatch.runtime.programs import Op, parse_program_text, skip_failed_trylock

CASE = """
cpu0: spin_trylock_recursive(S) spin_lock_recursive(S) cs
+ spin_unlock_recursive(S) spin_unlock_recursive(S)
cpu1: spin_lock(S) cs spin_unlock(S) spin_trylock_recursive(S) spin_unlock_recursive(S)
"""


def _ops(text: str) -> tuple[Op, ...]:
    return parse_program_text("cpu0: " + text).programs[0].ops


def test_skip_goes_past_the_balancing_release() -> None:
    nested = _ops("spin_trylock_recursive(S) spin_lock_recursive(S) cs "
                  "spin_unlock_recursive(S) spin_unlock_recursive(S) spin_lock(T)")
    assert skip_failed_trylock(nested, 0) == 5
    # Without nesting, the first release of the same lock and kind ends the body.
    flat = _ops("spin_trylock(S) spin_lock(T) spin_unlock(T) spin_unlock(S) spin_unlock(S)")
    assert skip_failed_trylock(flat, 0) == 4
    # Acquires with another release kind, or of another lock, do not nest.
    reads = _ops("read_trylock(R) read_lock_irq(R) read_unlock_irq(R) read_lock(Q) "
                 "read_unlock(R) read_unlock(Q)")
    assert skip_failed_trylock(reads, 0) == 5
    nested_try = _ops("write_trylock(R) write_trylock(R) write_unlock(R) write_unlock(R)")
    assert skip_failed_trylock(nested_try, 0) == 4
    assert skip_failed_trylock(_ops("spin_trylock(S) spin_lock(S) spin_unlock(S)"), 0) == 3


def test_failed_recursive_trylock_leaves_the_lock_alone() -> None:
    m = Machine(parse_program_text(CASE), Config("q417", "release"))  # type: ignore[arg-type]
    res = explore(m)
    assert res.complete and res.ok
    s = m.locks["S"].base
    no_cpu = m.cfg.layout.no_cpu
    failed = [o for o in res.outcomes if o.obs[0] == ((0, False),)]
    assert failed, "cpu0's trylock can fail while cpu1 holds S"
    for o in res.outcomes:
        # head == tail, recurse_cpu and recurse_cnt back to their initial values:
        # no CPU ran an unlock of S it had not taken.
        assert (o.mem[s] == o.mem[s + 1], o.mem[s + 2], o.mem[s + 3]) == (True, no_cpu, 0), o


def test_a_real_release_by_a_non_holder_still_shows() -> None:
    # The skip must not hide misuse a program states: an unbalanced
    # spin_unlock_recursive still runs and still upsets the recursion count.
    m = Machine(parse_program_text(
        "cpu0: spin_lock_recursive(S) spin_unlock_recursive(S) spin_unlock_recursive(S)"),
        Config("q417", "release"))  # type: ignore[arg-type]
    (o,) = explore(m).outcomes
    assert o.mem[m.locks["S"].base + 3] == m.cfg.layout.recurse_mask
