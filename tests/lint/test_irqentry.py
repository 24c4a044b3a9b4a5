"""The IRQ state on entry from the callers (xenpatch/analysis/irqentry.py,
fnptrs.py): each shape of fixtures/lint/irqentry.c with its quiet twin, the
function-pointer index, and the property that a callee whose callers do
not all have IRQs known off never gets a report from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenpatch.analysis import fnptrs
from xenpatch.analysis.irqentry import meet
from xenpatch.analysis.irqstate import load_irq_table
from xenpatch.analysis.locktable import LockTableError
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

FIXTURE = fixtures_dir() / "lint" / "irqentry.c"


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def xl011(config: LintConfig, path: Path) -> set[str]:
    return {f.function for f in lint_file(path, path.name, config).findings
            if f.check == "XL011"}


@pytest.mark.parametrize(("fn", "reported"), [
    ("direct_irq_lock", True),  # every direct caller has IRQs off
    # one caller on, one off: reported in the IRQs-off caller's context
    ("mixed_irq_lock", True),
    ("unknown_irq_lock", False),  # a caller whose state is unknown
    ("leaf_irq_lock", True),  # two levels down
    ("hook_switch", True),  # only called through a field, always off
    ("hook_resume", False),  # the field is also copied into a local
    # the address goes into a variable: its direct caller is a context
    ("hook_other", True),
    ("stopped_fn", True),  # stop_machine_run()'s callback
    ("deferred_fn", False),  # an API the table says nothing of
    ("uncalled_irq_lock", False),  # no caller
    ("pong", False),  # a cycle entered from an unknown state
    ("via_macro_irq_lock", True),  # named in a macro body too; one caller off
    ("after_restore_irq_lock", False),  # entered with IRQs on
    ("maybe_irq_lock", False),  # the caller's constant skips the lock
    ("hook_tick", True),  # through a macro calling the field it is given
    ("hook_tock", True),  # the same, one use with IRQs on: the other's context
])
def test_shape(config: LintConfig, fn: str, reported: bool) -> None:
    assert (fn in xl011(config, FIXTURE)) is reported


@pytest.mark.parametrize(("fn", "reported"), [
    ("mixed_kick", True),  # a callee enabling under the IRQs-off caller's context
    ("handover_kick", False),  # that caller's call is its last act: handed over
])
def test_callee_enabling_in_a_callers_context(config: LintConfig, fn: str,
                                              reported: bool) -> None:
    got = [f for f in lint_file(FIXTURE, FIXTURE.name, config).findings
           if f.check == "XL014" and f.function == fn]
    assert bool(got) is reported
    for f in got:
        assert "the caller's IRQs-off section" in f.message
        assert f.flow[0].note == "'mixed_kick' called here with IRQs off, in 'kick_caller_off'"


def test_the_context_note_chains_callers(config: LintConfig) -> None:
    [f] = [f for f in lint_file(FIXTURE, FIXTURE.name, config).findings
           if f.function == "kick_end"]
    assert [s.note for s in f.flow[:2]] == [
        "'mixed_kick' called here with IRQs off, in 'kick_caller_off'",
        "'kick_end' called here with IRQs off, in 'mixed_kick'"]


def test_index(config: LintConfig) -> None:
    raw = FIXTURE.read_bytes()
    src = parse_bytes(FIXTURE.name, raw, config.macros)
    names = ["hook_switch", "hook_resume", "hook_other", "stopped_fn", "deferred_fn",
             "via_macro_irq_lock", "uncalled_irq_lock", "direct_irq_lock"]
    refs = fnptrs.index(src, names, config.irq.callbacks)
    assert refs.stored["switch_to"] == {"hook_switch"}
    assert refs.stored["resume"] == {"hook_resume"}
    assert "resume" in refs.read_fields and "switch_to" not in refs.read_fields
    assert refs.callbacks == {"stopped_fn": ["off"]}
    assert refs.escapes == {"hook_other", "deferred_fn", "via_macro_irq_lock"}
    assert refs.callers("hook_resume") is None
    sw = refs.callers("hook_switch")
    assert sw is not None and len(sw[0]) == 1 and sw[1] == []
    assert refs.callers("uncalled_irq_lock") == ([], [])
    d = refs.callers("direct_irq_lock")
    assert d is not None and len(d[0]) == 2


@given(st.lists(st.sampled_from(["on", "off", None]), max_size=6))
def test_meet_needs_every_state_known_and_equal(states: list[str | None]) -> None:
    got = meet(states)
    if states and all(s == states[0] for s in states) and states[0] is not None:
        assert got == states[0]
    else:
        assert got is None


# How a caller reaches the callee: IRQs known off, known on, or unknown.
_PREFIX = {
    "off": "    local_irq_disable();\n",
    "off_lock": "    spin_lock_irq(&outer_lock);\n",
    "on": "    ASSERT(local_irq_is_enabled());\n",
    "unknown": "",
    "flag": "    if ( n )\n        local_irq_disable();\n",
}
_OFF = {"off", "off_lock"}


def _program(callers: list[str], through_field: bool) -> str:
    out = ["struct s { spinlock_t lock; void (*hook)(struct s *p); };",
           "static DEFINE_SPINLOCK(outer_lock);",
           "static void callee(struct s *p)\n{\n    spin_lock_irq(&p->lock);\n"
           "    spin_unlock_irq(&p->lock);\n}"]
    if through_field:
        out.append("static const struct s ops = { .hook = callee };")
    for i, how in enumerate(callers):
        # Something after the call: a call that ends the caller is its own
        # section handed over (irqchecks.tail_call()), no context.
        call = ("    p->hook(p);\n" if through_field else "    callee(p);\n") + "    n++;\n"
        out.append(f"void caller{i}(struct s *p, int n)\n{{\n{_PREFIX[how]}{call}}}")
    return "\n\n".join(out) + "\n"


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(_PREFIX)), max_size=4), st.booleans())
def test_only_callers_all_off_report(tmp_path: Path, config: LintConfig,
                                     callers: list[str], through_field: bool) -> None:
    """Unknown or on callers never make the callee report; one caller known
    off does, once: in that caller's context (a note names it) unless every
    caller agrees (then the entry is known and no caller is singled out)."""
    p = tmp_path / "prop.c"
    p.write_text(_program(callers, through_field))
    got = [f for f in lint_file(p, p.name, config).findings
           if f.check == "XL011" and f.function == "callee"]
    assert len(got) == (1 if any(c in _OFF for c in callers) else 0)
    for f in got:
        named = "called here with IRQs off" in f.flow[0].note
        assert named == (not all(c in _OFF for c in callers))


def test_irqcallback_table_is_checked(tmp_path: Path) -> None:
    p = tmp_path / "locks.toml"
    p.write_text('[irqcallback.run_it]\narg = 0\nstate = "maybe"\n')
    with pytest.raises(LockTableError, match="irqcallback.run_it"):
        load_irq_table(p)
    p.write_text('[irqcallback.run_it]\narg = 1\nstate = "off"\n')
    assert load_irq_table(p).callbacks == {"run_it": (1, "off")}


_HOOKS = """struct pool { spinlock_t lock; int n; };
struct hooks { void (*switch_to)(struct pool *p); };
static void hook_switch(struct pool *p)
{
    spin_lock_irq(&p->lock);
    p->n = 1;
    spin_unlock_irq(&p->lock);
}
const struct hooks the_hooks = { .switch_to = hook_switch };
"""
_CORE = """struct pool { spinlock_t lock; int n; };
struct hooks { void (*switch_to)(struct pool *p); };
static DEFINE_SPINLOCK(core_lock);
void core_switch(struct hooks *h, struct pool *p)
{
    spin_lock_irq(&core_lock);
    h->switch_to(p);
    spin_unlock_irq(&core_lock);
}
"""
_OTHER = """struct pool { spinlock_t lock; int n; };
struct hooks { void (*switch_to)(struct pool *p); };
void other_switch(struct hooks *h, struct pool *p)
{
    h->switch_to(p);
}
"""


@pytest.mark.parametrize(("files", "reported"), [
    ({"hooks.c": _HOOKS}, False),  # the file alone: no caller seen
    ({"hooks.c": _HOOKS, "core.c": _CORE}, True),  # every call through the field is off
    ({"hooks.c": _HOOKS, "core.c": _CORE, "other.c": _OTHER}, False),  # one is unknown
])
def test_field_calls_across_files(tmp_path: Path, files: dict[str, str],
                                  reported: bool) -> None:
    from xenpatch.lint.run import lint_files

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    results = lint_files([(tmp_path / n, n) for n in sorted(files)], jobs=1, tree=False)
    got = {(r.path, f.function) for r in results for f in r.findings if f.check == "XL011"}
    assert (("hooks.c", "hook_switch") in got) is reported
