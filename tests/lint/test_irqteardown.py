"""A file naming no lock, only the IRQ API, is a caller with IRQs off of
the other files' functions: a whole-tree run's first pass parses it for
those calls (lint/filelint.py; irqcontext.witness_exports()).
fixtures/lint/irqteardown/ is a small tree: teardown.c's cpu_teardown()
disables IRQs and calls pcu.c's pcu_detach(), whose spin_lock_irq() pair
turns them on under that section."""

from __future__ import annotations

from pathlib import Path

from lint.test_fixtures import expected
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqteardown"


def _findings(paths: list[Path]) -> dict[str, list[tuple[int, str, str]]]:
    return {r.path: sorted((f.line, f.check, f.function) for f in r.findings)
            for r in lint_files([(p, p.name) for p in paths], jobs=1, tree=False)}


def test_whole_tree() -> None:
    got = _findings(sorted(TREE.rglob("*.c")))
    assert {p: [(line, c) for line, c, _ in v] for p, v in got.items()} == \
        {p.name: expected(p) for p in sorted(TREE.rglob("*.c"))}
    assert got["pcu.c"] == [(12, "XL011", "pcu_detach")]


def test_the_finding_names_the_teardown() -> None:
    [f] = [f for r in lint_files([(p, p.name) for p in sorted(TREE.rglob("*.c"))],
                                 jobs=1, tree=False) for f in r.findings if r.path == "pcu.c"]
    assert f.flow[0].note == "'pcu_detach' called with IRQs off by 'cpu_teardown' (teardown.c:10)"


def test_alone_the_callee_knows_nothing() -> None:
    assert _findings([TREE / "arch" / "pcu.c"])["pcu.c"] == []
