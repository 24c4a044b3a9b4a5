"""The lazy plan's later round (lint/lazyrounds.py) within its budget: a
name whose definers are as many as MOST_FILES allows gets its
second-round summary (the budget is at most, not fewer than).

fixtures/lint/hookrounds/ (test_lazy_rounds.py's tree): slab.c calls
obj_put() holding slab_lock; obj_put() is defined by arch/x86/obj.c and
arch/arm/obj.c, two files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import small_tree
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "hookrounds"
RELS = ["common/slab.c", "arch/x86/obj.c", "arch/arm/obj.c"]


def _tree(tmp_path: Path) -> Path:
    return small_tree(tmp_path / "xen", {
        **{rel: FIXTURE / rel for rel in RELS},
        "include/xen/obj.h": FIXTURE / "include" / "xen" / "obj.h"})


def test_a_budget_of_exactly_the_definers_covers_the_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint import lazyrounds

    xen = _tree(tmp_path)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(lazyrounds, "MOST_FILES", 2)
    rel = "common/slab.c"
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert [(f.line, f.check) for f in r.findings] == expected(FIXTURE / rel)
    assert r.undecided == []
    # One file fewer: the name is left out, and the run says so.
    monkeypatch.setattr(lazyrounds, "MOST_FILES", 1)
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache1"))
    [r] = lint_files([(xen / rel, rel)], jobs=1)
    assert r.findings == []
    assert [n for n, _, _ in r.undecided] == ["obj_put"]
