"""A take two files away in a file linted alone (lint/heldtakers.py, the
later round's second hop in lint/lazyrounds.py): user.c holding a ring's
lock calls relay.c's ring_relay(), which calls ring.c's ring_count(),
which takes it through a static helper.  The hook reports what a
whole-tree run reports, and no more: the peer's lock and another type's
lock are not the held one.  A global lock is followed by its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import cold_runs, count_lints, small_tree
from xenpatch.analysis.locktable import Wrapper
from xenpatch.lint.heldtakers import LockTest, followed
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "secondhop"
RELS = ["common/ring.c", "common/relay.c", "common/user.c"]


def _tree(tmp_path: Path) -> Path:
    return small_tree(tmp_path / "xen", {
        **{rel: FIXTURE / rel for rel in RELS},
        "include/xen/ring.h": FIXTURE / "include" / "xen" / "ring.h"})


def _findings(r) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return sorted((f.line, f.check) for f in r.findings)


def test_the_hook_finds_the_take_two_files_away(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "whole"))
    whole = {r.path: _findings(r) for r in lint_files([(xen / r, r) for r in RELS], jobs=1)}
    assert whole["common/user.c"] == expected(FIXTURE / "common" / "user.c")
    linted = count_lints(monkeypatch)
    for rel, r in cold_runs(xen, RELS, tmp_path, monkeypatch, linted):
        assert _findings(r) == whole[rel], rel
        assert r.undecided == [], rel
        # -v says what the second hop followed: the peer's relay too (its
        # summary decides it is the peer's lock), not the slot's.
        hops = {n for n, _, why in r.searched if "two files away" in why}
        assert hops == ({"ring_relay", "ring_relay_peek", "ring_relay_peer", "ring_register"}
                        if rel == "common/user.c" else set()), rel


def test_a_kept_result_follows_the_taker(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The taker's file is among those the later round read: once it takes
    # the lock no more, the kept result of user.c is not the answer.
    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    rel = "common/user.c"
    for _ in range(2):
        [r] = lint_files([(xen / rel, rel)], jobs=1)
        assert _findings(r) == expected(FIXTURE / rel)
    ring = xen / "common" / "ring.c"
    ring.write_text(ring.read_text().replace("    spin_lock(&q->lock);\n", "")
                    .replace("    spin_unlock(&q->lock);\n", ""))
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    # The macro's take and the global list's lock are still two files away.
    assert [f.function for f in r.findings] == ["ring_shrink", "rings_reset"]


TAKES = [
    (b"void f(struct ring *q) { spin_lock(&q->lock); }", True),
    # Another argument first (the percpu API's owner).
    (b"void f(struct ring *q) { percpu_read_lock(owner, &q->lock); }", True),
    (b"void f(struct ring *q) { spin_lock(&(q)->lock); }", True),
    # A query names the lock without taking it.
    (b"void f(struct ring *q) { ASSERT(spin_is_locked(&q->lock)); }", False),
    # The same field of another struct type.
    (b"void f(struct slot *q) { spin_lock(&q->lock); }", False),
    # The field in an unrelated statement before the take.
    (b"void f(struct ring *q) { x = q->lock; spin_lock(&y); }", False),
    (b"void f(void) { spin_lock(&ring_list_lock); }", True),
    (b"void f(void) { ASSERT(spin_is_locked(&ring_list_lock)); }", False),
]


@pytest.mark.parametrize(("text", "takes"), TAKES)
def test_what_takes_a_held_lock(text: bytes, takes: bool) -> None:
    test = LockTest([("structring", "->lock"), ("", "ring_list_lock")],
                ["spin_lock", "percpu_read_lock"])
    assert test.takes(text) is takes


def test_a_wrapper_macro_of_an_arguments_field() -> None:
    wrappers = {
        "ring_lock": Wrapper("ring_lock", "spin_lock", ("&($0)->lock",)),
        # A wrapper of a wrapper: the lock is its second argument's.
        "ring_lock_second": Wrapper("ring_lock_second", "ring_lock", ("$1",)),
        # As mm-locks.h's: the lock is the inner wrapper's third argument.
        "mm_lock": Wrapper("mm_lock", "spin_lock", ("$2",)),
        "pod_lock": Wrapper("pod_lock", "mm_lock", ("pod", "($0)->domain", "&($0)->pod.lock")),
    }
    test = LockTest([("structring", "->lock"), ("structp2m", "->pod.lock")],
                    {"spin_lock": 0}, wrappers)
    assert test.takes(b"void f(struct ring *q) { ring_lock(q); }")
    assert test.takes(b"void f(int x, struct ring *q) { ring_lock_second(x, (q)); }")
    assert not test.takes(b"void f(struct ring *q, struct ring *z) { ring_lock_second(q, x); }")
    assert not test.takes(b"void f(struct slot *q) { ring_lock(q); }")
    assert test.takes(b"void f(struct p2m *p) { pod_lock(p); }")
    assert not test.takes(b"void f(struct p2m *p) { pod_unlock(p); }")


def test_a_lock_no_text_can_name_is_not_followed() -> None:
    # A typedef'd head, an indexed path: nothing narrows the test.
    assert not LockTest([("ring_t", "->lock"), ("structring", "->slots[*]->lock")],
                        {"spin_lock": 0})
    assert not LockTest([("structring", "->lock")], {})


def test_followed_through_the_definers_own_functions() -> None:
    raw = (FIXTURE / "common" / "ring.c").read_bytes()
    test = LockTest([("structring", "->lock")], {"spin_lock": 0})
    texts = {"common/ring.c": raw}
    definers = {n: ["common/ring.c"] for n in ("ring_count", "slot_touch")}
    assert followed(test, ["ring_count", "slot_touch"], definers, None, texts.get) == \
        frozenset({"ring_count"})
    # The linted file's own definitions are not followed here.
    assert followed(test, ["ring_count"], definers, "common/ring.c", texts.get) == frozenset()
    slot = LockTest([("structslot", "->lock")], {"spin_lock": 0})
    assert followed(slot, ["ring_count", "slot_touch"], definers, None, texts.get) == \
        frozenset({"slot_touch"})
