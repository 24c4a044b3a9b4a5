"""The hook's patch mode (``lint --since HEAD``) warm: the committed version
a run lints beside the staged one is kept in the tree cache under its
content hash, with the callers' facts it was linted with, so a retried
commit, or the next commit of the same file, lints nothing it linted
before (xenpatch/lint/treecache.py's EARLIER, upcallers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import git

from lint.snippets import LEAK
from lint.trees import small_tree
from xenpatch.lint import treecache
from xenpatch.lint import workers as lint_workers
from xenpatch.lint.cli import main
from xenpatch.lint.treecache import EARLIER, TreeCache, content_hash
from xenpatch.paths import fixtures_dir, rules_dir

CROSS = fixtures_dir() / "lint" / "crossfile"
SECOND = LEAK.replace("DEFINE_SPINLOCK(l)", "DEFINE_SPINLOCK(l2)").replace("&l)", "&l2)")
THIRD = LEAK.replace("DEFINE_SPINLOCK(l)", "DEFINE_SPINLOCK(l3)").replace("&l)", "&l3)")


@pytest.fixture()
def dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dump.c of a small tree in a repository, its base committed."""
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    repo = tmp_path / "tree"
    xen = small_tree(repo / "xen", {"arch/x86/hvm/msix.c": CROSS / "msix.c",
                                    "drivers/vpci/dump.c": CROSS / "dump.c",
                                    "common/other.c": "int other(void) { return 0; }\n"})
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return xen / "drivers" / "vpci" / "dump.c"


@pytest.fixture()
def linted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The content hash of each text a file is linted with from here on."""
    seen: list[str] = []
    one = lint_workers.one

    def counted(item, raw=None, external=None):  # type: ignore[no-untyped-def]
        seen.append(content_hash(raw if raw is not None else Path(item[0]).read_bytes()))
        return one(item, raw, external)

    monkeypatch.setattr(lint_workers, "one", counted)
    return seen


def _open(root: Path) -> TreeCache:
    return TreeCache.open(root, rules_dir())


REL = "drivers/vpci/dump.c"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(argv)
    got = capsys.readouterr()
    assert got.err == "", got.err
    return rc, got.out


def _edit(dump: Path, text: str) -> bytes:
    dump.write_text(dump.read_text() + "\n" + text)
    return dump.read_bytes()


def test_a_retried_commit_lints_nothing_again(dump: Path, linted: list[str], capsys) -> None:
    base = dump.read_bytes()
    staged = _edit(dump, SECOND)
    first = _run(["-q", "--since", "HEAD", str(dump)], capsys)
    assert first[0] == 1 and first[1].count("\n") == 1 and "'l2' taken" in first[1]
    # Both versions were linted: the staged one and the committed one.
    assert {content_hash(staged), content_hash(base)} <= set(linted)
    # The committed version's report is kept, not its summaries: no file is
    # given another content's.
    [(h, kept)] = _open(dump.parents[2]).earlier[REL]
    assert h == f"{content_hash(base)}@{content_hash(staged)}"
    assert kept["result"]["exports"] == {}
    linted.clear()
    assert _run(["-q", "--since", "HEAD", str(dump)], capsys) == first
    assert linted == []
    # The plain hook after it: still warm (the committed version's run did
    # not replace what the staged one's was linted with).
    rc, out = _run(["-q", str(dump)], capsys)
    assert rc == 1 and "[XL002]" in out
    assert linted == []


def test_the_next_commit_lints_the_last_staged_version_again(
        dump: Path, linted: list[str], capsys, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An old version is linted in the tree as it is, the file's own text
    included (the name index of its definitions, a chain of calls through
    them): its report is kept for that text only.  The next commit's edit
    lints the version staged before again, as an empty cache does."""
    staged = _edit(dump, SECOND)
    assert _run(["-q", "--since", "HEAD", str(dump)], capsys)[0] == 1
    git(dump.parents[3], "commit", "-q", "-am", "second")
    now = _edit(dump, THIRD)
    linted.clear()
    got = _run(["-q", "--since", "HEAD", str(dump)], capsys)
    assert got[0] == 1 and got[1].count("\n") == 1 and "'l3' taken" in got[1], got
    assert {content_hash(now), content_hash(staged)} <= set(linted)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cold"))
    assert _run(["-q", "--since", "HEAD", str(dump)], capsys) == got


