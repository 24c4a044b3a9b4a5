"""XL018: a call of a function that demands an IRQ state of its caller
where the caller's own path has IRQs the other way
(analysis/irqdemand.py, lint/irqdemandcheck.py).  fixtures/lint/irqdemand.c
states the findings of one file; each quiet shape is checked by changing
the one thing that keeps it quiet.  fixtures/lint/irqdemand_xfile/ is a
tree of two files: the demands of arch/intc.c's functions reach
arch/smp.c's calls in a whole-tree run and file by file (the lazy plan)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lint.test_fixtures import expected
from xenpatch.analysis.irqdemand import NEED, demand_in
from xenpatch.lint.calleesummaries import summaries_of_text
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.inputs import display as _display
from xenpatch.lint.partial import exports_of
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "irqdemand.c"
TREE = fixtures_dir() / "lint" / "irqdemand_xfile"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def _xl018(config: LintConfig, text: str) -> list[tuple[int, str]]:
    res = lint_file(FIXTURE, "irqdemand.c", config, raw=text.encode())
    assert res.error is None
    return sorted((f.line, f.function) for f in res.findings if f.check == "XL018")


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _fn_line(text: str, name: str, call: str) -> int:
    """The line of ``call`` inside the definition of ``name``."""
    start = text.index(f"\nvoid {name}(")
    return text.count("\n", 0, text.index(call, start)) + 1


def test_the_shapes(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    assert _xl018(config, text) == [(26, "cpu_offline_early_enable"),
                                    (57, "port_reset_locked"), (86, "port_close")]


def test_without_the_assertions_nothing_is_demanded(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    assert _xl018(config, text)
    # Same line count: each assertion becomes an empty statement.
    bare = re.sub(r"(ASSERT|BUG_ON)\(.*\);", ";", text)
    assert bare.count("\n") == text.count("\n")
    assert _xl018(config, bare) == []


def test_a_disjunction_states_no_demand(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    plain = _edit(text, "ASSERT(local_irq_is_enabled() || intc_enabled == 0);",
                  "ASSERT(local_irq_is_enabled());")
    line = _fn_line(text, "port_grow_locked", "port_grow(p);")
    assert (line, "port_grow_locked") in _xl018(config, plain)
    assert (line, "port_grow_locked") not in _xl018(config, text)


def test_a_move_before_the_assertion_states_no_demand(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    # The disable after the assertion: then the assertion is the caller's.
    moved = _edit(text, "    local_irq_disable();\n    ASSERT(!local_irq_is_enabled());\n",
                  "    ASSERT(!local_irq_is_enabled());\n    local_irq_disable();\n")
    line = _fn_line(text, "port_quiesce_now", "port_quiesce(p);")
    assert (line, "port_quiesce_now") in _xl018(config, moved)
    assert (line, "port_quiesce_now") not in _xl018(config, text)


def test_an_assertion_past_a_branch_states_no_demand(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    # Same line count: the early return becomes empty statements.
    straight = _edit(text, "    if ( !p->cpu )\n        return;\n", "    ;\n    ;\n")
    line = _fn_line(text, "port_maybe_shutdown_now", "port_maybe_shutdown(p);")
    assert (line, "port_maybe_shutdown_now") in _xl018(config, straight)
    assert (line, "port_maybe_shutdown_now") not in _xl018(config, text)


def test_an_unknown_state_says_nothing(config: LintConfig) -> None:
    text = FIXTURE.read_text()
    line = _fn_line(text, "cpu_offline_as_called", "intc_cpu_shutdown();")
    assert (line, "cpu_offline_as_called") not in _xl018(config, text)
    # Its own enable first: then it knows.
    known = _edit(text, "void cpu_offline_as_called(void)\n{\n",
                  "void cpu_offline_as_called(void)\n{    local_irq_enable();\n")
    assert (line, "cpu_offline_as_called") in _xl018(config, known)


def test_the_path_shows_the_move_and_the_call(config: LintConfig) -> None:
    found = {f.function: f for f in lint_file(FIXTURE, "irqdemand.c", config).findings
             if f.check == "XL018"}
    f = found["port_reset_locked"]
    assert f.message == ("'port_flush_remote' must be called with IRQs on (it asserts so "
                         "at line 46), but IRQs are off here")
    assert [s.note for s in f.flow] == ["'p->lock' taken here", "port_flush_remote(p);"]
    g = found["cpu_offline_early_enable"]
    assert [s.line for s in g.flow] == [25, 26]
    assert "its callee 'port_flush_remote' asserts so at line 46" in found["port_close"].message


@pytest.fixture
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))


def _want() -> dict[str, list[tuple[int, str]]]:
    return {p.relative_to(TREE).as_posix(): expected(p) for p in sorted(TREE.rglob("*.c"))}


@pytest.mark.usefixtures("_cache")
def test_across_files_whole_tree() -> None:
    files = [(p, p.relative_to(TREE).as_posix()) for p in sorted(TREE.rglob("*.c"))]
    results = lint_files(files, jobs=1, tree=False)
    got = {r.path: sorted((f.line, f.check) for f in r.findings) for r in results}
    assert got == _want()
    assert got["arch/smp.c"] == [(12, "XL018"), (29, "XL018"), (50, "XL018")]
    # Alone, the caller cannot know what its callees demand.
    smp = TREE / "arch" / "smp.c"
    [r] = lint_files([(smp, "arch/smp.c")], jobs=1, tree=False)
    assert r.findings == []
    [smp] = [r for r in results if r.path == "arch/smp.c"]
    assert [f.message for f in smp.findings] == [
        "'intc_cpu_off' must be called with IRQs off (it asserts so at arch/intc.c:10), "
        "but IRQs are on here",
        "'intc_cpu_resync' must be called with IRQs on (its callee 'intc_wait_remote' "
        "asserts so at arch/intc.c:19), but IRQs are off here",
        # A function with no lock of its own demands too.
        "'intc_save_state' must be called with IRQs off (it asserts so at "
        "arch/intc.c:34), but IRQs are on here"]


@pytest.mark.usefixtures("_cache")
def test_across_files_file_by_file() -> None:
    """As the pre-commit hook lints them: one file at a time in the tree,
    with the summaries of the helpers it calls (lint/lazy.py)."""
    want = _want()
    for p in sorted(TREE.rglob("*.c")):
        [r] = lint_files([(p, _display(p))], jobs=1, tree=True)
        assert sorted((f.line, f.check) for f in r.findings) == \
            want[p.relative_to(TREE).as_posix()], p


def test_the_demand_is_exported_with_the_summary(config: LintConfig) -> None:
    r = lint_file(TREE / "arch" / "intc.c", "arch/intc.c", config)
    needs = {n: demand_in(s) for n, s in r.exports.items() if n.startswith(NEED)}
    assert set(needs) == {NEED + "intc_cpu_off", NEED + "intc_cpu_resync",
                          NEED + "intc_save_state"}
    off, on = needs[NEED + "intc_cpu_off"], needs[NEED + "intc_cpu_resync"]
    assert off is not None and (off.state, off.func, off.line) == ("off", "intc_cpu_off", 10)
    assert on is not None and (on.state, on.via, on.func) == (
        "on", "intc_wait_remote", "intc_wait_remote")


def test_the_lazy_plans_summaries_carry_the_demand(config: LintConfig) -> None:
    """What the lazy plan asks of a callee's file (partial.py over an
    excerpt, or the file's analysis without its checks) holds the demands
    the full lint exports, name for name."""
    p = TREE / "arch" / "intc.c"
    raw = p.read_bytes()
    names = frozenset({"intc_cpu_off", "intc_cpu_resync", "intc_save_state"})
    full = {n: s for n, s in lint_file(p, "arch/intc.c", config).exports.items()
            if n.removeprefix(NEED) in names}
    assert {NEED + "intc_cpu_off", NEED + "intc_save_state"} <= full.keys()
    assert exports_of(p, raw, config, names) == full
    assert summaries_of_text(p, raw, config, names, cut=False)[1] == full
