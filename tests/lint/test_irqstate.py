"""IRQ-state discipline (XL011-XL014, xenpatch/analysis/irqstate.py): one
test per shape of fixtures/lint/irqstate.c, each with its twin that must
stay quiet, and the checks that the findings come from the tracked state
(without it, none is reported)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xenpatch.analysis import irqstate
from xenpatch.analysis.events import IrqAct
from xenpatch.analysis.locktable import LockTableError
from xenpatch.analysis.pathstate import State
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "irqstate.c"
IRQ = {"XL011", "XL012", "XL013", "XL014"}


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def by_function(config: LintConfig, path: Path = FIXTURE) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for f in lint_file(path, path.name, config).findings:
        if f.check in IRQ:
            out.setdefault(f.function, []).append((f.check, f.line))
    return out


def checks_of(found: dict[str, list[tuple[str, int]]], fn: str) -> list[str]:
    return sorted(c for c, _ in found.get(fn, []))


@pytest.mark.parametrize(("fn", "want"), [
    # (a) an _irq lock where IRQs are known off
    ("irq_lock_after_disable", ["XL011"]),
    ("irq_lock_with_irqs_asserted_off", ["XL011"]),
    ("irq_lock_with_irqs_on", []),
    ("irq_lock_unknown_entry", []),
    # (a) + (b): _irq nested in _irqsave
    ("irq_inside_irqsave", ["XL011", "XL012"]),
    # (b) an enable inside an open section
    ("enable_inside_save", ["XL012"]),
    ("disable_then_enable", []),
    # (c) restores of flags the matching save did not write
    ("restore_constant", ["XL013"]),
    ("restore_unsaved", ["XL013"]),
    ("restore_saved_when_slow", []),
    ("nested_irqsave_same_flags", ["XL013"]),
    ("nested_irqsave_two_flags", []),
    ("restore_with_wrong_lock", ["XL013"]),
    ("hand_over_hand", []),
    # (d) a callee that turns IRQs on on every path
    ("sync_under_irqsave", ["XL014"]),
    ("sync_irqs_off", ["XL014"]),
    ("sync_plain", []),
    ("maybe_sync_under_irqsave", []),
    # its callers disagree (sync_plain()'s state is unknown): reported in the
    # context of the first IRQs-off one whose enable is no tail call
    ("timer_sync", ["XL011"]),
    # quiet shapes of real code
    ("trylock_loop", []),
    ("flags_returned", []),
    ("flags_through_pointer", []),
    ("irq_sections_in_turn", []),
    ("save_per_round", []),
])
def test_shape(fn: str, want: list[str], config: LintConfig) -> None:
    assert checks_of(by_function(config), fn) == want


def test_the_path_starts_where_the_section_opened(config: LintConfig) -> None:
    fs = {f.function: f for f in lint_file(FIXTURE, FIXTURE.name, config).findings
          if f.check in IRQ}
    f = fs["restore_with_wrong_lock"]
    assert f.flow[0].note == "'d->lock' taken here" and f.flow[-1].line == f.line
    assert f"taken at line {f.flow[0].line}" in f.message and "still held" in f.message


def test_no_finding_without_the_tracked_state(config: LintConfig,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: with the IRQ moves changing nothing, every shape that needs
    a known IRQ state or a save goes quiet; left are the constant restore
    and the _irq unlock under a held _irqsave lock (the held set says it;
    no helper is summarised as enabling without the state either)."""
    monkeypatch.setattr(irqstate, "transfer", lambda s, act: s)
    found = by_function(LintConfig.load())
    assert {k: checks_of(found, k) for k in found} == {
        "restore_constant": ["XL013"], "irq_inside_irqsave": ["XL012"]}


def test_the_summary_says_when_a_helper_enables(config: LintConfig,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation: a helper summarised as never enabling loses XL014."""
    monkeypatch.setattr(irqstate, "enables_on_every_path", lambda res, unknown: False)
    found = by_function(LintConfig.load())
    assert "sync_under_irqsave" not in found and "sync_irqs_off" not in found
    assert "irq_inside_irqsave" in found


_MOVES = st.sampled_from([
    IrqAct("irq", "on", via="local_irq_enable"),
    IrqAct("", "lock_on", key="l", via="spin_unlock_irq"),
    IrqAct("", "lock_off", key="l", via="spin_lock_irq"),
    IrqAct("irqsave", "restore", "flags", "-", "local_irq_restore"),
    IrqAct("", "lock_restore", "flags", "l", "spin_unlock_irqrestore"),
    IrqAct("", "lock_restore", "p->flags", "l", "spin_unlock_irqrestore"),
    IrqAct("", "forget", "flags", "l", "spin_trylock_irqsave"),
])


@given(st.lists(_MOVES, max_size=8))
def test_unknown_never_reports(moves: list[IrqAct]) -> None:
    """From an unknown entry, moves that only turn IRQs on, restore flags
    nobody saved here (a parameter's, a field's) or take _irq locks never
    report: no move there makes the state known off, and no section of
    the function is open."""
    s = State((), ())
    for m in moves:
        if m.op == "lock_off":
            continue  # would make the state known off
        assert irqstate.check(s, m) == []
        s = irqstate.transfer(s, m)


def test_a_save_then_lock_irq_reports() -> None:
    s = irqstate.transfer(State((), ()), IrqAct("", "save", "flags", "-", "local_irq_save"))
    [issue] = irqstate.check(s, IrqAct("", "lock_off", key="l", via="spin_lock_irq"))
    assert issue.check == "lock_irq_off"
    # restoring puts back what was saved: unknown, so quiet again
    s = irqstate.transfer(s, IrqAct("irqsave", "restore", "flags", "-", "local_irq_restore"))
    assert irqstate.check(s, IrqAct("", "lock_off", key="l", via="spin_lock_irq")) == []


@pytest.mark.parametrize("text", [
    '[irq.x]\neffect = "sideways"\n',
    '[irq.x]\neffect = "save"\n',
    '[irq.x]\neffect = "on"\nflags = 0\n',
    '[irqflags]\nx = "two"\n',
])
def test_bad_irq_tables_are_refused(text: str, tmp_path: Path) -> None:
    p = tmp_path / "locks.toml"
    p.write_text(text)
    with pytest.raises(LockTableError, match="locks.toml"):
        irqstate.load_irq_table(p)


def test_the_packaged_table_has_the_irq_api(config: LintConfig) -> None:
    assert config.irq.calls["local_irq_save"] == ("save", 0)
    assert config.irq.calls["local_irq_disable"] == ("off", None)
    assert config.irq.flags["spin_unlock_irqrestore"] == "1"
    assert config.irq.flags_arg("pcpu_schedule_lock_irqsave", ["cpu", "&flags"], "lock") == \
        "flags"
    assert config.irq.flags_arg("_spin_lock_irqsave", ["&l"], "fl") == "fl"
