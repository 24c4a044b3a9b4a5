"""The cold single-file run's forked child (lint/forked.py): its answer
is taken only whole, from a child that exited cleanly; otherwise the run
does the work itself, and the results are the same either way."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from lint.trees import small_tree
from xenpatch.lint import forked
from xenpatch.lint import lazyrun as lint_lazyrun
from xenpatch.lint.run import lint_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def test_child_answers_whole() -> None:
    child = forked.Child(lambda: {"a": list(range(100000))})
    assert child.result() == {"a": list(range(100000))}
    assert child.result() is None  # asked once


def _fails() -> int:
    raise RuntimeError("no")


def _killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 1


def _exits() -> int:
    os._exit(0)


@pytest.mark.parametrize("fn", [_fails, _killed, _exits])
def test_child_without_a_whole_answer_gives_none(fn) -> None:  # type: ignore[no-untyped-def]
    assert forked.Child(fn).result() is None


def test_cancel_reaps_the_child() -> None:
    import time

    child = forked.Child(lambda: time.sleep(30))
    child.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(child._pid, os.WNOHANG)
    assert child.result() is None


def _slow(i: int) -> tuple[int, int]:
    import time

    time.sleep(0.02 * (i % 3))
    return i * i, os.getpid()


def test_shared_map_is_the_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "can_fork", lambda: True)
    got = forked.shared_map(_slow, 40)
    assert [v for v, _ in got] == [i * i for i in range(40)]
    # Not vacuous: both sides answered some.
    assert len({pid for _, pid in got}) == 2


def test_shared_map_does_no_task_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task the child has started is waited for, not done here too: the
    child starts the last at once and takes long over it; this process
    reaches it after the others."""
    import time

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    me = os.getpid()
    here: list[int] = []

    def fn(i: int) -> tuple[int, int]:
        if os.getpid() == me:
            here.append(i)
            time.sleep(0.3 if i == 0 else 0)
        elif i == 2:
            time.sleep(0.6)
        return i * i, os.getpid()

    got = forked.shared_map(fn, 3)
    assert [v for v, _ in got] == [0, 1, 4]
    assert here == [0, 1]
    assert got[2][1] != me


def _child_dies(parent: int, after: int) -> object:
    def fn(i: int) -> tuple[int, int]:
        if os.getpid() != parent and i < after:
            os.kill(os.getpid(), signal.SIGKILL)
        return _slow(i)
    return fn


def _child_fails(parent: int) -> object:
    def fn(i: int) -> tuple[int, int]:
        if os.getpid() != parent:
            raise RuntimeError("child")
        return _slow(i)
    return fn


