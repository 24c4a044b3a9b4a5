"""XL017 across files for a struct field's lock taken inside another file's
function (irqwitness.merge()): the take of a parameter's field is one of
the field's class whatever the caller passes, as a typed variable's is.

fixtures/lint/irqfieldcall/: common/inject.c's vcpu_inject() takes its
vCPU's inject_lock plainly (in its caller's state); common/event.c calls
it under an irqsave lock (IRQs off), and through common/notify.c's relay
vcpu_notify() (a file naming no lock op: the take two files away, past a
hop whose parameters no record maps, is of the field's class);
common/mmio.c takes the same field of a vCPU with IRQs known on.
domain_inject() takes a domain's lock of the same field name, which no
file takes with IRQs on: silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import alone, copied, edit, found_whole, shape, wanted, whole
from xenpatch.analysis.irqtakes import Template
from xenpatch.lint.irqwitness import shown_key
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqfieldcall"
EVENT = "common/event.c"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _irq_safe(root: Path) -> Path:
    """The tree with mmio.c taking the vCPU's inject_lock _irq."""
    mmio = root / "common" / "mmio.c"
    edit(mmio, "    spin_lock(&v->inject_lock);", "    spin_lock_irq(&v->inject_lock);")
    edit(mmio, "    spin_unlock(&v->inject_lock);", "    spin_unlock_irq(&v->inject_lock);")
    return root


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_callee_taking_a_parameters_field_lock_with_irqs_off_is_reported(jobs: int) -> None:
    got = found_whole(TREE, jobs)
    assert got == wanted(TREE)
    assert got[EVENT] == [(11, "XL017"), (30, "XL017")]


def test_the_finding_names_the_callee_and_the_other_files_take() -> None:
    f, relayed = whole(TREE)[EVENT]
    assert f.function == "send_virq"
    assert f.message.startswith("'vcpu_inject' (through 'spin_lock') takes 'v->inject_lock' "
                                "with IRQs off")
    assert "common/mmio.c:15 (in 'mmio_write')" in f.message
    # Past the relay no argument names the vCPU: the class does.
    assert relayed.function == "send_notify"
    assert relayed.message.startswith("'vcpu_notify' (through 'spin_lock') takes "
                                      "'struct vcpu->inject_lock' with IRQs off")


@pytest.mark.parametrize("mode", ["whole", "alone"])
def test_a_relay_whose_path_the_caller_contradicts_is_not_met(tmp_path: Path,
                                                              mode: str) -> None:
    """vcpu_notify() injects only for a vCPU with nothing pending: a
    caller calling it for one with something pending never meets the take."""
    root = copied(TREE, tmp_path)
    edit(root / EVENT, "    vcpu_notify(v); /* expect: XL017 */",
         "    if ( v->pending )\n        vcpu_notify(v);")
    got = whole(root)[EVENT] if mode == "whole" else alone(root, EVENT)
    assert [f.function for f in got] == ["send_virq"]


def test_an_irq_safe_take_elsewhere_makes_the_callers_take_right(tmp_path: Path) -> None:
    """mmio.c taking the field _irq: the lock is IRQ-safe, and the call
    under the irqsave lock is a take with IRQs off, as it must be."""
    root = _irq_safe(copied(TREE, tmp_path))
    assert found_whole(root)[EVENT] == []


def test_another_struct_types_field_of_the_same_name_is_another_lock(tmp_path: Path) -> None:
    """mmio.c taking a domain's inject_lock with IRQs on instead: the
    vCPU's lock is then taken with IRQs on nowhere, and the domain's is
    met by send_domain_virq() with IRQs off."""
    root = copied(TREE, tmp_path)
    edit(root / "common" / "mmio.c", "void mmio_write(struct vcpu *v, unsigned long val)",
         "void mmio_write(struct domain *v, unsigned long val)")
    got = whole(root)[EVENT]
    assert [(f.line, f.function) for f in got] == [(20, "send_domain_virq")]
    assert "'domain_inject' (through 'spin_lock') takes 'd->inject_lock'" in got[0].message


def test_the_witness_names_the_lock_by_its_class() -> None:
    t = Template("$0->arch.vgic.lock", "spin", False, "spin_lock", "structvcpu#->arch.vgic.lock")
    assert shown_key(t) == "struct vcpu->arch.vgic.lock"
    # A lock of file scope, or a parameter's lock of no class, as it is.
    assert shown_key(Template("pool_lock", "spin", False, "spin_lock", "#pool_lock")) == "pool_lock"
    assert shown_key(Template("*$0", "spin", False, "spin_lock", "")) == "*$0"


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    """The hook's setting: lazywitness.py hands the callee's take of a
    parameter's field to lazyfield.py's search, as the file's own take."""
    got = alone(TREE, EVENT)
    assert shape(got) == shape(whole(TREE)[EVENT])
    assert [f.line for f in got] == [11, 30]


def test_alone_an_irq_safe_take_elsewhere_ends_the_search(tmp_path: Path) -> None:
    root = _irq_safe(copied(TREE, tmp_path))
    [r] = lint_files([(root / EVENT, EVENT)], jobs=1)
    assert r.findings == []
    assert any("takes it IRQ-safe" in s[2] for s in r.searched)


def test_alone_a_search_past_its_bound_reports_nothing_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.lint import lazyfield

    monkeypatch.setattr(lazyfield, "BOUND", 0)
    [r] = lint_files([(TREE / EVENT, EVENT)], jobs=1)
    assert r.findings == []
    assert [u[:2] for u in r.undecided if "struct vcpu->inject_lock" in u[2]] == [
        ("send_virq", 11)]


def test_a_class_met_past_a_hop_is_not_read_as_a_parameter(tmp_path: Path) -> None:
    """A static helper of event.c relaying to vcpu_notify() through a
    parameter named ``vcpu``: the class's text (``struct vcpu->...``) is
    carried to the helper's caller as the class, not templated on the
    helper's parameter of that name."""
    root = copied(TREE, tmp_path)
    event = root / EVENT
    event.write_text(event.read_text() + (
        "\nstatic void relay_all(struct vcpu *vcpu)\n{\n    vcpu_notify(vcpu);\n}\n"
        "\nvoid send_all(struct vcpu *v)\n{\n    unsigned long flags;\n\n"
        "    spin_lock_irqsave(&v->virq_lock, flags);\n    relay_all(v);\n"
        "    spin_unlock_irqrestore(&v->virq_lock, flags);\n}\n"))
    got = whole(root)[EVENT]
    [f] = [f for f in got if f.function == "send_all"]
    assert f.message.startswith("'relay_all' (through 'spin_lock') takes "
                                "'struct vcpu->inject_lock' with IRQs off")
    assert shape(alone(root, EVENT)) == shape(got)
