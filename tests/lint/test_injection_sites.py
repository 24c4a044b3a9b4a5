"""The injector's choice of sites (tests/lint/injection.py), on small files
written here: a return injected right after a lock that the function was
entered holding is no leak, so such a take is no site; the cross-file
self-deadlock calls only a function defined once and declared in a header;
a release is made the other mode only where one take precedes it; and the
lint reports each injection made (so that a miss on a real tree is the
lint's, not the injector's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.injection import (
    FLAG,
    PLAIN,
    early_returns,
    extern_acquire_returns,
    extern_acquires,
    extern_takers,
    injections,
    percpu_rereads,
    wrapper_early_returns,
    wrong_release_modes,
)
from xenpatch.lint.run import lint_files

RETAKE = b"""\
struct st { spinlock_t lock; int n; };

static void retake(struct st *s)
{
    ASSERT(spin_is_locked(&s->lock));
    spin_unlock(&s->lock);
    s->n++;
    spin_lock(&s->lock);
    if ( s->n )
        spin_unlock(&s->lock);
    spin_lock(&s->lock);
}

static void plain(struct st *s)
{
    spin_lock(&s->lock);
    s->n++;
    spin_unlock(&s->lock);
}
"""


def test_a_take_again_in_a_function_entered_holding_the_lock_is_no_site() -> None:
    got = [(i.function, i.line) for i in early_returns("a.c", RETAKE, PLAIN, "early-return")]
    assert got == [("plain", 18)]


HEADER = b"int take_count(struct st *s, int how);\n"
TAKER = b"""\
#include "a.h"
struct st { spinlock_t lock; int n; };

int take_count(struct st *s, int how)
{
    int n;

    spin_lock(&s->lock);
    n = s->n;
    spin_unlock(&s->lock);
    return n + how;
}

int twice(struct st *s)
{
    spin_lock(&s->lock);
    spin_unlock(&s->lock);
    return 0;
}
"""
TWICE = b"""\
int twice(struct st *s)
{
    return 1;
}
"""
CALLER = b"""\
#include "a.h"
struct st { spinlock_t lock; int n; };

void bump(struct st *s)
{
    spin_lock(&s->lock);
    s->n++;
    spin_unlock(&s->lock);
}
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    xen = tmp_path / "xen"
    # include/xen/spinlock.h marks a Xen tree: the hook's lint of one file
    # reads the tree's other files for what the file calls.
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_bytes(b"")
    (xen / "common").mkdir()
    (xen / "include" / "a.h").write_bytes(HEADER + b"int twice(struct st *s);\n")
    (xen / "common" / "taker.c").write_bytes(TAKER)
    (xen / "common" / "other.c").write_bytes(TWICE)
    (xen / "common" / "caller.c").write_bytes(CALLER)
    return xen


def test_extern_takers_are_defined_once_and_declared(tree: Path) -> None:
    takers, relays = extern_takers(tree, sorted(tree.rglob("*.c")))
    assert relays == {}
    # twice() takes the lock too, but another file defines a twice() of
    # its own: no call of it names one function.
    assert {k: [t.name for t in v] for k, v in takers.items()} == \
        {("st", "lock"): ["take_count"]}
    [t] = takers[("st", "lock")]
    assert (t.rel, t.arity, t.at) == ("common/taker.c", 2, 0)


