"""Lazy cross-file summaries on Xen 4.17's xen/: the text scans never miss
a summary the whole-tree run finds, and linting a file alone, from an empty
cache, finds what the whole-tree run finds in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xenpatch.analysis.irqdemand import NEED
from xenpatch.lint import lazy, nameindex, treecache
from xenpatch.lint.calleesummaries import file_summaries
from xenpatch.lint.config import LintConfig
from xenpatch.lint.run import lint_files

pytestmark = [pytest.mark.xen, pytest.mark.slow]


def _findings(results) -> dict[str, list[tuple[int, int, str, str]]]:
    return {r.path: sorted((f.line, f.col, f.check, f.message) for f in r.findings)
            for r in results}


def test_lazy_agrees_with_the_whole_tree(xen417: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    xen = xen417 / "xen"
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "whole"))
    files = sorted(xen.rglob("*.c"))
    whole = _findings(lint_files([(p, str(p.relative_to(xen))) for p in files], jobs=2))
    [cache_file] = (tmp_path / "whole" / "lint").glob("*.json")
    data = json.loads(cache_file.read_text())
    # A function's IRQ demand (irqdemand.NEED) is kept under its name.
    exports = {rel: {n.removeprefix(NEED) for n in v["known"]}
               for rel, (_, v) in data["exports"].items() if v["complete"]}
    assert len(exports) == len(files)
    assert sum(map(len, exports.values())) >= 10

    # Every summary the whole-tree run found is where the scans look.
    cache = treecache.TreeCache.open(xen, Path(lazy.__file__).parents[2] / "rules")
    config = LintConfig.load()
    plan = lazy.Plan(cache, lambda: config)
    for rel, names in exports.items():
        if names:
            defined = {d.name for d in nameindex.definitions((xen / rel).read_bytes())
                       if not d.static}
            assert names <= defined, rel
            assert names <= plan.may_export(rel), rel

    # Summaries computed for the names asked only are those of the full lint.
    for rel, names in exports.items():
        if names:
            path = xen / rel
            defined = frozenset(d.name for d in nameindex.definitions(path.read_bytes()))
            _, got = file_summaries(path, config, defined)
            full = {n: s for n, s in json.loads(cache_file.read_text())["exports"][rel][1]
                    ["known"].items()}
            assert {n: treecache.summary_out(s) for n, s in got.items()} == full, rel
            _, one = file_summaries(path, config, frozenset([sorted(names)[0]]))
            assert {n.removeprefix(NEED) for n in one} == {sorted(names)[0]}, rel

    # Each file with findings, and each file calling a summarised helper,
    # linted alone, with a cache that no whole-tree run filled.
    callers = set()
    every = set().union(*exports.values())
    for p in files:
        rel = str(p.relative_to(xen))
        if every & plan.needed(rel, p) - exports[rel]:
            callers.add(rel)
    # And files whose IRQ checks read what their callers in other files
    # give (lint/upcallers.py): contexts, entries, fields stored into.
    upward = {"arch/x86/time.c", "arch/x86/hpet.c", "common/sched/core.c",
              "common/sched/credit2.c"} & set(whole)
    assert upward
    chosen = sorted({r for r, f in whole.items() if f} | callers | upward)
    assert len(chosen) >= 10
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "alone"))
    for rel in chosen:
        [r] = lint_files([(xen / rel, rel)], jobs=1)
        # XL017 across files too (lint/lazywitness.py finds the files needed).
        assert _findings([r])[rel] == whole[rel], rel
