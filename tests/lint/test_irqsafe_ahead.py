"""XL017 reading a take's IRQ state from the paths leaving it
(irqtakes.ahead_states()): every path from a plain take reaches, before any
IRQ move, an _irq lock op (Xen's _spin_lock_irq() asserts IRQs on) or an
assertion on local_irq_is_enabled().  fixtures/lint/irqsafe_ahead.c: the
reporting shapes, and the quiet twins where a path returns first, an IRQ
move comes between, or a loop may not reach the statement."""

from __future__ import annotations

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "irqsafe_ahead.c"


def _line(text: str, after: str) -> int:
    lines = FIXTURE.read_text().splitlines()
    start = next(n for n, t in enumerate(lines) if after in t)
    return next(n for n, t in enumerate(lines[start:], start + 1) if text in t)


@pytest.fixture(scope="module")
def found() -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for f in lint_file(FIXTURE, FIXTURE.name, LintConfig.load()).findings:
        if f.check == "XL017":
            out.setdefault(f.function, []).append((f.line, f.message))
    return out


@pytest.mark.parametrize(("fn", "take", "other_fn"), [
    ("tally_publish", "spin_lock(&tally_lock)", "tally_interrupt"),  # spin_lock_irq() ahead
    ("gauge_bump", "spin_lock(&g->lock)", "tally_interrupt"),  # ASSERT(enabled) ahead
])
def test_on_from_the_statement_ahead(found: dict[str, list[tuple[int, str]]], fn: str,
                                     take: str, other_fn: str) -> None:
    [(line, msg)] = found[fn]
    assert line == _line(take, f" {fn}(")
    assert "with IRQs on" in msg and f"(in '{other_fn}')" in msg


def test_off_from_the_statement_ahead(found: dict[str, list[tuple[int, str]]]) -> None:
    # late_flush()'s take is the IRQs-off one, named by the IRQs-on take.
    [(line, msg)] = found["late_reset"]
    assert line == _line("spin_lock(&late_lock)", " late_reset(")
    assert f"off at line {_line('spin_lock(&late_lock)', ' late_flush(')}" in msg


@pytest.mark.parametrize("fn", ["early_publish", "moved_publish", "loop_publish",
                                "tally_interrupt", "late_flush"])
def test_quiet(found: dict[str, list[tuple[int, str]]], fn: str) -> None:
    assert fn not in found