def test_kept_results_are_those_of_a_cold_run(dump: Path, capsys, monkeypatch,
                                              tmp_path: Path) -> None:
    """Over a few commits of one file, each run with the cache kept reports
    what a run with an empty cache does."""
    repo = dump.parents[3]
    for n, text in enumerate((SECOND, THIRD, "int quiet(void) { return 0; }\n")):
        _edit(dump, text)
        for argv in (["--since", "HEAD", str(dump)], [str(dump)], ["--since", "HEAD~1", str(dump)]
                     if n else ["--since", "HEAD", str(dump)]):
            monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
            kept = _run(["--format", "json", *argv], capsys)
            monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / f"cold{n}"))
            cold = _run(["--format", "json", *argv], capsys)
            assert kept == cold, argv
        git(repo, "commit", "-q", "-am", f"commit {n}")


def test_other_contents_kept_are_the_most_recent_few(dump: Path) -> None:
    xen, rel = dump.parents[2], REL
    cache = _open(xen)
    now = cache.hashes[rel]
    cache.set_result(rel, "k", {"now": True})
    for i in range(EARLIER + 2):
        cache.set_result(rel, "k", {"i": i}, digest=f"d{i}")
    cache.save()
    again = _open(xen)
    assert again.result(rel, "k") == {"now": True}
    assert again.result(rel, "k", now) == {"now": True}
    kept = [i for i in range(EARLIER + 2) if again.result(rel, "k", f"d{i}") is not None]
    assert kept == list(range(2, EARLIER + 2))
    assert again.result(rel, "k", f"d{EARLIER + 1}") == {"i": EARLIER + 1}
    assert again.result(rel, "other key", f"d{EARLIER + 1}") is None


def test_an_edited_file_keeps_the_result_of_its_content_before(dump: Path) -> None:
    xen, rel = dump.parents[2], REL
    cache = _open(xen)
    before = cache.hashes[rel]
    cache.set_result(rel, "k", {"before": True})
    cache.save()
    _edit(dump, SECOND)
    edited = _open(xen)
    assert edited.hashes[rel] != before
    assert edited.result(rel, "k") is None
    assert edited.result(rel, "k", before) == {"before": True}
    edited.set_result(rel, "k", {"after": True})
    edited.save()
    # Back to the first content (a checkout): its result is the one now.
    dump.write_bytes(dump.read_bytes()[:-len(SECOND) - 1])
    back = _open(xen)
    assert back.hashes[rel] == before
    assert back.result(rel, "k") == {"before": True}
    back.dirty = True
    back.save()
    data = json.loads(back.path.read_text())
    assert data["results"][rel][1]["result"] == {"before": True}
    assert [v["result"] for _, v in data["earlier"][rel]] == [{"after": True}]


@pytest.mark.parametrize("bad", [[1], {"drivers/vpci/dump.c": [["h"]]},
                                 {"drivers/vpci/dump.c": [["h", {"key": 1}]]}])
def test_earlier_results_of_the_wrong_shape_are_refused(bad: object) -> None:
    data = {"format": treecache.FORMAT, "root": "/", "context": "", "stamps": {}, "defs": {},
            "exports": {}, "may": {}, "needs": {}, "results": {}, "earlier": bad}
    with pytest.raises(treecache.BadCache):
        treecache.validate(data)


def _two(dump: Path) -> tuple[Path, Path]:
    """dump.c and other.c edited: a commit of two files of one build (one
    process of the hook: pre-commit hands it up to four; a run splits its
    files by architecture first).  Linted with ``-j 1``, in this process,
    where the lints are counted."""
    other = dump.parents[2] / "common" / "other.c"
    _edit(dump, SECOND)
    _edit(other, THIRD)
    return dump, other


