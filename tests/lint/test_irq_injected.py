"""IRQ-state bugs planted in Debian's Xen 4.17 (tests/lint/irq_injection.py
finds the sites by a scan of the tree), each file linted alone as the
pre-commit hook lints it: every one is reported with its check, at the
planted line, with the section's opening on its path.  bench/irq_injected.py
measures the same on other releases."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.irq_injection import SHAPES, irq_planted
from xenpatch.lint.run import lint_files

pytestmark = [pytest.mark.xen, pytest.mark.slow]


def test_each_planted_irq_bug_is_reported(xen417: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    xen = xen417 / "xen"
    injs = irq_planted(xen, per_shape=3)
    assert sorted({i.shape for i in injs}) == sorted(SHAPES)
    missed = []
    for inj in injs:
        path = xen / inj.rel
        [r] = lint_files([(path, str(path))], jobs=1, contents={path: inj.text})
        hits = [f for f in r.findings if f.check == inj.check and f.line == inj.line]
        if not hits:
            missed.append(str(inj))
            continue
        assert hits[0].function == inj.function
        assert set(inj.path_lines) <= {s.line for s in hits[0].flow}, (inj, hits[0].flow)
    assert missed == []


def test_the_unplanted_files_have_no_irq_finding(xen417: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The planting, not the file, is what is reported."""
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    xen = xen417 / "xen"
    files = sorted({xen / i.rel for i in irq_planted(xen, per_shape=3)})
    results = lint_files([(p, str(p)) for p in files], jobs=1)
    assert [f for r in results for f in r.findings
            if f.check in ("XL011", "XL012", "XL013", "XL014", "XL018")] == []
