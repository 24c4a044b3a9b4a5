"""Every write path, failed at every fault point in turn (tests/faults.py).

After each injected failure the tree and the repository are exactly as
before or exactly as after, no temp file is left and the error is one of
xenpatch's (one line at the CLI) or Ctrl-C.  With a failure that stays
(a read-only file system), the rollback fails too; the next xenpatch
command then recovers.  The number of fault points of each path is
printed at the end of the session.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faults import COUNTS, KINDS, Faults, leftovers, snapshot
from xensource import ROOT

from xenpatch.errors import XenpatchError
from xenpatch.recovery import recover_around

FIXTURE = ROOT / "fixtures" / "xen"
RULE = ROOT / "rules" / "grant_table.toml"
ENV = {"GIT_AUTHOR_NAME": "Ann Dev", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Dev", "GIT_COMMITTER_EMAIL": "ann@example.org",
       "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env={**os.environ, **ENV}).stdout


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.TempPathFactory]:
    """Cases live in memory when /dev/shm is there: hundreds of cases, each
    with a few dozen fsyncs, would otherwise wait on the disk."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory
        return
    base = Path(tempfile.mkdtemp(prefix="xenpatch-faults-", dir=shm))

    class InMemory:
        def mktemp(self, name: str) -> Path:
            path = Path(tempfile.mkdtemp(prefix=name, dir=base))
            return path

    yield InMemory()  # type: ignore[misc]
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


@dataclass
class WritePath:
    """A template to copy per case and the write to fail.

    Every case is restored at the very place the template was made (some
    state records absolute paths, as the series' does)."""

    name: str
    template: Path  # the folder every case starts from, made in place
    write: Callable[[Path], None]  # the write, given the case's folder
    tree: Callable[[Path], Path]  # the files to compare, in the copy
    repo: Callable[[Path], Path | None]
    extra: Callable[[Path], tuple[Path, ...]] = lambda base: ()


def _conversion(tree: Path) -> dict[str, bytes]:
    from xenpatch.rewrite.run import run_rule
    from xenpatch.rules import load_rule

    result = run_rule(tree, load_rule(RULE), jobs=1)
    assert result.changed, "the fixture must need converting"
    return {p: result.new[p] for p in result.changed}


@pytest.fixture(scope="module")
def in_place(fast: pytest.TempPathFactory) -> WritePath:
    from xenpatch.rewrite.edits import write_atomically

    base = fast.mktemp("inplace")
    shutil.copytree(FIXTURE, base / "tree")
    new = _conversion(base / "tree")
    return WritePath("rewrite --in-place", base, lambda b: write_atomically(b / "tree", new),
                     lambda b: b / "tree", lambda b: None)


