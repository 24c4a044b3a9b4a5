"""The whole of Xen 4.17's xen/: no crash, every function that could not be
analysed reported, and every finding listed with a verdict in
docs/lint-findings/xen-4.17.md (and nothing listed there that is gone)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.lint.run import lint_files
from xenpatch.paths import project_root

pytestmark = [pytest.mark.xen, pytest.mark.slow]

DOC = project_root() / "docs" / "lint-findings" / "xen-4.17.md"
_LISTED = re.compile(r"^- `([^`]+:\d+:\d+)` (XL\d{3}) `(\w+)`:\s+\*\*", re.M)


def test_xen_417_tree(xen417: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xen = xen417 / "xen"
    monkeypatch.chdir(xen)
    files = [(p, str(p.relative_to(xen))) for p in sorted(xen.rglob("*.c"))]
    results = lint_files(files, jobs=2)
    assert [r.error for r in results if r.error] == []
    assert len(results) == len(files)
    found = sorted((f"{f.path}:{f.line}:{f.col}", f.check, f.function)
                   for r in results for f in r.findings)
    listed = sorted(m.groups() for m in _LISTED.finditer(DOC.read_text()))
    assert found == listed
    # Functions not analysed are reported, each with a reason.
    skipped = [s for r in results for s in r.skipped]
    assert all(why for _, _, why in skipped)
    analysed = sum(r.analysed for r in results)
    doc = DOC.read_text()
    assert f"| {analysed} |" in doc
    assert f"| not analysed, reported as such | {len(skipped)}:" in doc
