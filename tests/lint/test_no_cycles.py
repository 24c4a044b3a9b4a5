"""A file's analysis is freed when its lint returns, by reference counting
alone: a tree's workers run the cyclic collector rarely (lint/collector.py),
so an analysis kept alive by a reference cycle back to it (its parse, CFGs
and facts, megabytes for a large file) waits there with every other file's
until a collection comes.  One such cycle (a helper of the analysis holding
its bound method) grew a worker's peak on Xen 4.17 from 203 to 256-288 MB
and its CPU by ~15 % (bench/lint.py), with every finding unchanged; nothing
but the memory said so."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from xenpatch.analysis import fileanalysis
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import _parse, lint_source
from xenpatch.paths import fixtures_dir

LINT = fixtures_dir() / "lint"
# Files whose lint reaches the analysis' memos: a free through a helper, a
# header's inlines, IRQ states across functions, a callee's summary.
FILES = sorted(
    [LINT / "freed.c", LINT / "free_alias.c", LINT / "callee.c", LINT / "helpers.c",
     LINT / "irqctx_const.c", *sorted((LINT / "irqblind").rglob("*.c"))])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LINT)))
def test_the_analysis_is_freed_without_the_collector(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[weakref.ref[fileanalysis.FileAnalysis]] = []
    init = fileanalysis.FileAnalysis.__init__

    def spy(self: fileanalysis.FileAnalysis, *args: object, **kw: object) -> None:
        init(self, *args, **kw)  # type: ignore[arg-type]
        made.append(weakref.ref(self))

    monkeypatch.setattr(fileanalysis.FileAnalysis, "__init__", spy)
    config = LintConfig.load(None)
    gc.collect()
    gc.disable()
    try:
        src = _parse(str(path), path.read_bytes(), config, path)
        result = lint_source(src, config, path)
        del src
        alive = [r for r in made if r() is not None]
    finally:
        gc.enable()
    assert made, "the lint made no analysis"
    assert result.functions > 0
    assert not alive, f"{len(alive)} of {len(made)} analyses kept alive by a cycle"