def test_a_retried_commit_of_two_files_lints_nothing_again(dump: Path, linted: list[str],
                                                           capsys) -> None:
    files = [str(p) for p in _two(dump)]
    first = _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys)
    assert first[0] == 1 and "'l2' taken" in first[1] and "'l3' taken" in first[1]
    assert linted
    runs = _open(dump.parents[2]).runs
    assert len(runs) == 2 and all(r["exports"] == {} for run in runs.values()
                                  for r in run.values())
    linted.clear()
    assert _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys) == first
    assert linted == []
    # In the other order: the same run.
    assert _run(["-q", "-j", "1", "--since", "HEAD", *files[::-1]], capsys) == first
    assert linted == []


def test_the_next_commit_of_two_files_is_another_run(dump: Path, linted: list[str],
                                                     capsys) -> None:
    """The files' own texts now are part of what their old versions' run
    read (each the other's callers): edited again, the staged versions of
    the commit before are linted again."""
    dump, other = _two(dump)
    staged = {content_hash(p.read_bytes()) for p in (dump, other)}
    files = [str(dump), str(other)]
    assert _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys)[0] == 1
    git(dump.parents[3], "commit", "-q", "-am", "second")
    _edit(dump, "int quiet(void) { return 0; }\n")
    _edit(other, "int calm(void) { return 0; }\n")
    linted.clear()
    rc, out = _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys)
    assert rc == 0 and out == "", out
    assert staged <= set(linted)


def test_a_change_elsewhere_in_the_tree_is_another_run(dump: Path, capsys, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What a kept run was read from is the whole tree: another C file
    edited, or a Makefile written, and both versions' runs are new ones --
    reporting what an empty cache's run does."""
    files = [str(p) for p in _two(dump)]
    xen = dump.parents[2]
    first = _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys)
    runs = list(_open(xen).runs)
    assert len(runs) == 2  # the staged versions' and the committed ones'
    for n, change in enumerate(("msix.c", "Makefile"), 1):
        if change == "msix.c":
            _edit(xen / "arch" / "x86" / "hvm" / "msix.c", "int more(void) { return 1; }\n")
        else:
            (xen / "Makefile").write_text("# written\n")
        assert _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys) == first
        now = list(_open(xen).runs)
        assert now[:len(runs)] == runs and len(now) == len(runs) + 2, change
        runs = now
        monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / f"cold{n}"))
        assert _run(["-q", "-j", "1", "--since", "HEAD", *files], capsys) == first
        monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))


def test_runs_kept_are_the_most_recent_few(dump: Path) -> None:
    from xenpatch.lint.runmemo import RUNS

    xen = dump.parents[2]
    cache = _open(xen)
    for i in range(RUNS + 2):
        cache.set_run(f"run{i}", {REL: {"i": i}}, RUNS)
    cache.set_run("run2", {REL: {"again": True}}, RUNS)  # used again: the most recent
    cache.save()
    again = _open(xen)
    assert again.run("run0") is None and again.run("run1") is None
    assert again.run("run2") == {REL: {"again": True}}
    assert again.run(f"run{RUNS + 1}") == {REL: {"i": RUNS + 1}}
    assert list(again.runs)[-1] == "run2" and len(again.runs) == RUNS


def test_first_pass_records_keep_their_order(dump: Path) -> None:
    """A first pass's records come back in the order the pass made them:
    irqwitness.merge() names the first witness it meets, so a sorted copy
    named another take of the same file than a whole-tree run (4.17's
    arinc653.c: pirq_guest_bind()'s call at irq.c:1644, not 1648)."""
    from xenpatch.analysis.locktable import Summary

    xen = dump.parents[2]
    cache = _open(xen)
    keys = ["%zeta", "%alpha", "%mid"]
    cache.set_first_records(REL, {k: Summary((), None) for k in keys})
    cache.save()
    assert list(_open(xen).first_records(REL) or {}) == keys
