"""bench/hook_series.py's own logic on a history made here (the Xen mirror
is not needed): a file's upstream versions committed one after the other,
the patch-mode hook before each commit with a kept cache, again, and from
an empty cache, the reports compared."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest
from gitrepo import bench, git

from xenpatch.paths import fixtures_dir

SHAPES = fixtures_dir() / "lint" / "hookreplay"
TBL = "xen/common/tbl.c"
AUX = "xen/common/aux.c"


def _bench() -> ModuleType:
    return bench("hook_series")


@pytest.fixture()
def mirror(tmp_path: Path) -> Path:
    """A bare repository whose master has tbl.c with one leak, then with
    that leak moved down and a second one added."""
    r = tmp_path / "work"
    (r / "xen" / "include" / "xen").mkdir(parents=True)
    (r / "xen" / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    (r / "xen" / "common").mkdir()
    git(r, "init", "-q", "-b", "master")
    for i, name in enumerate(("first.c", "second.c")):
        shutil.copy(SHAPES / name, r / TBL)
        (r / AUX).write_text(f"int aux(void) {{ return {i}; }}\n")
        git(r, "add", "-A")
        git(r, "commit", "-q", "-m", name)
    git(tmp_path, "clone", "-q", "--bare", str(r), "mirror")
    return tmp_path / "mirror"


def test_the_series_compares_each_run_with_an_empty_cache(mirror: Path, tmp_path: Path,
                                                          capsys) -> None:
    bench = _bench()
    [(sha, nxt, retry, cold)] = bench.series(mirror, "master", [TBL], 1, tmp_path)
    # The staged version adds tbl_put()'s leak: the hook stops the commit.
    assert cold[0] == 1 and '"tbl_put"' in cold[1] and '"tbl_get"' not in cold[1]
    assert nxt[:3] == retry[:3] == cold[:3]
    assert "REPORTS DIFFER" not in capsys.readouterr().out


def test_a_series_of_two_files_is_one_hook_run_each_commit(mirror: Path, tmp_path: Path) -> None:
    bench = _bench()
    [(_, nxt, retry, cold)] = bench.series(mirror, "master", [TBL, AUX], 1, tmp_path)
    assert cold[0] == 1 and '"tbl_put"' in cold[1]
    assert nxt[:3] == retry[:3] == cold[:3]


def test_a_cache_that_changes_a_report_is_named_and_exits_1(
        mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    bench = _bench()
    hook = bench.hook
    runs: list[int] = []

    def second_run_differs(repo: Path, paths: list[str], cache: Path):  # type: ignore[no-untyped-def]
        got = hook(repo, paths, cache)
        runs.append(1)
        return (0, "{}", "", got[3]) if len(runs) == 3 else got  # the retry

    monkeypatch.setattr(bench, "hook", second_run_differs)
    monkeypatch.setattr("sys.argv", ["hook_series.py", "--mirror", str(mirror), "--file", TBL,
                                     "--count", "1"])
    assert bench.main() == 1
    out = capsys.readouterr().out
    assert "REPORTS DIFFER" in out and "differ: " in out


def test_no_mirror_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("sys.argv", ["hook_series.py", "--mirror", str(tmp_path / "absent")])
    assert _bench().main() == 0
    assert capsys.readouterr().out.strip() == "skipped: no mirror"
