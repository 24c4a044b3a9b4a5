"""Statement macros read as their one lock call (analysis/stmtmacros.py),
and the tree's own definition of a lock op winning over the table's entry
of that name (LockTable.with_wrappers).

The shape: Xen master of 2011 defined nestedp2m_lock()/nestedp2m_unlock()
as ``do { ... } while (0)`` blocks around one spin_lock()/spin_unlock(),
with a re-entry guard, assertions and bookkeeping stores; the release was
an unknown call, while rules/locks.toml's entry for the later mm lock gave
the acquire: the lock was taken and never released anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.test_fixtures import expected
from lint.trees import small_tree
from xenpatch.analysis.asserted import ASSERTS
from xenpatch.analysis.config import AnalysisConfig
from xenpatch.analysis.headers import header_index, macro_wrappers
from xenpatch.analysis.locktable import lock_reaching, resolve
from xenpatch.analysis.stmtmacros import statement_call
from xenpatch.lint.inputs import collect_files
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIX = fixtures_dir() / "lint" / "macrobody"


def _tree(tmp: Path) -> Path:
    return small_tree(tmp / "xen", {
        "include/asm-x86/gizmo.h": FIX / "gizmo.h",
        "include/asm-x86/nestedmm.h": FIX / "nestedmm.h",
        "arch/x86/mm/gizmo.c": FIX / "gizmo.c",
        "arch/x86/mm/nestedmm.c": FIX / "nestedmm.c",
    })


def _found(results) -> dict[str, list[tuple[int, str]]]:
    return {Path(r.path).name: sorted((f.line, f.check) for f in r.findings) for r in results}


def _table(xen: Path):
    config = AnalysisConfig.load()
    idx = header_index(xen / "arch" / "x86" / "mm" / "gizmo.c")
    return lock_reaching(config.table.with_wrappers(
        idx.wrappers, ASSERTS | config.cfg.bug_on, config.cfg.noreturn | idx.noreturn))


def test_a_statement_macro_is_its_one_lock_call(tmp_path: Path) -> None:
    table = _table(_tree(tmp_path))
    lock, unlock = table.wrappers["gizmo_lock"], table.wrappers["gizmo_unlock"]
    assert (lock.target, lock.args) == ("spin_lock", ("&($0)->glock",))
    assert (unlock.target, unlock.args) == ("spin_unlock", ("&($0)->glock",))
    assert table.wrappers["gizmo_trylock"].target == "spin_trylock"


@pytest.mark.parametrize("name", [
    "gizmo_lock_noted",   # an unknown call: it may lock
    "gizmo_lock_irq",     # a call changing the IRQ state, not an assertion
    "gizmo_lock_both",    # two lock calls
    "gizmo_lock_or_leave",  # a break leaving the block
    "gizmo_lock_spin",    # a loop
    "gizmo_lock_either",  # if/else: which lock is not one answer
    "gizmo_lock_warn",    # a guard that goes on after printing
    "gizmo_lock_global",  # a lock that is not the argument's
])
def test_other_statement_macros_stay_unread(tmp_path: Path, name: str) -> None:
    table = _table(_tree(tmp_path))
    assert name not in table.wrappers


def test_the_body_reader_refuses_what_leaves_or_declares() -> None:
    assert statement_call("if (x) return; spin_lock(&(d)->l)", ["d"]) is None
    assert statement_call("int x = 1; spin_lock(&(d)->l)", ["d"]) is None
    assert statement_call("body; spin_lock(&(d)->l)", ["d", "body"]) is None
    assert statement_call("{ x = 1; } spin_lock(&(d)->l)", ["d"]) is None
    got = statement_call("(d)->n++; spin_lock(&(d)->l)", ["d"])
    assert got is not None and got[:2] == ("spin_lock", "&(d)->l")


def test_a_one_call_macro_of_a_table_wrapper_it_fills_wins() -> None:
    """mm_lock()'s arguments changed across eras, and its entry takes the
    last (``$-1``): the tree's chain through it resolves in either, and is
    what the name is in this tree (the same lock as the entry here)."""
    config = AnalysisConfig.load()
    raw = b"#define nestedp2m_lock(d) mm_lock(nestedp2m, &(d)->arch.nested_p2m_lock)\n"
    table = config.table.with_wrappers(macro_wrappers(raw))
    w = table.wrappers["nestedp2m_lock"]
    assert (w.target, w.args) == ("mm_lock", ("nestedp2m", "&($0)->arch.nested_p2m_lock"))
    [got] = resolve(table, "nestedp2m_lock", ["d"]) or []
    [entry] = resolve(config.table, "nestedp2m_lock", ["d"]) or []
    assert (got.action, got.key, got.flavour) == (entry.action, entry.key, entry.flavour)


def test_a_one_call_macro_too_short_for_the_wrapper_leaves_the_entry_first() -> None:
    """A chain through a table wrapper the definition passes fewer
    arguments than its template names (vgic_lock_rank()'s lock and flags
    are its second and third) may not resolve: the entry stays the word."""
    config = AnalysisConfig.load()
    raw = b"#define nestedp2m_lock(d) vgic_lock_rank(d, 0)\n"
    table = config.table.with_wrappers(macro_wrappers(raw))
    assert table.wrappers["nestedp2m_lock"] == config.table.wrappers["nestedp2m_lock"]


def test_the_tree_s_definition_of_an_op_wins_over_the_entry(tmp_path: Path) -> None:
    table = _table(_tree(tmp_path))
    w = table.wrappers["nestedp2m_lock"]
    assert (w.target, w.args) == ("spin_lock", ("&($0)->arch.nested_p2m_lock",))


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_pairs_balance_and_the_leak_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = _tree(tmp_path)
    got = _found(lint_files(collect_files([xen]), jobs=jobs))
    assert got["gizmo.c"] == expected(FIX / "gizmo.c") == [(17, "XL001")]
    # Without the statement form: XL001 in np2m_flush_all() and np2m_use()
    # (np2m_pick() holds the lock on every exit, a helper "by design") and
    # XL003 in np2m_drop(); without the tree's definition first: XL003 at
    # each release (the entry's recursive acquire, the tree's plain release).
    assert got["nestedmm.c"] == expected(FIX / "nestedmm.c") == []


def test_the_file_alone_agrees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = _tree(tmp_path)
    for name in ("gizmo.c", "nestedmm.c"):
        (one,) = lint_files([(xen / "arch" / "x86" / "mm" / name, name)], jobs=1)
        assert sorted((f.line, f.check) for f in one.findings) == expected(FIX / name)


def test_a_one_call_macro_of_an_op_wins_over_the_entry() -> None:
    # Arm's rank lock of 2013-2014 (a plain spinlock of two arguments in
    # vgic.c), where the entry describes the later irqsave form.
    config = AnalysisConfig.load()
    raw = b"#define vgic_lock_rank(v, r) spin_lock(&(r)->lock)\n"
    w = config.table.with_wrappers(macro_wrappers(raw)).wrappers["vgic_lock_rank"]
    assert (w.target, w.args) == ("spin_lock", ("&($1)->lock",))


def test_a_refused_statement_macro_leaves_the_entry() -> None:
    # The IRQ state changes beside the lock call: not bookkeeping.
    config = AnalysisConfig.load()
    raw = (b"#define pcpu_schedule_lock_irq(p) \\\n"
           b"    do { local_irq_disable(); spin_lock(&(p)->lock); } while ( 0 )\n")
    got = macro_wrappers(raw)
    assert got["pcpu_schedule_lock_irq"].stated is not None
    table = config.table.with_wrappers(got, ASSERTS | config.cfg.bug_on, config.cfg.noreturn)
    assert table.wrappers["pcpu_schedule_lock_irq"] == \
        config.table.wrappers["pcpu_schedule_lock_irq"]


def test_a_statement_macro_makes_no_file_worth_parsing_by_itself(tmp_path: Path) -> None:
    # Its lock call counts only as the table accepts the macro (a table
    # name is a seed of its own): a refused one is an unknown call, as
    # before, and must not pull its callers' files into the run.
    from xenpatch.lint.reaching import reaching_names

    idx = header_index(_tree(tmp_path) / "arch" / "x86" / "mm" / "gizmo.c")
    got = reaching_names(idx, frozenset({"spin_lock", "spin_unlock"}))
    assert b"gizmo_lock_irq" not in got and b"gizmo_lock_noted" not in got
