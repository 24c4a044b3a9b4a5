"""Difftest on hand-written programs modelled on Xen's grant table.

``__acquire_grant_for_copy`` on a transitive v2 grant (docs/xen-locks.md 4):
read-lock the granting table rgt, take the entry lock, drop both, recurse
into the transitive table td (read lock + its entry lock), then re-take rgt
and the entry lock.  A is rgt, B is td; both are grant tables, so after the
conversion both use class grant_rwlock.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.runtime.difftest import difftest, format_divergence
from xenpatch.runtime.machine import Config
from xenpatch.runtime.programs import LockDecl, Op, Program

C = "grant_rwlock"
NAMES = {"r": "read_lock", "ru": "read_unlock", "w": "write_lock", "wu": "write_unlock"}


def _prog(ops: list[tuple[str, str]], percpu: bool) -> Program:
    """Grant-lock ops written generically: ('r'|'ru'|'w'|'wu'|'s'|'su', lock)."""
    out = []
    for kind, lock in ops:
        if kind in ("s", "su"):
            out.append(Op("spin_lock" if kind == "s" else "spin_unlock", lock))
            continue
        name = NAMES[kind]
        out.append(Op(f"percpu_{name}", lock, C) if percpu else Op(name, lock))
    return Program(tuple(out))


def pair(name: str, ops: list[tuple[str, str]]) -> tuple[str, Program, Program]:
    return (name, _prog(ops, False), _prog(ops, True))


# Drop-and-reacquire, as the real code does.
ACQUIRE_TRANSITIVE = pair("__acquire_grant_for_copy", [
    ("r", "A"), ("s", "actA"), ("su", "actA"), ("ru", "A"),      # drop act->lock and rgt
    ("r", "B"), ("s", "actB"), ("su", "actB"), ("ru", "B"),      # recursion on td
    ("r", "A"), ("s", "actA"), ("su", "actA"), ("ru", "A"),      # re-take, pin unchanged
])
# Artificial: keeps the rgt read lock across the recursion.
ACQUIRE_KEEPS_RGT = pair("__acquire_grant_for_copy(keeps rgt)", [
    ("r", "A"), ("s", "actA"), ("su", "actA"),
    ("r", "B"), ("s", "actB"), ("su", "actB"), ("ru", "B"),
    ("s", "actA"), ("su", "actA"), ("ru", "A"),
])
# A writer of td (gnttab_set_version-like) and a double_gt_lock(rgt, td)
# user; with B at the lower address double_gt_lock takes B first.
SET_VERSION_TD = pair("gnttab_set_version(td)", [("w", "B"), ("wu", "B")])
DOUBLE_GT = pair("double_gt_lock(rgt, td)", [("w", "B"), ("w", "A"), ("wu", "A"), ("wu", "B")])

LOCKS_BEFORE = [LockDecl("B", "rwlock"), LockDecl("A", "rwlock")]
LOCKS_AFTER = [LockDecl("B", "percpu", C), LockDecl("A", "percpu", C)]


@pytest.mark.parametrize("era", ["rw16", "qrw"])
def test_transitive_drop_and_reacquire_is_clean(era: str) -> None:
    cfg = Config(era)  # type: ignore[arg-type]
    found = difftest([ACQUIRE_TRANSITIVE, SET_VERSION_TD, DOUBLE_GT], cpus=(2,),
                     before=cfg, locks_before=LOCKS_BEFORE, locks_after=LOCKS_AFTER)
    assert found == [], "\n".join(format_divergence(d) for d in found)


@pytest.mark.slow
def test_transitive_clean_on_three_cpus() -> None:
    found = difftest([ACQUIRE_TRANSITIVE, SET_VERSION_TD], cpus=(3,), before=Config("qrw"),
                     locks_before=LOCKS_BEFORE, locks_after=LOCKS_AFTER)
    assert found == []


@pytest.mark.parametrize("era", ["rw16", "qrw"])
def test_keeping_rgt_across_recursion_is_reported(era: str) -> None:
    cfg = Config(era)  # type: ignore[arg-type]
    found = difftest([ACQUIRE_KEEPS_RGT, SET_VERSION_TD, DOUBLE_GT], cpus=(2,),
                     before=cfg, locks_before=LOCKS_BEFORE, locks_after=LOCKS_AFTER)
    assert found, "the variant must be reported"
    (d,) = [d for d in found if d.after.hazard is not None]
    assert d.functions == ("__acquire_grant_for_copy(keeps rgt)", "double_gt_lock(rgt, td)")
    assert d.kind == "deadlock"
    # The same read-then-write cycle already deadlocked the plain rwlock.
    assert d.status == "preexisting" and d.existed_before
    assert d.before.hazard is not None
    after = d.after.replay
    assert "percpu_read_lock(B, grant_rwlock)" in after  # CPU0 stuck on td, slot = A
    assert "percpu_write_lock(A, grant_rwlock)" in after  # CPU1 polls CPU0's slot
    assert "poll grant_rwlock[cpu0] = " in after
    text = format_divergence(d)
    assert text.startswith("preexisting: deadlock") and "before (" in text


def test_divergence_new_when_conversion_breaks_exclusion() -> None:
    # A function left on the raw inner rwlock (H6) excludes nothing after.
    reader = pair("reader", [("r", "A"), ("ru", "A")])
    raw_writer = ("raw_writer", Program((Op("write_lock", "A"), Op("write_unlock", "A"))),
                  Program((Op("write_lock", "A"), Op("write_unlock", "A"))))
    found = difftest([reader, raw_writer], cpus=(2,), locks_after=[LockDecl("A", "percpu", C)])
    (d,) = found
    assert (d.kind, d.status, d.functions) == ("exclusion", "new", ("reader", "raw_writer"))
    assert d.after.hazard is not None and d.after.schedule
    # Before: the same interleaving of operations runs clean.
    assert d.before.hazard is None and not d.existed_before
    assert d.before.replay.startswith("same interleaving of operations: no such hazard")
    assert "write_lock(A)" in d.before.replay and "read_lock(A)" in d.before.replay


def test_assert_firing_first_is_masked_not_fixed() -> None:
    # Nested read of the same lock with a writer: deadlocks as rwlock_t in
    # the 2016 tree; converted, the debug ASSERT fires first.  The deadlock
    # is still there underneath (the release build reaches it): masked.
    nested = pair("nested", [("r", "A"), ("r", "A"), ("ru", "A"), ("ru", "A")])
    writer = pair("writer", [("w", "A"), ("wu", "A")])
    found = difftest([nested, writer], cpus=(2,), before=Config("rw16"),
                     after=Config("rw16", "debug"))
    kinds = {(d.functions, d.kind, d.status) for d in found}
    assert (("nested", "writer"), "deadlock", "masked") in kinds
    assert (("nested", "writer"), "assert", "new") in kinds
    assert not any(d.status == "fixed" for d in found)


def test_divergence_fixed_only_when_the_hazard_disappears() -> None:
    # Write then read of the same lock on one CPU (L8): the 2016 rwlock
    # deadlocks; HEAD's percpu lock lets the owner read, no check in between.
    wr = pair("write_then_read", [("w", "A"), ("r", "A"), ("ru", "A"), ("wu", "A")])
    found = difftest([wr], cpus=(1,), before=Config("rw16"), after=Config("qrw"))
    assert [(d.kind, d.status) for d in found] == [("deadlock", "fixed")]
    assert found[0].after.hazard is None


def test_masked_before_is_not_new() -> None:
    # The reverse: a debug before-side whose ASSERT hid a deadlock the
    # after side shows is preexisting, not new.
    nested = pair("nested", [("r", "A"), ("r", "A"), ("ru", "A"), ("ru", "A")])
    writer = pair("writer", [("w", "A"), ("wu", "A")])
    found = difftest([(n, a, a) for n, _, a in (nested, writer)], cpus=(2,),
                     before=Config("rw16", "debug"), after=Config("rw16"))
    dl = [d for d in found if d.kind == "deadlock"]
    assert dl and all(d.status == "preexisting" for d in dl)


def _parse_repeat_line(line: str) -> tuple[str, str, set[tuple[str, ...]]]:
    head, _, tail = line.partition(" with ")
    status, kind = head.split(": ")
    if " and each of " in tail:
        name, _, partners = tail.partition(" and each of ")
        listed = partners.split(": ", 1)[1].split(", ")
        return status, kind, {tuple(sorted([name, *p.split(" + ")])) if p != name
                              else (name, name) for p in listed}
    return status, kind, {tuple(sorted(tail.split(" | ")))}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["new", "preexisting"]),
                          st.sampled_from(["deadlock", "held_at_end"]),
                          st.lists(st.sampled_from("abcdef"), min_size=2, max_size=3)
                          .map(tuple)), max_size=30))
def test_repeats_summarised_without_losing_a_combination(
        raw: list[tuple[str, str, tuple[str, ...]]]) -> None:
    from types import SimpleNamespace

    from xenpatch.runtime.difftest import summarise_repeats

    divs = [SimpleNamespace(status=s, kind=k, functions=f) for s, k, f in raw]
    lines = summarise_repeats(divs)  # type: ignore[arg-type]
    got: set[tuple[str, str, tuple[str, ...]]] = set()
    for line in lines:
        status, kind, combos = _parse_repeat_line(line)
        got |= {(status, kind, c) for c in combos}
    assert got == {(s, k, tuple(sorted(f))) for s, k, f in raw}
    assert len(lines) <= len({(s, k, tuple(sorted(f))) for s, k, f in raw})
    # a program in every combination of one (status, kind) gives that group one line
    if raw and all("a" in f for _, _, f in raw) and len({(s, k) for s, k, _ in raw}) == 1:
        assert len(lines) == 1
