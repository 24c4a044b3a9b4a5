"""Lint as a library call (the series ``--check`` uses it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO


def lint_paths(paths: list[Path], out: TextIO | None = None, jobs: int | None = None) -> int:
    """Lint files or directories, print findings as text; return the exit
    code the CLI would (0 clean, 1 findings, 2 unreadable input).  Without
    the tree cache: the callers lint throwaway clones."""
    from xenpatch.lint import report
    from xenpatch.lint.run import UsageError, collect_files, lint_files

    out = out or sys.stdout
    try:
        results = lint_files(collect_files(paths), jobs, tree=False)
    except UsageError as exc:
        print(f"xenpatch lint: {exc}", file=sys.stderr)
        return 2
    report.write_text(results, out, sys.stderr, verbose=False)
    if any(r.error for r in results):
        for r in results:
            if r.error:
                print(f"xenpatch lint: {r.error}", file=sys.stderr)
        return 2
    return 1 if any(r.findings for r in results) else 0
