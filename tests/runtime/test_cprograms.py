"""Lock programs derived from C, and `xenpatch difftest` on the fixture tree.

The two cases of the issue: the transitive grant's drop-and-reacquire around
__acquire_grant_for_copy's recursion (clean before and after), and a variant
that keeps the first grant read lock across the recursion (a deadlock, found
from the programs and the lock models alone, reported with the schedule and
marked as already there before the conversion).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xenpatch.cli import main
from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule
from xenpatch.runtime import conversion as V
from xenpatch.runtime import cprograms as C
from xenpatch.runtime.programs import Op

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "xen"
RULE = ROOT / "rules" / "grant_table.toml"
GT = "xen/common/grant_table.c"


def _ops(program) -> list[str]:
    return [f"{op.kind}({op.lock})" for op in program.ops if op.kind != "cs"]


@pytest.fixture(scope="module")
def fixture_programs() -> V.ConversionPrograms:
    rule = load_rule(RULE)
    return V.conversion_programs(FIXTURE, rule, run_rule(FIXTURE, rule))


def test_recursion_is_inlined_on_the_other_domains_lock(
        fixture_programs: V.ConversionPrograms) -> None:
    programs = {name: _ops(before) for name, before, _ in fixture_programs.pairs}
    assert ["read_lock(A)", "read_unlock(A)", "read_lock(B)", "read_unlock(B)",
            "read_lock(A)", "read_unlock(A)"] in programs.values()
    # The mirror image (the other domain first) is offered too.
    assert ["read_lock(B)", "read_unlock(B)", "read_lock(A)", "read_unlock(A)",
            "read_lock(B)", "read_unlock(B)"] in programs.values()


def test_double_lock_follows_address_order(fixture_programs: V.ConversionPrograms) -> None:
    writes = [[o for o in _ops(b) if o.startswith("write_lock")]
              for _, b, _ in fixture_programs.pairs]
    pairs = [w for w in writes if len(w) == 2]
    assert pairs, "a caller of double_gt_lock must be among the programs"
    assert all(w == ["write_lock(A)", "write_lock(B)"] for w in pairs)


def test_after_programs_are_percpu_with_the_owner(fixture_programs: V.ConversionPrograms) -> None:
    assert fixture_programs.pairs
    for name, before, after in fixture_programs.pairs:
        assert len(before.ops) == len(after.ops), name
        for b, a in zip(before.ops, after.ops, strict=True):
            if b.kind == "cs":
                assert a == b
            else:
                assert a == Op("percpu_" + b.kind, b.lock, "grant_rwlock")


def test_balanced_and_shape() -> None:
    seq = (("read_lock", "x->lock"), ("read_lock", "y->lock"), ("read_unlock", "y->lock"),
           ("read_unlock", "x->lock"))
    assert C.balanced(seq)
    assert not C.balanced(seq[:1])
    assert not C.balanced((("read_unlock", "x->lock"), ("read_lock", "x->lock")))
    percpu = tuple(("percpu_" + k, key.replace("x", "g").replace("y", "h")) for k, key in seq)
    assert C.shape(seq) == C.shape(percpu)


def _xp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_difftest_fixture_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16")
    head = out.splitlines()[0]
    assert ": 0 divergences, 0 hazards on both sides" in head
    # Two functions loop over lock operations: their longest paths are cut,
    # so the run is incomplete (exit 3) and says which and why.
    assert code == 3
    cut = [line for line in out.splitlines() if line.startswith("incomplete: ")]
    assert {line.split(": ")[2] for line in cut} == {"gnttab_release_mappings", "gnttab_transfer"}
    assert all("longer than 12 lock operations" in line for line in cut)
    assert "fully covered" in head and "2016 counter rwlock" in head
    # Lock helpers are covered through their callers, not cut.
    assert any("double_gt_lock: " in line and "covered through the callers" in line
               for line in out.splitlines() if line.startswith("coverage: "))
    code, _ = _xp(capsys, "difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                  "--allow-incomplete")
    assert code == 0


def test_difftest_takes_a_bundled_rule_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    # As `rewrite --rule grant_table` and `cost --rule grant_table` do.
    argv = (str(FIXTURE), "--lock-model", "rw16", "--function", "__acquire_grant_for_copy")
    by_path = _xp(capsys, "difftest", "--rule", str(RULE), *argv)
    by_name = _xp(capsys, "difftest", "--rule", "grant_table", *argv)
    assert by_name == by_path and by_name[1]
    code = main(["difftest", "--rule", "no_such_rule", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "no_such_rule" in err and "grant_table" in err


def test_difftest_per_function_cap_counts_as_cut(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                    "--function", "__acquire_grant_for_copy", "--paths", "4")
    assert code == 3
    (line,) = [x for x in out.splitlines() if "__acquire_grant_for_copy: " in x]
    assert line.startswith("incomplete: ") and "3 over the cap of 4 paths per function" in line


def test_difftest_early_return_holding_the_lock_is_reported(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "early"))
    src = tree / "xen/arch/arm/mm.c"
    text = src.read_text()
    take = "        write_lock(&d->grant_table->lock);\n"
    assert text.count(take) == 1
    src.write_text(text.replace(take, take + "        if ( idx == ~0UL )\n"
                                "            return -EINVAL;\n"))
    argv = ("difftest", "--rule", str(RULE), str(tree), "--lock-model", "rw16",
            "--function", "xenmem_add_to_physmap_one", "--allow-incomplete")
    code, out = _xp(capsys, *argv)
    assert code == 0  # on both sides: not a divergence...
    assert "preexisting: held_at_end with cpu0=xenmem_add_to_physmap_one#" in out
    assert "(one-sided)" in out
    assert "0 divergences" in out.splitlines()[0]
    assert " 0 hazards on both sides" not in out.splitlines()[0]
    code, _ = _xp(capsys, *argv, "--fail-on", "preexisting")
    assert code == 1  # ...unless asked


CORRELATED = """
static void gnttab_fixture_either(struct domain *d, int write)
{
    struct grant_table *gt = d->grant_table;

    if ( write )
        write_lock(&gt->lock);
    else
        read_lock(&gt->lock);
    gt->gt_version = 1;
    if ( write )
        write_unlock(&gt->lock);
    else
        read_unlock(&gt->lock);
}
"""


def test_difftest_condition_chosen_once_is_followed(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "either"))
    src = tree / GT
    src.write_text(src.read_text() + CORRELATED)
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(tree), "--lock-model", "rw16",
                    "--function", "gnttab_fixture_either", "--cpus", "1,2")
    assert code == 0, out
    assert ": 0 divergences, 0 hazards on both sides" in out.splitlines()[0]
    (line,) = [x for x in out.splitlines() if "gnttab_fixture_either: " in x]
    # read/read_unlock and write/write_unlock; never read_lock ... write_unlock.
    assert line.startswith("coverage: ") and "2 paths found, 2 run" in line


def test_difftest_variant_keeping_the_read_lock(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "variant"))
    src = tree / GT
    text = src.read_text()
    drop = "        active_entry_release(act);\n        read_unlock(&rgt->lock);\n\n        rc ="
    retake = "        read_lock(&rgt->lock);\n        act = active_entry_acquire(rgt, gref);"
    assert text.count(drop) == 1 and text.count(retake) == 1
    text = text.replace(drop, "        active_entry_release(act);\n\n        rc =")
    src.write_text(text.replace(retake, "        act = active_entry_acquire(rgt, gref);"))
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(tree), "--lock-model", "rw16",
                    "--allow-incomplete")
    head = out.splitlines()[0]
    assert code == 0  # the hazard is not new: the conversion did not add it
    assert ": 0 divergences," in head and " 0 hazards on both sides" not in head
    report = out[out.index("preexisting: deadlock with "):]
    first = report.splitlines()[0]
    assert "__acquire_grant_for_copy" in first and "__gnttab_map_grant_ref" in first
    assert "  before (rw16 release):" in report and "  after (rw16 release):" in report
    assert "percpu_write_lock(B, grant_rwlock)" in report or \
        "percpu_write_lock(A, grant_rwlock)" in report
    assert "schedule (" in report


def _fp(name: str, *seqs: tuple) -> C.FunctionPrograms:
    return C.FunctionPrograms("x.h", name, sequences=list(seqs))


def test_lock_api_halves_are_composed() -> None:
    # mm-locks.h's shape: lock helpers that only take, unlock helpers that
    # only release; the write lock has a recursive path with no operation.
    before = [_fp("_mm_read_lock", (("read_lock", "l->lock"),)),
              _fp("_mm_write_lock", (), (("write_lock", "l->lock"),)),
              _fp("mm_read_unlock", (("read_unlock", "m->lock"),)),
              _fp("mm_write_unlock", (), (("write_unlock", "l->lock"),))]
    after = [_fp(f.function, *(tuple(("percpu_" + k, key) for k, key in seq)
                               for seq in f.sequences)) for f in before]
    halves = C.helper_halves(before, after, set())
    assert set(halves) == {f.function for f in before}
    made = C.compose_halves("_mm_read_lock", (("read_lock", "l->lock"),), halves)
    assert made == [("_mm_read_lock+mm_read_unlock",
                     (("read_lock", "l->lock"), ("read_unlock", "l->lock")),
                     (("percpu_read_lock", "l->lock"), ("percpu_read_unlock", "l->lock")))]
    assert [m[0] for m in C.compose_halves("mm_write_unlock", (("write_unlock", "l->lock"),),
                                     halves)] == ["_mm_write_lock+mm_write_unlock"]
    # A function with a balanced path is no half; an inlined helper is covered by callers.
    mixed = [_fp("f", (("read_lock", "x"),), (("read_lock", "x"), ("read_unlock", "x")))]
    assert C.helper_halves(mixed, mixed, set()) == {}
    inlined = C.helper_halves(before, after, {"_mm_read_lock"})
    assert inlined.keys() == set(halves) - {"_mm_read_lock"}


P2M_PARENT = Path("/work/trees/p2m-parent")


@pytest.mark.skipif(not (P2M_PARENT / "xen/arch/x86/mm/mm-locks.h").is_file(),
                    reason="the p2m conversion's parent tree is not extracted")
def test_difftest_p2m_analyses_the_header_helpers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _xp(capsys, "difftest", "--rule", str(ROOT / "rules/p2m.toml"), str(P2M_PARENT))
    head = out.splitlines()[0]
    assert code == 0, out
    assert "5 functions (5 of 5 fully covered), 2 programs" in head
    assert "2016 counter rwlock" in head and "0 divergences" in head


def test_difftest_irq_context_function(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
            "--function", "gnttab_set_version", "--cpus", "1", "--build", "debug")
    code, out = _xp(capsys, *argv)
    assert code == 0 and "in interrupt context" not in out
    # Run from an interrupt handler, the converted write lock trips the
    # percpu writer's ASSERT(!in_irq()): a new hazard of the conversion.
    code, out = _xp(capsys, *argv, "--irq-context", "gnttab_set_version")
    assert code == 1
    assert "in interrupt context: gnttab_set_version" in out
    assert "new: assert with cpu0=gnttab_set_version#1 (in IRQ)" in out
    assert "ASSERT(!in_irq()) failed" in out


def test_irq_handlers_follow_the_trees_prototype(tmp_path: Path) -> None:
    from xenpatch.runtime.irqctx import irq_handlers

    src = tmp_path / "xen" / "arch"
    src.mkdir(parents=True)
    inc = tmp_path / "xen" / "include" / "xen"
    inc.mkdir(parents=True)
    (inc / "irq.h").write_text(
        "int request_irq(unsigned int irq, unsigned int irqflags,\n"
        "                void (*handler)(int, void *), const char *name, void *dev);\n")
    (src / "irq.c").write_text(
        "static void timer_fn(int irq, void *d) { }\n"
        "void setup(void) { request_irq(3, 0, timer_fn, \"t\", NULL); }\n")
    (src / "drv.c").write_text(
        "#define request_irq(irq, func, flags, name, dev) \\\n"
        "    request_irq(irq, flags, func, name, dev)\n"
        "void probe(void) { request_irq(4, fault_fn, IRQF_SHARED, \"f\", NULL); }\n")
    assert irq_handlers(tmp_path) == {"timer_fn", "fault_fn"}


MAYBE_NULL = """
static void gnttab_fixture_maybe_null(struct domain *d, struct domain *e)
{
    struct grant_table *gt = NULL;

    if ( e != NULL )
    {
        gt = e->grant_table;
        write_lock(&gt->lock);
    }
    d->grant_table->gt_version = 1;
    if ( gt != NULL )
        write_unlock(&gt->lock);
}
"""


def test_difftest_pointer_whose_lock_is_held_is_not_null(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "maybe_null"))
    src = tree / GT
    src.write_text(src.read_text() + MAYBE_NULL)
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(tree), "--lock-model", "rw16",
                    "--function", "gnttab_fixture_maybe_null", "--cpus", "1")
    assert code == 0, out
    # No path takes the lock and then finds gt NULL (ending with it held).
    assert ": 0 divergences, 0 hazards on both sides" in out.splitlines()[0]
    assert "gnttab_fixture_maybe_null: 1 paths found, 1 run" in out


def test_a_function_that_only_asserts_or_initialises_says_so(
        capsys: pytest.CaptureFixture[str]) -> None:
    # active_entry_acquire() only asserts the table lock, grant_table_create()
    # only initialises it: covered with nothing to run, in those words
    # rather than "0 paths found, 0 run" under "coverage:".
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model",
                    "rw16", "--cpus", "1", "--allow-incomplete")
    assert code == 0, out
    lines = {x.split(": ")[2]: x for x in out.splitlines() if x.startswith("coverage: ")}
    for fn in ("active_entry_acquire", "grant_table_create"):
        assert lines[fn].endswith(f"{fn}: no lock section to run (its converted sites "
                                  "initialise or test the lock)"), lines[fn]
    assert not [x for x in out.splitlines() if ": 0 paths found" in x]


def test_difftest_of_a_converted_tree_compared_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The fixture after its own conversion: no conversion left to compare,
    # which is not a pass (rewrite says "nothing to do" and exits 0; here
    # nothing was tested).
    tree = Path(shutil.copytree(FIXTURE, tmp_path / "converted"))
    result = run_rule(tree, load_rule(RULE))
    for rel in result.changed:
        (tree / rel).write_bytes(result.new[rel])
    code = main(["difftest", "--rule", str(RULE), str(tree), "--lock-model", "rw16"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "nothing to test" in err and "percpu_rwlock_t already" in err


@pytest.mark.parametrize("option", ["--function", "--irq-context"])
def test_difftest_name_the_conversion_does_not_change_is_refused(
        capsys: pytest.CaptureFixture[str], option: str) -> None:
    # A misspelt --function selected nothing and passed: "0 functions", exit 0.
    code = main(["difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model", "rw16",
                 option, "gnttab_set_versoin"])
    err = capsys.readouterr().err
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"xenpatch: {option} gnttab_set_versoin: not a function the "
                           "conversion changes")
    assert "gnttab_set_version" not in line or "..." in line


def test_difftest_with_no_lock_section_to_run_is_not_a_pass(
        capsys: pytest.CaptureFixture[str]) -> None:
    # grant_table_create() only initialises the lock: fully covered, nothing run.
    code, out = _xp(capsys, "difftest", "--rule", str(RULE), str(FIXTURE), "--lock-model",
                    "rw16", "--function", "grant_table_create", "--allow-incomplete")
    assert code == 3
    assert " 0 programs, 0 combinations" in out.splitlines()[0]


UNWALKABLE = """#include <xen/types.h>
#include <xen/spinlock.h>
#include <xen/caps.h>

void caps_init(struct caps *c)
{
    rwlock_init(&c->lock);
}

void caps_set(struct caps *c, unsigned long v)
{
    write_lock(&c->lock);
    c->bits = v;
    write_unlock(&c->lock);
}

unsigned long caps_get(struct caps *c)
{
    unsigned long v;

    read_lock(&c->lock);
    v = c->bits;
    if ( !v )
        goto nowhere;
    read_unlock(&c->lock);
    return v;
}
"""


def test_a_function_whose_paths_cannot_be_built_is_not_covered(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # caps_get()'s goto has no label: no control flow graph, so no paths.
    # It was "fully covered" with "no lock section to run", and the run
    # passed on caps_set()'s programs alone.
    from capstree import caps_rule, caps_tree

    tree = caps_tree(tmp_path, UNWALKABLE)
    code, out = _xp(capsys, "difftest", "--rule", caps_rule(tmp_path), str(tree),
                    "--lock-model", "qrw")
    assert code == 3, out
    assert "(2 of 3 fully covered)" in out.splitlines()[0]
    assert ("incomplete: xen/common/caps.c: caps_get: 0 paths found, 0 run; not walked: "
            "goto to undefined label 'nowhere'") in out.splitlines()
