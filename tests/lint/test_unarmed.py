"""Takes in functions entered only while check_lock() is off latch nothing
(analysis/unarmed.py, lint/unarmedsettle.py).

fixtures/lint/unarmed/ is a small x86 tree.  vector_lock (irq.c) is
IRQ-unsafe: the hypercall do_vector_op() takes it with IRQs on, and
grab_vector() plainly in its callers' state.  The boot path start_hyp()
(setup.c) arms the check with spin_debug_enable() on its only path, so
what it calls before is entered with the check off: prepare_cpus()
(smpboot.c) -> boot_cpus() -> init_uni() (apic.c) and the header inline
hooks_setup_timer() -> setup_timer_hw() (ioapic.c) -> check_clock(),
which calls grab_vector() with IRQs off: no finding.  The restart path
machine_restart() (shutdown.c) disables the check, then calls its static
real_restart() and reboot.c's bios_restart(), and the suspend path
enter_sleep() (power.c) calls sleep.c's sleep_lowlevel() between its
disable and enable: no finding.  Kept: timer_fallback() (its address is
stored in a field: who else calls it is unknown), map_vectors() (called
before the enable and from the hypercall), late_timer() (after the
enable), sleep_prepare() (before enter_sleep()'s disable: enter_sleep()
enables after its own disable, so it arms nothing and is entered as any
function).

fixtures/lint/unarmedstub/ is the shape of a 2013 apic.c: a resume hook
allocating with IRQs off, entered only between power.c's disable and
enable, whose header declares it for one configuration and stubs it out
(a static inline of the same name) for the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import alone, copied, edit, found_whole, wanted
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint import irqrecords, irqwitness
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "unarmed"

# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.mark.parametrize("jobs", [1, 2])
def test_takes_entered_with_the_check_off_latch_nothing(jobs: int) -> None:
    got = found_whole(TREE, jobs)
    assert got == wanted(TREE)
    assert got["arch/x86/shutdown.c"] == [] and got["arch/x86/reboot.c"] == []
    assert got["arch/x86/sleep.c"] == []
    assert (20, "XL017") not in got["arch/x86/ioapic.c"]


def test_a_file_alone_settles_what_the_whole_tree_run_does() -> None:
    """The hook: a file's own static chain after a disable is decided
    alone (real_restart()); an entry other files decide (check_clock(),
    sleep_lowlevel(), bios_restart()) is settled by the XL017 search
    across files reading their callers, as the whole-tree run settles it
    (lazywitness.py): each file alone reports what the whole-tree run
    reports of it."""
    whole = found_whole(TREE)
    for p in sorted(TREE.rglob("*.c")):
        rel = p.relative_to(TREE).as_posix()
        assert sorted((f.line, f.check) for f in alone(TREE, rel)) == whole[rel], rel
    assert [f.line for f in alone(TREE, "arch/x86/ioapic.c")] == [34, 58, 71, 84]
    assert alone(TREE, "arch/x86/sleep.c") == [] and alone(TREE, "arch/x86/reboot.c") == []


def test_a_caller_with_the_check_on_keeps_it(tmp_path: Path) -> None:
    """prepare_cpus() called again after the enable: the chain to
    check_clock() is entered with the check on too."""
    root = copied(TREE, tmp_path)
    edit(root / "arch" / "x86" / "setup.c", "    late_timer();\n",
         "    late_timer();\n    prepare_cpus();\n")
    assert (20, "XL017") in found_whole(root)["arch/x86/ioapic.c"]


def test_an_enable_on_some_paths_arms_nothing(tmp_path: Path) -> None:
    """start_hyp() enabling on one branch only: its entry is not known
    to be with the check off."""
    root = copied(TREE, tmp_path)
    edit(root / "arch" / "x86" / "setup.c", "    spin_debug_enable();\n",
         "    if ( booted )\n        spin_debug_enable();\n")
    edit(root / "arch" / "x86" / "setup.c", "void start_hyp(void)\n",
         "extern int booted;\n\nvoid start_hyp(void)\n")
    got = found_whole(root)["arch/x86/ioapic.c"]
    assert (20, "XL017") in got


def test_an_asm_caller_is_a_caller_not_stated(tmp_path: Path) -> None:
    """bios_restart() named by an assembly file: a way in the tree's C
    cannot state."""
    root = copied(TREE, tmp_path)
    (root / "arch" / "x86" / "entry.S").write_text("    call bios_restart\n")
    assert found_whole(root)["arch/x86/reboot.c"] == [(14, "XL017")]


def test_what_arms_and_what_does_not() -> None:
    """The arming rule itself, on the fixture's functions."""
    from lint.trees import analysed
    from xenpatch.analysis.unarmed import Apis

    apis = Apis(frozenset({"spin_debug_disable"}), frozenset({"spin_debug_enable"}))
    setup = analysed(TREE / "arch" / "x86" / "setup.c")
    power = analysed(TREE / "arch" / "x86" / "power.c")
    apis.prepare = setup.prepare
    assert apis.arming(setup.fns["start_hyp"])
    apis.prepare = power.prepare
    # Enables after its own disable: balances it, arms nothing.
    assert not apis.arming(power.fns["enter_sleep"])