def test_the_extern_self_deadlock_is_injected_and_reported(
        tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [inj] = [i for i in injections(tree, per_shape=4) if i.shape == "self-deadlock-extern"]
    assert (inj.rel, inj.function, inj.line) == ("common/caller.c", "bump", 7)
    assert inj.text.splitlines()[6].strip() == b"take_count(s, 0);"
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    path = tree / inj.rel
    [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
    assert [(f.check, f.line) for f in r.findings] == [("XL010", 7)]
    [before] = lint_files([(path, str(path))], jobs=1)
    assert before.findings == []
    assert FLAG not in inj.text.decode()


MODES = b"""\
struct st { rwlock_t lock; int n; };

static int once(struct st *s)
{
    read_lock(&s->lock);
    if ( s->n )
    {
        read_unlock(&s->lock);
        return 1;
    }
    read_unlock(&s->lock);
    return 0;
}

static void twice(struct st *s)
{
    read_lock(&s->lock);
    read_unlock(&s->lock);
    write_lock(&s->lock);
    write_unlock(&s->lock);
}
"""


def test_a_release_made_the_other_mode_only_where_one_take_is_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = list(wrong_release_modes("a.c", MODES))
    # twice() takes the lock in both modes: which take a path shows is not
    # the injector's to say.
    assert [(i.function, i.line, i.path_lines) for i in got] == \
        [("once", 8, (5, 8)), ("once", 11, (5, 11))]
    assert got[0].text.splitlines()[7].strip() == b"write_unlock(&s->lock);"
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "a.c"
    for inj in got:
        [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
        assert [(f.check, f.line) for f in r.findings] == [("XL003", inj.line)]


WRAPPED = b"""\
struct gt { percpu_rwlock_t lock; int n; };
DEFINE_PERCPU_RWLOCK_GLOBAL(gt_rwlock);

static inline void gt_read_lock(struct gt *g)
{
    percpu_read_lock(gt_rwlock, &g->lock);
}

static inline void gt_read_unlock(struct gt *g)
{
    percpu_read_unlock(gt_rwlock, &g->lock);
}

int count(struct gt *g)
{
    int n;

    gt_read_lock(g);
    n = g->n;
    gt_read_unlock(g);
    return n;
}
"""


def test_an_early_return_after_the_files_percpu_wrapper_is_a_leak(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [inj] = wrapper_early_returns("g.c", WRAPPED)
    assert (inj.function, inj.line) == ("count", 20)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "g.c"
    [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
    assert [(f.check, f.line) for f in r.findings] == [("XL001", 20)]


WRITE_WRAPPERS = b"""
static inline void gt_write_lock(struct gt *g)
{
    percpu_write_lock(gt_rwlock, &g->lock);
}

static inline void gt_write_unlock(struct gt *g)
{
    percpu_write_unlock(gt_rwlock, &g->lock);
}
"""


def test_a_write_through_a_helper_under_the_read_wrapper(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a write wrapper in the file there is nothing to inject.
    assert list(percpu_rereads("g.c", WRAPPED, "write")) == []
    text = WRAPPED.replace(b"int count", WRITE_WRAPPERS.lstrip() + b"\nint count")
    [inj] = percpu_rereads("g.c", text, "write")
    assert (inj.shape, inj.function, inj.check) == ("percpu-write-under-read", "count", "XL007")
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "g.c"
    [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
    assert [(f.check, f.line) for f in r.findings] == [("XL007", inj.line)]


ACQUIRE_C = b"""\
static spinlock_t _big_lock = SPIN_LOCK_UNLOCKED;

void big_lock_unsafe(void)
{
    /* The header's big_lock() adds the barrier. */
    spin_lock_recursive(&_big_lock);
}

void big_unlock(void)
{
    spin_unlock_recursive(&_big_lock);
}
"""
ACQUIRE_H = b"""\
void big_lock_unsafe(void);
void big_unlock(void);
static always_inline void big_lock(void)
{
    big_lock_unsafe();
    block_speculation();
}
"""
USER = b"""\
#include <xen/big.h>

int use(int x)
{
    big_lock();
    x++;
    big_unlock();
    return x;
}

void released_first(void)
{
    big_unlock();
    big_lock();
    big_unlock();
}
"""


def test_an_early_return_after_another_files_lock_function(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_bytes(b"")
    (xen / "include" / "xen" / "big.h").write_bytes(ACQUIRE_H)
    (xen / "common").mkdir()
    (xen / "common" / "big.c").write_bytes(ACQUIRE_C)
    (xen / "common" / "use.c").write_bytes(USER)
    acquires = extern_acquires(xen, sorted(xen.rglob("*.c")))
    assert acquires == {"big_lock_unsafe": ("big_unlock", "common/big.c"),
                        "big_lock": ("big_unlock", "common/big.c")}
    # released_first() releases before it takes: no site there.
    [inj] = extern_acquire_returns("common/use.c", USER, acquires)
    assert (inj.function, inj.line) == ("use", 7)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    path = xen / inj.rel
    [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
    assert [(f.check, f.line) for f in r.findings if f.function == "use"] == [("XL001", 7)]


def test_a_void_function_with_attributes_gets_a_plain_return() -> None:
    text = b"""\
struct st { spinlock_t lock; int n; };

void __init cf_check setup(struct st *s)
{
    spin_lock(&s->lock);
    s->n = 0;
    spin_unlock(&s->lock);
}
"""
    [inj] = early_returns("s.c", text, PLAIN, "early-return")
    assert inj.text.splitlines()[inj.line - 1].strip() == b"return;"
