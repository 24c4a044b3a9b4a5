"""A cold single-file run parses the file once: the parse made beside the
name index's child (filelint.preparse()) stays kept after the file's
first lint for its later ones (the later round's, lint/lazyrounds.py), as
the parse of a run without children does (reuse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import small_tree
from xenpatch.lint import filelint, forked
from xenpatch.lint import lazyrun as lint_lazyrun
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "hookrounds"
RELS = ["common/slab.c", "arch/x86/obj.c", "arch/arm/obj.c"]
ME = "common/slab.c"


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
         fork: bool) -> tuple[list[str], int, int]:
    """(its findings, how often it was parsed, how often linted)."""
    xen = small_tree(tmp_path / name / "xen", {
        **{rel: FIXTURE / rel for rel in RELS},
        "include/xen/obj.h": FIXTURE / "include" / "xen" / "obj.h"})
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / name / "cache"))
    monkeypatch.setattr(forked, "can_fork", lambda: fork)
    parsed: list[str] = []
    linted: list[str] = []
    real_parse, real_lint = filelint._parse, filelint._lint_text

    def parse(display, raw, config, path):  # type: ignore[no-untyped-def]
        parsed.append(display)
        return real_parse(display, raw, config, path)

    def lint(path, display, *a, **k):  # type: ignore[no-untyped-def]
        linted.append(display)
        return real_lint(path, display, *a, **k)

    monkeypatch.setattr(filelint, "_parse", parse)
    monkeypatch.setattr(filelint, "_lint_text", lint)
    [r] = lint_files([(xen / ME, ME)], jobs=1)
    return [repr(f) for f in r.findings], parsed.count(ME), linted.count(ME)


def test_the_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every index entry is missing on a cold run: the child and the parse
    # beside it even for a tree this small.
    monkeypatch.setattr(lint_lazyrun, "_PREFETCH_LEAST", 1)
    alone = _run(tmp_path, monkeypatch, "alone", False)
    forking = _run(tmp_path, monkeypatch, "forking", True)
    assert forking[0] == alone[0] and alone[0]
    # Not vacuous: linted more than once, each time from the one parse.
    assert forking[2] > 1
    assert (alone[1], forking[1]) == (1, 1)
