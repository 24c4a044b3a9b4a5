"""The lint's cache writes failed at every fault point (tests/faults.py):
the tree summaries, the callers' IRQ facts, the masking kinds.

A cache that cannot be written costs time, never a result: with a full
disk or a read-only cache folder the report and the exit status are those
of a run without fault.  Ctrl-C ends the run (130) or, met in a forked
child, leaves it to the parent.  Whatever happens, every cache file is
whole (the text before the run or the text a complete run writes) and no
temp file stays; one left by a run killed outright is removed by the next
run, whose report is again the same.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from faults import COUNTS
from xensource import ROOT

from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "upcallers"


@dataclass
class Case:
    """A lint run and the cache it starts from."""

    name: str
    args: list[str]
    tree: Path  # where it runs (one copy per case: the cache is keyed by the path)
    start: Path  # the cache before the run (copied for each fault)
    clean: subprocess.CompletedProcess[str]  # the run without fault
    after: dict[str, bytes]  # the cache a run without fault leaves
    points: int


def _run(args: list[str], cwd: Path, cache: Path, fault: list[str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XENPATCH_CACHE": str(cache), "PYTHONPATH": str(ROOT / "tests")}
    head = fault if fault is not None else ["--fail-at", str(10**9), "--kind", "ENOSPC"]
    return subprocess.run([sys.executable, "-m", "faults", *head, "--", *args], cwd=cwd,
                          env=env, capture_output=True, text=True)


def _files(cache: Path) -> dict[str, bytes]:
    return {str(p.relative_to(cache)): p.read_bytes()
            for p in sorted(cache.rglob("*")) if p.is_file()}


def _points(proc: subprocess.CompletedProcess[str]) -> int:
    return int(proc.stderr.rsplit("fault points: ", 1)[1])


def _report(proc: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    return proc.returncode, proc.stdout


def _case(tmp: Path, name: str, args: list[str],
          prepare: Callable[[Path, Path], None] | None = None) -> Case:
    tree, start = tmp / name / "tree", tmp / name / "start"
    shutil.copytree(TREE, tree)
    start.mkdir()
    if prepare is not None:
        prepare(tree, start)
    work = tmp / name / "count"
    shutil.copytree(start, work)
    clean = _run(args, tree, work)
    assert clean.returncode in (0, 1) and "Traceback" not in clean.stderr, clean.stderr
    assert '"findings": [' in clean.stdout
    points = _points(clean)
    # The same run again from the same start writes the same bytes: "whole"
    # below means one of two known texts per file.
    again = tmp / name / "again"
    shutil.copytree(start, again)
    assert _report(_run(args, tree, again)) == _report(clean)
    assert _files(again) == _files(work)
    return Case(name, args, tree, start, clean, _files(work), points)


def _edited_later(tree: Path, start: Path) -> None:
    """A cache of the tree as it was before one of its files changed: the
    run rewrites it."""
    _run(["lint", "-j", "1", "--format", "json", "."], tree, start)
    edited = tree / "common" / "pool.c"
    with edited.open("a") as f:
        f.write("\n/* edited */\n")
    # Older than the cache's window for files changed too recently to trust
    # their stamp: every run then records the same stamp.
    past = edited.stat().st_mtime - 60
    os.utime(edited, (past, past))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    tmp = tmp_path_factory.mktemp("cachefaults")
    return [
        _case(tmp, "whole tree, cold", ["lint", "-j", "1", "--format", "json", "."]),
        _case(tmp, "one file, cold", ["lint", "--format", "json", "common/runner.c"]),
        _case(tmp, "whole tree over an older cache",
              ["lint", "-j", "1", "--format", "json", "."], _edited_later),
    ]


def _check_cache(case: Case, cache: Path, what: str) -> None:
    start = _files(case.start)
    for rel, data in _files(cache).items():
        # No other file (a temp file of any name) either.
        assert data in (start.get(rel), case.after.get(rel)), (what, rel)


def _then_clean(case: Case, cache: Path, what: str) -> None:
    """The next run without fault reports the same and leaves no temp file."""
    nxt = _run(case.args, case.tree, cache)
    assert _report(nxt) == _report(case.clean), what
    _check_cache(case, cache, what)


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 1, 2])
def test_cache_faults(index: int, cases: list[Case], tmp_path: Path) -> None:
    case = cases[index]
    assert case.points >= 2, "the run must write its caches"
    rng = random.Random(index)
    sample = sorted(rng.sample(range(1, case.points + 1), min(3, case.points)))
    plans = [["--fail-at", str(n), "--kind", "ENOSPC"] for n in range(1, case.points + 1)]
    plans += [["--fail-at", str(n), "--kind", "EROFS", "--sticky"] for n in sample]
    plans += [["--fail-at", str(n), "--kind", "KeyboardInterrupt"] for n in sample]
    plans += [["--kill-at", str(n)] for n in sample]
    for fault in plans:
        what = f"{case.name}: {' '.join(fault)}"
        cache = tmp_path / f"cache-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(case.start, cache)
        proc = _run(case.args, case.tree, cache, fault)
        assert "Traceback" not in proc.stderr, (what, proc.stderr)
        if "--kill-at" in fault:
            # Killed in this process, or in a forked child whose work the
            # parent then does itself.
            assert proc.returncode == -9 or _report(proc) == _report(case.clean), what
            start = _files(case.start)
            for rel, data in _files(cache).items():
                if ".xenpatch-" not in rel:  # its temp file, which the next run removes
                    assert data in (start.get(rel), case.after.get(rel)), (what, rel)
        elif fault[3] == "KeyboardInterrupt":
            assert proc.returncode == 130 and "interrupted" in proc.stderr \
                or _report(proc) == _report(case.clean), (what, proc.returncode, proc.stderr)
            _check_cache(case, cache, what)
        else:
            # A cache that cannot be written is only slower.
            assert _report(proc) == _report(case.clean), (what, proc.stderr)
            _check_cache(case, cache, what)
        _then_clean(case, cache, what)
        shutil.rmtree(cache)
    COUNTS[f"lint caches ({case.name}): fault runs, of {case.points} points"] = len(plans)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_a_read_removes_the_temp_files_of_runs_that_are_gone(tmp_path: Path) -> None:
    from xenpatch import cachefiles

    target = tmp_path / "c.json"
    assert cachefiles.write_whole(target, "{}")
    dead = tmp_path / f"{cachefiles.TEMP_PREFIX}{_dead_pid()}-abc"
    mine = tmp_path / f"{cachefiles.TEMP_PREFIX}{os.getpid()}-abc"
    other = tmp_path / ".tmp-unrelated"
    for p in (dead, mine, other):
        p.write_text("partial")
    assert cachefiles.read_text(target) == "{}"
    assert not dead.exists() and mine.exists() and other.exists()


def test_a_write_that_fails_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch) -> None:
    from xenpatch import cachefiles

    target = tmp_path / "c.json"
    assert cachefiles.write_whole(target, "old")
    real = os.write

    def short(fd: int, data: bytes) -> int:
        # One byte in, then the disk is full.
        if len(data) > 1:
            return real(fd, bytes(data[:1]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short)
    assert not cachefiles.write_whole(target, "new text")
    monkeypatch.setattr(os, "write", real)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_the_difftest_copy_a_killed_run_left_is_removed(tmp_path: Path) -> None:
    from xenpatch import cachefiles
    from xenpatch.runtime import conversion

    dead = tmp_path / f"xenpatch-difftest-{_dead_pid()}-k2j4x9"
    live = tmp_path / f"xenpatch-difftest-{os.getpid()}-a1b2c3"
    for d in (dead, live):
        (d / "tree" / "xen").mkdir(parents=True)
        (d / "tree" / "xen" / "a.c").write_text("int a;\n")
    assert cachefiles.sweep_dead(tmp_path, conversion._SCRATCH) == [dead]
    assert not dead.exists() and live.exists()
