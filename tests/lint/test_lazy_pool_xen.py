"""A first lint of a few files of Xen 4.17 with workers (their first passes
start before this process knows which other files' summaries they need,
and those start one by one as the text scans find them) reports what the
same run in one process reports, and what the whole-tree run reports
(docs/lint-findings/xen-4.17.md), each from an empty cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.lint.lazy import result_out
from xenpatch.lint.run import lint_files

from .test_verdicts import DOCS, across_files, listed

pytestmark = [pytest.mark.xen, pytest.mark.slow]

# Files whose findings the doc lists, and files whose results need another
# file's summaries (they call vpci_msix_arch_print(), domctl_lock_acquire(),
# pirq_spin_lock_irq_desc(), p2m_get_nestedp2m_locked() or
# vgic_queue_irq_unlock(), summarised in other files).
CALLERS = ["arch/x86/hvm/hvm.c", "drivers/vpci/msi.c", "arch/x86/traps.c",
           "drivers/passthrough/vtd/intremap.c", "arch/arm/vgic/vgic-mmio.c",
           "arch/x86/mm/hap/nested_hap.c", "common/grant_table.c"]


def _alone(xen: Path, rels: list[str], cache: Path, jobs: int,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    monkeypatch.setenv("XENPATCH_CACHE", str(cache))
    results = lint_files([(xen / rel, rel) for rel in rels], jobs=jobs)
    return {r.path: result_out(r) for r in results}


def test_a_first_run_with_workers_is_the_whole_tree_run(xen417: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    xen = xen417 / "xen"
    doc = listed(DOCS / "xen-4.17.md")
    # XL017 across files too: the single-file run finds the files it needs
    # (lint/lazywitness.py).
    assert across_files(DOCS / "xen-4.17.md")
    with_findings = sorted({where.rsplit(":", 2)[0] for where, _, _ in doc})
    assert with_findings
    chosen = sorted(set(with_findings) | set(CALLERS))
    for i, rel in enumerate(chosen):
        # Each file alone (the hook's case), then two together.
        rels = [rel] if i % 3 else [rel, chosen[(i + 1) % len(chosen)]]
        pool = _alone(xen, rels, tmp_path / f"pool{i}", 2, monkeypatch)
        one = _alone(xen, rels, tmp_path / f"one{i}", 1, monkeypatch)
        assert pool == one, rels
        assert [r["error"] for r in pool.values()] == [None] * len(rels)
        got = sorted((f"{path}:{f[0]}:{f[1]}", f[2], f[4])
                     for path, r in pool.items() for f in r["findings"])
        want = sorted(x for x in doc if x[0].rsplit(":", 2)[0] in rels)
        assert got == want, rels