@pytest.mark.parametrize("after", [40, 35, 0])
def test_shared_map_without_the_child(after: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child dying at once, after some answers, or failing: the same list."""
    monkeypatch.setattr(forked, "can_fork", lambda: True)
    me = os.getpid()
    got = forked.shared_map(_child_dies(me, after), 40)  # type: ignore[arg-type]
    assert [v for v, _ in got] == [i * i for i in range(40)]
    got = forked.shared_map(_child_fails(me), 40)  # type: ignore[arg-type]
    assert [v for v, _ in got] == [i * i for i in range(40)]
    assert {pid for _, pid in got} == {me}


_HELPERS = """struct domain { spinlock_t a; spinlock_t b; int n; };
void lock_a(struct domain *d) { spin_lock(&d->a); }
void unlock_a(struct domain *d) { spin_unlock(&d->a); }
void take_b(struct domain *d)
{
    spin_lock(&d->b);
    d->n++;
    spin_unlock(&d->b);
}
"""

_MORE = """struct domain { spinlock_t a; spinlock_t b; int n; };
int grab_a(struct domain *d)
{
    if ( d->n )
        return -1;
    spin_lock(&d->a);
    return 0;
}
"""

_USER = """struct domain { spinlock_t a; spinlock_t b; int n; };
void lock_a(struct domain *d);
void unlock_a(struct domain *d);
void take_b(struct domain *d);
int grab_a(struct domain *d);

void user(struct domain *d)
{
    lock_a(d);
    take_b(d);
    d->n = 0;
}

void other(struct domain *d)
{
    if ( grab_a(d) )
        return;
    take_b(d);
}
"""


def _cold(tree: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> object:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp / name))
    [r] = lint_files([(tree / "common/user.c", "common/user.c")], jobs=1)
    return ([(f.line, f.col, f.check, f.message, f.flow) for f in r.findings],
            r.functions, r.analysed, r.skipped, r.unknown)


def test_cold_run_same_with_a_child_failing(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(tmp_path / "xen", {"common/helpers.c": _HELPERS,
                                         "arch/x86/more.c": _MORE, "common/user.c": _USER})
    started: list[str] = []
    real, real_map = forked.Child, forked.shared_map

    def counted(fn):  # type: ignore[no-untyped-def]
        started.append("child")
        return real(fn)

    def counted_map(fn, n):  # type: ignore[no-untyped-def]
        started.append("shared")
        return real_map(fn, n)

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(forked, "Child", counted)
    monkeypatch.setattr(forked, "shared_map", counted_map)
    # Every index entry is missing on a cold run: prefetch it even here.
    monkeypatch.setattr(lint_lazyrun, "_PREFETCH_LEAST", 1)
    with_child = _cold(tree, tmp_path, monkeypatch, "c1")
    # Not vacuous: a child scanned the name index, one shared the summaries.
    assert sorted(started) == ["child", "shared"], started
    assert with_child[0], with_child  # findings there

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    monkeypatch.setattr(forked, "Child", real)
    monkeypatch.setattr(forked, "shared_map", real_map)
    assert _cold(tree, tmp_path, monkeypatch, "c2") == with_child

    # Children that die before answering, or fail: the run does their work.
    monkeypatch.setattr(forked, "can_fork", lambda: True)
    me = os.getpid()
    for broken in (_killed, _fails):
        monkeypatch.setattr(forked, "Child", lambda fn, b=broken: real(b))
        monkeypatch.setattr(forked, "shared_map", lambda fn, n, b=broken: real_map(
            lambda i: (b() if os.getpid() != me else None, fn(i))[1], n))
        assert _cold(tree, tmp_path, monkeypatch, f"c-{broken.__name__}") == with_child


# A file calling helpers of five other files: enough definers for the text
# scans to be shared with a child (lazy.Plan._scanned()).
_CALLEE = """struct domain {{ spinlock_t a; spinlock_t b; int n; }};
void take_{n}(struct domain *d)
{{
    spin_lock(&d->a);
    d->n = {n};
    spin_unlock(&d->a);
}}

int grab_{n}(struct domain *d)
{{
    if ( d->n == {n} )
        return -1;
    spin_lock(&d->b);
    return 0;
}}

int plain_{n}(int x)
{{
    return x + {n};
}}
"""

_CALLER = """struct domain { spinlock_t a; spinlock_t b; int n; };
""" + "".join(f"""void take_{n}(struct domain *d);
int grab_{n}(struct domain *d);
int plain_{n}(int x);
""" for n in range(5)) + """
void caller(struct domain *d)
{
""" + "".join(f"""    if ( grab_{n}(d) )
        return;
    take_{n}(d);
    d->n = plain_{n}(d->n);
""" for n in range(5)) + """}
"""


def test_cold_run_shares_the_text_scans(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a second CPU, the text scans of the definers are shared with a
    child (the run's second shared map, before the summaries'): the same
    findings, and the same tree cache kept, as when they are not."""
    # Two of them another architecture's: handed to this process first
    # (lazy.shared_order()).
    files = {f"{'arch/arm' if n > 2 else 'common'}/callee{n}.c": _CALLEE.format(n=n)
             for n in range(5)}
    files["common/user.c"] = _CALLER
    tree = small_tree(tmp_path / "xen", files)
    sizes: list[int] = []
    real_map = forked.shared_map

    def counted_map(fn, n):  # type: ignore[no-untyped-def]
        sizes.append(n)
        return real_map(fn, n)

    monkeypatch.setattr(forked, "can_fork", lambda: True)
    monkeypatch.setattr(forked, "shared_map", counted_map)
    # The name index scanned in a child too, the header facts derived here.
    monkeypatch.setattr(lint_lazyrun, "_PREFETCH_LEAST", 1)
    shared = _cold(tree, tmp_path, monkeypatch, "s1")
    # The scans of the five definers, then their summaries.
    assert sizes == [5, 5], sizes
    assert shared[0], shared  # findings there

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    assert _cold(tree, tmp_path, monkeypatch, "s2") == shared

    def kept(name: str) -> list[str]:
        return sorted(p.read_text() for p in (tmp_path / name / "lint").glob("*.json"))

    assert kept("s1") == kept("s2")


def test_shared_order_gives_this_process_the_other_architectures() -> None:
    """lazy.shared_order(): the files of another architecture than the one
    this process derived the header facts of come first (this process
    takes from the front), the others biggest at both ends."""
    from xenpatch.lint.lazy import shared_order

    sizes = {"arch/arm/mm.c": 5, "arch/arm/p2m.c": 9, "arch/x86/mm.c": 50,
             "common/page_alloc.c": 40, "common/vmap.c": 3, "common/domain.c": 7}
    got = shared_order(list(sizes), "x86", sizes.__getitem__)
    assert got == ["arch/arm/p2m.c", "arch/arm/mm.c",
                   "arch/x86/mm.c", "common/domain.c", "common/vmap.c", "common/page_alloc.c"]
    # No architecture derived yet: by size only.
    assert shared_order(list(sizes), None, sizes.__getitem__) == [
        "arch/x86/mm.c", "arch/arm/p2m.c", "arch/arm/mm.c", "common/vmap.c",
        "common/domain.c", "common/page_alloc.c"]


def test_a_busy_minute_past_leaves_the_second_cpu_to_a_child_if_it_is_free_now(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The minute's load average lags behind a build that just ended; what
    # is runnable now (this process one of them) decides then.
    def ask(cpus: int, load: float, now: int | None) -> bool:
        monkeypatch.setattr(forked, "_ROOM", None)
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(forked, "runnable_now", lambda: now)
        return forked.can_fork()

    assert ask(2, 0.5, 5)          # an idle minute
    assert ask(2, 3.0, 1)          # a busy minute, nothing else runnable now
    assert not ask(2, 3.0, 2)      # another process runs now
    assert not ask(2, 3.0, None)   # no way to tell: the minute's word
    assert ask(4, 3.5, 3)          # two others now, a fourth CPU free
    assert not ask(1, 0.0, 1)      # one CPU: no second one
    # Asked again in the same process: its first answer, whatever the
    # load says later (its own children count in it then).
    monkeypatch.setattr(forked, "runnable_now", lambda: 9)
    assert not forked.can_fork() and ask(2, 3.0, 1)
    monkeypatch.setattr(forked, "runnable_now", lambda: 9)
    assert forked.can_fork()


def test_the_runnable_count_is_read_from_the_kernel() -> None:
    now = forked.runnable_now()
    if not os.path.exists("/proc/loadavg"):
        assert now is None
    else:
        assert now is not None and now >= 1  # this process runs


class _Gone:
    """A child that gave nothing whole (killed, out of memory)."""

    def __init__(self, fn) -> None:  # type: ignore[no-untyped-def]
        pass

    def result(self) -> None:
        return None

    def cancel(self) -> None:
        pass


def test_the_merge_beside_the_settle_gives_the_same_findings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A whole-tree run with a second CPU merges XL017's takes (irqhops.merged())
    in a forked child while it settles the IRQ states (run._settled()): the
    findings are those of the merge in this process, and a child that gives
    nothing leaves the merge to this process."""
    from xenpatch.lint import run
    from xenpatch.paths import fixtures_dir

    tree = fixtures_dir() / "lint" / "irqsafe_xfile"
    files = [(p, p.relative_to(tree).as_posix()) for p in sorted(tree.rglob("*.c"))]
    here: list[int] = []
    real = run.irqhops.merged

    def merged(*a, **k):  # type: ignore[no-untyped-def]
        here.append(os.getpid())  # a child's append stays the child's
        return real(*a, **k)

    monkeypatch.setattr(run.irqhops, "merged", merged)
    monkeypatch.setattr(forked, "can_fork", lambda: True)

    def found(jobs: int) -> list[tuple[str, int, str, str]]:
        return sorted((r.path, f.line, f.check, f.message)
                      for r in lint_files(files, jobs=jobs, tree=False) for f in r.findings)

    alone = found(1)
    assert here == [os.getpid()] and any(c == "XL017" for _, _, c, _ in alone)
    here.clear()
    assert found(2) == alone
    assert here == []  # merged in the child
    monkeypatch.setattr(forked, "Child", _Gone)
    assert found(2) == alone
    assert here == [os.getpid()]