def _lock(fn: str, file: str, line: int, state: str, more: str | None = None) -> Summary:
    effects = [irqrecords.witness_effect(state, irqrecords.Witness(fn, file, line, "spin_lock",
                                                                    "l"))]
    if more is not None:
        effects.append(Effect(irqwitness.MAYBE, "spin", more, "plain", "", None, "",
                              inferred=True))
    return Summary(tuple(effects), None)


def test_a_witness_in_a_function_entered_unchecked_is_none() -> None:
    """merge() with the functions the tree enters with the check off: a
    file's marked witness there is dropped, unless another function's take
    of the file may stand ("more")."""
    on = {f"{irqwitness.LOCK}#l|on": _lock("h", "a.c", 3, "on")}

    def tree(more: str) -> list[tuple[Path, str, dict[str, Summary]]]:
        return [(Path("a.c"), "a.c", on),
                (Path("b.c"), "b.c", {f"{irqwitness.LOCK}#l|off": _lock("f", "b.c", 5, "off",
                                                                         more)})]

    def quiet(fn: str, file: str) -> bool:
        return (fn, file) == ("f", "b.c")

    assert f"{irqwitness.RELINT}b.c" in irqwitness.merge(tree(""))
    assert irqwitness.merge(tree(""), quiet) == {}
    assert f"{irqwitness.RELINT}b.c" in irqwitness.merge(tree("more"), quiet)


STUB = fixtures_dir() / "lint" / "unarmedstub"


def test_a_header_stub_of_the_name_is_no_caller() -> None:
    """apic_resume()'s only call is power.c's, with the check off; the
    header's `static inline int apic_resume(void) { return 0; }` defines
    the name for another configuration, it calls nothing: the allocation
    under the resume hook latches nothing, timer.c's does.  The same
    alone and whole."""
    whole = found_whole(STUB)
    assert whole == wanted(STUB)
    assert whole["arch/x86/apic.c"] == [] and whole["common/timer.c"] == [(16, "XL017")]
    for rel in whole:
        assert sorted((f.line, f.check) for f in alone(STUB, rel)) == whole[rel], rel


def test_a_header_inline_calling_the_name_stays_a_caller(tmp_path: Path) -> None:
    """An inline of the header that calls the hook (no disable in it) is
    a caller nobody states the check of: the finding stays."""
    root = copied(STUB, tmp_path)
    edit(root / "include" / "asm" / "apic.h", "void timer_tick(void);\n",
         "void timer_tick(void);\n"
         "static inline void wake_cpu(void) { apic_resume(); }\n")
    assert found_whole(root)["arch/x86/apic.c"] == [(23, "XL017")]
    assert [(f.line, f.check) for f in alone(root, "arch/x86/apic.c")] == [(23, "XL017")]


def test_a_new_caller_elsewhere_makes_the_kept_result_stale(tmp_path: Path) -> None:
    """The hook's settle rests on every mention of the resume hook in the
    tree: after a file is added with a call of it where the check runs,
    apic.c linted alone again (its kept result at hand) reports the
    allocation."""
    root = copied(STUB, tmp_path)
    assert alone(root, "arch/x86/apic.c") == []
    (root / "common" / "wake.c").write_text(
        "#include <xen/spinlock.h>\n#include <asm/apic.h>\n\n"
        "void wake_all(void)\n{\n    apic_resume();\n}\n")
    assert [(f.line, f.check) for f in alone(root, "arch/x86/apic.c")] == [(23, "XL017")]
