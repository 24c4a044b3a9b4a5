"""The event_lock rule on Debian's Xen 4.17, and after it a rule no one
bundled (fixtures/rules/mmcfg_lock.toml: a lock in struct hvm_domain, a
struct inside struct domain): every site found, and the result builds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from xenbuild import build_hypervisor, textual_sites
from xensource import ROOT

from xenpatch.paths import fixtures_dir
from xenpatch.rewrite.edits import write_atomically
from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule


def _textual_sites(tree: Path) -> set[tuple[str, int]]:
    return textual_sites(tree, "event_lock")


MMCFG = fixtures_dir() / "rules" / "mmcfg_lock.toml"


@pytest.fixture(scope="module")
def converted(xen417: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("xen417") / "src"
    shutil.copytree(xen417, tree, symlinks=True)
    result = run_rule(tree, load_rule(ROOT / "rules" / "event_lock.toml"), jobs=2)
    assert not result.plan.errors, result.plan.errors
    assert {(s.path, s.line) for s in result.plan.sites} == _textual_sites(tree)
    assert not result.plan.remaining
    write_atomically(tree, {p: result.new[p] for p in result.changed})
    mmcfg = textual_sites(tree, "mmcfg_lock", ".")
    assert len(mmcfg) == 14
    result = run_rule(tree, load_rule(MMCFG), jobs=2)
    assert not result.plan.errors and not result.plan.remaining
    assert {(s.path, s.line) for s in result.plan.sites} == mmcfg
    write_atomically(tree, {p: result.new[p] for p in result.changed})
    return tree


def test_no_old_call_remains(converted: Path) -> None:
    assert _textual_sites(converted) == set()
    sched = (converted / "xen/include/xen/sched.h").read_text()
    assert re.search(r"^    percpu_rwlock_t  event_lock;$", sched, re.M)
    assert "DECLARE_PERCPU_RWLOCK_GLOBAL(domain_event_rwlock);" in sched
    evtchn = (converted / "xen/common/event_channel.c").read_text()
    assert "percpu_rwlock_resource_init(&d->event_lock, domain_event_rwlock);" in evtchn
    assert evtchn.count("DEFINE_PERCPU_RWLOCK_GLOBAL(domain_event_rwlock);") == 1
    assert textual_sites(converted, "mmcfg_lock", ".") == set()
    hvm = (converted / "xen/arch/x86/include/asm/hvm/domain.h").read_text()
    assert re.search(r"^    percpu_rwlock_t mmcfg_lock;$", hvm, re.M)
    assert "DECLARE_PERCPU_RWLOCK_GLOBAL(hvm_mmcfg_rwlock);" in hvm
    io = (converted / "xen/arch/x86/hvm/io.c").read_text()
    assert io.count("hvm_mmcfg_read_lock(&d->arch.hvm);") == 3


@pytest.mark.slow
def test_rewritten_hypervisor_builds(converted: Path) -> None:
    """gcc is the peer: make -C xen defconfig && make -C xen -j2 must succeed."""
    build_hypervisor(converted)
    # The converted object really uses the percpu lock.
    nm = subprocess.run(["nm", str(converted / "xen" / "xen-syms")], capture_output=True, text=True)
    assert "domain_event_rwlock" in nm.stdout
    assert "hvm_mmcfg_rwlock" in nm.stdout