@pytest.fixture(scope="module")
def commit(fast: pytest.TempPathFactory) -> WritePath:
    """A Xen tree in a subfolder of a larger repository, as --commit meets it."""
    from xenpatch.git import commit_files

    base = fast.mktemp("commit")
    repo = base / "repo"
    shutil.copytree(FIXTURE, repo / "sub")
    (repo / "README").write_text("outer project\n")
    git(base, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    new = {f"sub/{p}": d for p, d in _conversion(repo / "sub").items()}
    new["sub/xen/common/brand-new/added.c"] = b"int added;\n"  # a folder made, too
    def write(b: Path) -> None:
        commit_files(b / "repo", new, "convert\n\nbody\n")

    return WritePath("rewrite --commit", base, write, lambda b: b / "repo", lambda b: b / "repo")


@pytest.fixture(scope="module")
def series(fast: pytest.TempPathFactory) -> WritePath:
    """v1 written once, then the branch loses a commit: v1 again replaces
    its files (one goes away), the state and the version's ref."""
    from xenpatch.series import series as series_mod

    base = fast.mktemp("series")
    repo = base / "repo"
    git(base, "init", "-q", "-b", "topic", str(repo))
    (repo / "a.c").write_text("int a;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    for n in range(3):
        (repo / f"f{n}.c").write_text(f"int f{n};\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"f{n}: add\n\nSigned-off-by: Ann Dev <ann@example.org>")
    out = base / "out"

    def build() -> series_mod.Series:
        opts = series_mod.Options(spec=f"{base_sha}..HEAD", version=1, maintainers=False,
                                  now=1700000000)
        return series_mod.build(repo, opts)

    series_mod.write(repo, build(), out)
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    again = build()
    assert len(again.mails) == 3  # cover + 2: the third patch file is stale

    def write(b: Path) -> None:
        series_mod.write(b / "repo", again, b / "out")

    return WritePath("series", base, write, lambda b: b / "out", lambda b: b / "repo")


@pytest.fixture(scope="module")
def cost_plot(fast: pytest.TempPathFactory) -> WritePath:
    """`cost --plot` over the plot of an earlier run with other figures."""
    pytest.importorskip("matplotlib")
    from xenpatch.cost.report import build, plot
    from xenpatch.cost.throughput import Params

    base = fast.mktemp("plot")
    png = base / "out" / "cost.png"
    png.parent.mkdir()

    def report(section_ns: float):  # type: ignore[no-untyped-def]
        return build("rw16", Params(section_ns, 0.0, 2, 40.0, 120.0, 7.0, 10.0, 1.0, 0.0),
                     [1, 2], None)

    plot(report(200.0), png)
    new = report(100.0)
    return WritePath("cost --plot", base, lambda b: plot(new, b / "out" / "cost.png"),
                     lambda b: b / "out", lambda b: None)


PATHS = ["in_place", "commit", "series", "cost_plot"]


_SAVED: dict[str, Path] = {}


def _case(wp: WritePath, tmp: Path) -> Path:
    """``wp.template`` as it was made, restored in place."""
    saved = _SAVED.get(wp.name)
    if saved is None:
        saved = _SAVED[wp.name] = Path(str(wp.template) + ".saved")
        shutil.copytree(wp.template, saved, symlinks=True)
    shutil.rmtree(wp.template)
    shutil.copytree(saved, wp.template, symlinks=True)
    return wp.template


def _state(wp: WritePath, b: Path) -> dict[str, object]:
    return snapshot(wp.tree(b), wp.repo(b), wp.extra(b))


@pytest.mark.parametrize("path", PATHS)
def test_every_fault_point(path: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    wp: WritePath = request.getfixturevalue(path)
    b = _case(wp, tmp_path)
    before = _state(wp, b)
    with Faults().installed() as counting:
        wp.write(b)
    after = _state(wp, b)
    assert after != before
    assert leftovers(b) == []
    points = counting.count
    assert points > 10, counting.points  # the harness sees the writes at all
    COUNTS[f"{wp.name}: fault points, each failed with {', '.join(KINDS)}"] = points
    cases = 0
    for kind in KINDS:
        for n in range(1, points + 1):
            b = _case(wp, tmp_path)
            with Faults(n, kind).installed() as f:
                try:
                    wp.write(b)
                    raised: BaseException | None = None
                except BaseException as exc:  # noqa: BLE001 - judged below
                    raised = exc
            assert f.fired is not None, (kind, n)
            # A failure after the commit point is retried once and the
            # change stands; anything else must be reported.
            assert raised is not None or _state(wp, b) == after, (kind, n, f.fired)
            assert raised is None or isinstance(raised, (XenpatchError, KeyboardInterrupt)), (
                kind, n, f.fired, repr(raised))
            if isinstance(raised, XenpatchError):
                assert "\n" not in raised.line() and ".xenpatch-" not in raised.line(), \
                    raised.line()
            state = _state(wp, b)
            assert state in (before, after), (kind, n, f.fired)
            assert leftovers(b) == [], (kind, n, f.fired)
            cases += 1
    assert cases == len(KINDS) * points


@pytest.mark.parametrize("path", PATHS)
def test_failure_that_stays_is_recovered_by_the_next_run(
        path: str, request: pytest.FixtureRequest, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """EROFS from the N-th call on: the rollback fails as well; the next
    command (here: the recovery every command runs first) puts it right."""
    wp: WritePath = request.getfixturevalue(path)
    b = _case(wp, tmp_path)
    before = _state(wp, b)
    with Faults().installed() as counting:
        wp.write(b)
    after = _state(wp, b)
    recovered = 0
    for n in range(1, counting.count + 1):
        b = _case(wp, tmp_path)
        with Faults(n, "EROFS", sticky=True).installed(), \
                pytest.raises(XenpatchError) as err:
            wp.write(b)
        assert "\n" not in err.value.line()
        if leftovers(b):
            # any command run on the tree or the repository
            recover_around([p for p in (wp.tree(b), wp.repo(b)) if p is not None])
            recovered += 1
            assert "xenpatch:" in capsys.readouterr().err
        assert _state(wp, b) in (before, after), (n,)
        assert leftovers(b) == [], n
    assert recovered > 0  # some points leave work for the next run


# --------------------------------------------------------------------------
# SIGKILL in a subprocess at seeded random points


def _xenpatch_killed(args: list[str], cwd: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT / "tests")}
    return subprocess.run([sys.executable, "-m", "faults", "--kill-at", str(kill_at),
                           "--now", "1700000000", "--", *args],
                          cwd=cwd, env=env, capture_output=True, text=True)


def _xenpatch(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xenpatch.cli", *args], cwd=cwd,
                          env={**os.environ, **ENV}, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["--in-place", "--commit"])
def test_sigkill_at_random_points_then_recovery(mode: str, tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(FIXTURE, template / "sub")
    git(tmp_path, "init", "-q", "-b", "main", str(template))
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "base")
    args = ["rewrite", "--rule", str(RULE), mode, "sub"]
    before = snapshot(template, template)
    done = tmp_path / "done"
    shutil.copytree(template, done, symlinks=True)
    full = _xenpatch_killed(args, done, 10**9)  # counts, never fires
    assert full.returncode == 0, full.stderr
    points = int(full.stderr.rsplit("fault points: ", 1)[1])
    after = snapshot(done, done)
    assert before != after
    rng = random.Random(11)
    kills = sorted(rng.sample(range(1, points + 1), min(6, points)))
    for n in kills:
        case = tmp_path / f"kill{n}"
        shutil.copytree(template, case, symlinks=True)
        proc = _xenpatch_killed(args, case, n)
        assert proc.returncode == -9, (n, proc.stderr)
        # any command recovers first; `lint --list-checks` touches nothing;
        # run from another folder than the killed one
        rec = _xenpatch(["lint", "--list-checks"], case / "sub" / "xen")
        assert rec.returncode == 0 and "Traceback" not in rec.stderr, rec.stderr
        assert snapshot(case, case) in (before, after), n
        assert leftovers(case) == [], n
        if snapshot(case, case) == before:
            again = _xenpatch(args, case)
            assert again.returncode == 0, again.stderr
            assert snapshot(case, case) == after, n
        shutil.rmtree(case)
    COUNTS[f"rewrite {mode}: SIGKILL runs, at seeded points out of {points}"] = len(kills)


@pytest.mark.slow
def test_sigkill_series_at_random_points_then_recovery(tmp_path: Path) -> None:
    """v1 again after the branch lost a commit: mails replaced, one deleted,
    state and ref moved -- killed at seeded points, then recovered."""
    work = tmp_path / "work"
    repo, out = work / "repo", work / "out"
    git(tmp_path, "init", "-q", "-b", "topic", str(repo))
    (repo / "a.c").write_text("int a;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    for n in range(3):
        (repo / f"f{n}.c").write_text(f"int f{n};\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"f{n}: add\n\nSigned-off-by: Ann Dev <ann@example.org>")
    args = ["series", "-C", str(repo), f"{base}..HEAD", "--no-maintainers", "-o", str(out)]
    first = _xenpatch_killed(args, repo, 10**9)
    assert first.returncode == 0, first.stderr
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    saved = tmp_path / "saved"
    shutil.copytree(work, saved, symlinks=True)

    def restore() -> None:
        shutil.rmtree(work)
        shutil.copytree(saved, work, symlinks=True)

    before = snapshot(out, repo)
    full = _xenpatch_killed(args, repo, 10**9)
    assert full.returncode == 0, full.stderr
    points = int(full.stderr.rsplit("fault points: ", 1)[1])
    after = snapshot(out, repo)
    assert before != after
    rng = random.Random(13)
    kills = sorted(rng.sample(range(1, points + 1), min(6, points)))
    for n in kills:
        restore()
        proc = _xenpatch_killed(args, repo, n)
        assert proc.returncode == -9, (n, proc.stderr)
        rec = _xenpatch(["lint", "--list-checks"], repo)
        assert rec.returncode == 0 and "Traceback" not in rec.stderr, rec.stderr
        assert snapshot(out, repo) in (before, after), n
        assert leftovers(work) == [], n
    COUNTS[f"series: SIGKILL runs, at seeded points out of {points}"] = len(kills)
