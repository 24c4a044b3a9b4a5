"""Linting some files of a Xen tree with the summaries of all its files,
kept in the on-disk cache (xenpatch/lint/treecache.py)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from xenpatch.lint import treecache
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

CROSS = fixtures_dir() / "lint" / "crossfile"


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = tmp_path / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "spinlock.h").write_text("/* the lock API */\n")
    for name, where in (("msix.c", "arch/x86/hvm"), ("dump.c", "drivers/vpci")):
        (xen / where).mkdir(parents=True)
        shutil.copy(CROSS / name, xen / where / name)
    return xen


def _lint(path: Path, tree: bool = True) -> list[tuple[int, str]]:
    [r] = lint_files([(path, path.name)], jobs=1, tree=tree)
    return sorted((f.line, f.check) for f in r.findings)


def test_one_file_sees_the_other_files_helpers(tree: Path) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    # Alone, msix_print() is unknown: the lock it drops on failure seems leaked.
    assert _lint(dump, tree=False) == [(17, "XL001")]
    assert _lint(dump) == [(30, "XL002")]
    assert len(_cache_files(tree)) == 1


def _cache_files(tree: Path) -> list[Path]:
    return sorted((tree.parent / "cache" / "lint").glob("*.json"))


def test_cache_is_reused_and_follows_changes(tree: Path, monkeypatch) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    msix = tree / "arch" / "x86" / "hvm" / "msix.c"
    assert _lint(dump) == [(30, "XL002")]
    [cache] = _cache_files(tree)
    data = json.loads(cache.read_text())
    assert "msix_print" in data["files"]["arch/x86/hvm/msix.c"]["exports"]

    # Warm: nothing of the tree is linted again for its summaries.
    linted: list[str] = []
    real = treecache.TreeCache.stale
    monkeypatch.setattr(treecache.TreeCache, "stale",
                        lambda self: linted.extend(map(str, real(self))) or real(self))
    assert _lint(dump) == [(30, "XL002")]
    assert linted == []

    # msix_print() no longer drops the lock: the next run knows (dump_one()'s
    # early return now leaks it, and dump_twice() is right).
    msix.write_text(msix.read_text().replace(
        "            spin_unlock(&msix->pdev->vdev->lock);\n", ""
    ).replace("                spin_unlock(&pdev->vdev->lock);\n", ""))
    st = msix.stat()
    os.utime(msix, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _lint(dump) == [(17, "XL001")]
    assert linted == [str(msix.resolve())]


def test_a_header_change_redoes_every_file(tree: Path) -> None:
    dump = tree / "drivers" / "vpci" / "dump.c"
    _lint(dump)
    cache = treecache.TreeCache.open(tree, fixtures_dir().parent / "rules")
    assert cache.stale() == []
    (tree / "include" / "xen" / "new.h").write_text("#define nothing(x) (x)\n")
    cache = treecache.TreeCache.open(tree, fixtures_dir().parent / "rules")
    assert sorted(p.name for p in cache.stale()) == ["dump.c", "msix.c"]


def test_unwritable_cache_is_only_slower(tree: Path, monkeypatch) -> None:
    blocker = tree.parent / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XENPATCH_CACHE", str(blocker))
    dump = tree / "drivers" / "vpci" / "dump.c"
    assert _lint(dump) == [(30, "XL002")]
