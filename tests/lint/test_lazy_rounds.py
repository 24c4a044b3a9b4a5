"""A file linted alone (the pre-commit hook's run) gets what a whole-tree
run's third round gives it (lint/lazyrounds.py): a call made holding a
lock, into another file whose function comes back, through a header
macro, to a take in the linted file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import cold_runs, count_lints, small_tree
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "hookrounds"
RELS = ["common/slab.c", "arch/x86/obj.c", "arch/arm/obj.c"]


def _tree(tmp_path: Path) -> Path:
    return small_tree(tmp_path / "xen", {
        **{rel: FIXTURE / rel for rel in RELS},
        "include/xen/obj.h": FIXTURE / "include" / "xen" / "obj.h"})


def _findings(r) -> list[tuple[int, int, str, str]]:
    return sorted((f.line, f.col, f.check, f.message) for f in r.findings)


def test_alone_finds_what_the_whole_tree_run_finds(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "whole"))
    whole = {r.path: _findings(r) for r in lint_files([(xen / r, r) for r in RELS], jobs=1)}
    # The whole-tree run's third round finds it (lint/rounds.py).
    assert [(ln, c) for ln, _, c, _ in whole["common/slab.c"]] == \
        expected(FIXTURE / "common" / "slab.c")
    linted = count_lints(monkeypatch)
    for rel, r in cold_runs(xen, RELS, tmp_path, monkeypatch, linted):
        assert _findings(r) == whole[rel], rel


def test_a_kept_result_follows_the_other_files(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Linted alone twice with one cache: the second run's kept result
    # stands while the files the later round read are unchanged, and not
    # once x86's obj_put() no longer gives the object back.
    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    rel = "common/slab.c"
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert [f.check for f in r.findings] == ["XL010"]
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert [f.check for f in r.findings] == ["XL010"]
    x86 = xen / "arch" / "x86" / "obj.c"
    x86.write_text(x86.read_text().replace("    obj_release(o);\n", "    o->users = 0;\n"))
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert r.findings == []


def test_summaries_with_the_others_are_the_full_lints(tmp_path: Path) -> None:
    # partial.exports_of() given other files' summaries: what lint_file()
    # exports with them (obj_put() takes slab_lock through the macro).
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import lint_file
    from xenpatch.lint.partial import exports_of

    xen = _tree(tmp_path)
    config = LintConfig.load()
    slab = lint_file(xen / "common" / "slab.c", "common/slab.c", config)
    assert "slab_give_back" in slab.exports
    for rel in ("arch/x86/obj.c", "arch/arm/obj.c"):
        path = xen / rel
        full = lint_file(path, rel, config, slab.exports, findings_only=True).exports
        got = exports_of(path, path.read_bytes(), config, frozenset({"obj_put"}),
                         slab.exports)
        assert got == {n: s for n, s in full.items() if n == "obj_put"}, rel
        assert ("obj_put" in got) == (rel == "arch/x86/obj.c")
        # Without them: no summary (a first round's).
        assert exports_of(path, path.read_bytes(), config, frozenset({"obj_put"})) == {}


@pytest.mark.parametrize("most", [0, 1, 2])
def test_a_budget_that_stops_the_later_round_is_a_gap_not_a_clean_bill(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, most: int) -> None:
    # obj_put() has two definers (x86's and arm's obj.c), and only x86's is
    # linted again for its second-round summary (it calls slab.c's
    # slab_give_back(); arm's calls nothing, its first round's summary
    # stands).  With no room, the file alone cannot say what the
    # whole-tree run says: no finding, and the run says it did not
    # decide; with room for the one file to lint again, the finding: the
    # budget counts the lints it bounds, not the definers whose summaries
    # are at hand.
    from xenpatch.lint import lazyrounds, workers

    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(lazyrounds, "MOST_FILES", most)
    linted: list[str] = []
    with_others = workers.summaries_with

    def counted(path, raw, names, external):  # type: ignore[no-untyped-def]
        linted.append(path.relative_to(xen).as_posix())
        return with_others(path, raw, names, external)

    monkeypatch.setattr(workers, "summaries_with", counted)
    rel = "common/slab.c"
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert len(set(linted)) <= most
    if most >= 1:
        assert [(f.line, f.check) for f in r.findings] == expected(FIXTURE / rel)
        assert r.undecided == []
        assert set(linted) == {"arch/x86/obj.c"}
        return
    assert r.findings == []
    assert [(n, why.split(":")[0]) for n, _, why in r.undecided] == \
        [("obj_put", "called holding a lock")]
    assert "budget of 0 files linted again" in r.undecided[0][2]
    assert "a whole-tree run decides it" in r.undecided[0][2]


@pytest.mark.parametrize("jobs", [1, 2])
def test_with_other_files_of_the_commit_it_finds_what_it_finds_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    # A commit touching slab.c and another file: the hook's run over both
    # gives slab.c the later round it gets alone (it ran on the one-file
    # path only, and a run over several files said nothing of the round it
    # skipped).
    xen = _tree(tmp_path)
    (xen / "common" / "tick.c").write_text(
        "int ticks;\n\nvoid tick(void)\n{\n    ticks++;\n}\n")
    rels = ["common/slab.c", "common/tick.c"]
    for i in range(2):  # cold, then with what the first run kept
        monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / f"cache{jobs}"))
        got = {r.path: r for r in lint_files([(xen / r, r) for r in rels], jobs=jobs)}
        assert [(f.line, f.check) for f in got["common/slab.c"].findings] == \
            expected(FIXTURE / "common" / "slab.c"), i
        assert got["common/tick.c"].findings == []


def test_what_the_budget_covers_does_not_depend_on_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same file of the same tree, once with a cold cache and once after
    # another file's run recorded the summaries the later round needs: the
    # budget counts the files defining them either way, so both runs cover
    # the same and say so the same (the hook exited 3 cold and 0 warm).
    from xenpatch.lint import lazyrounds

    xen = _tree(tmp_path)
    monkeypatch.setattr(lazyrounds, "MOST_REACHED", 0)
    rel = "common/slab.c"
    got = []
    for cache, before in (("cold", []), ("warm", ["arch/x86/obj.c"])):
        monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / cache))
        for other in before:
            lint_files([(xen / other, other)], jobs=1)
        [r] = lint_files([(xen / rel, rel)], jobs=1)
        got.append((_findings(r), [(n, why.split(":")[0]) for n, _, why in r.undecided]))
    assert got[0] == got[1] == ([], [("obj_put", "called holding a lock")])


def _relays_tree(tmp_path: Path, relays: int) -> Path:
    """a.c holds a_lock over calls of relays in files of their own, each
    calling b.c's b_take(), which takes b_lock: a lock a.c names
    elsewhere, so each relay's second-round summary is a.c's to compute
    (lazyrounds.py), one file linted again per relay."""
    calls = "".join(f"    relay{i}();\n" for i in range(relays))
    files = {
        "include/xen/x.h": "extern spinlock_t b_lock;\nvoid b_take(void);\n" + "".join(
            f"void relay{i}(void);\n" for i in range(relays)),
        "common/b.c": "#include <xen/x.h>\n\nDEFINE_SPINLOCK(b_lock);\n\nvoid b_take(void)\n"
                      "{\n    spin_lock(&b_lock);\n    spin_unlock(&b_lock);\n}\n",
        "common/a.c": "#include <xen/x.h>\n\nstatic DEFINE_SPINLOCK(a_lock);\n\n"
                      f"void hold(void)\n{{\n    spin_lock(&a_lock);\n{calls}"
                      "    spin_unlock(&a_lock);\n}\n\nvoid other(void)\n{\n"
                      "    spin_lock(&b_lock);\n    spin_unlock(&b_lock);\n}\n",
    }
    for i in range(relays):
        files[f"common/r{i}.c"] = \
            f"#include <xen/x.h>\n\nvoid relay{i}(void)\n{{\n    b_take();\n}}\n"
    return small_tree(tmp_path / "xen", files)


def test_a_file_linted_with_others_follows_what_it_follows_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Linted with b.c, a.c is given b_take()'s summary too (b.c's own
    # lint gives it), which alone it never needs: its later round must
    # not follow more for it, past its budget of files linted again
    # (MOST_FILES) with a gap where alone there is none.
    from xenpatch.lint.lazyrounds import MOST_FILES

    xen = _relays_tree(tmp_path, MOST_FILES + 1)
    rels = ["common/a.c", "common/b.c"]
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "alone"))
    [alone] = lint_files([(xen / rels[0], rels[0])], jobs=1)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "both"))
    both = {r.path: r for r in lint_files([(xen / r, r) for r in rels], jobs=1)}
    assert alone.undecided == []
    assert both[rels[0]].undecided == alone.undecided
    assert _findings(both[rels[0]]) == _findings(alone)
