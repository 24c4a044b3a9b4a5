"""The event_lock rule on Debian trixie's Xen 4.20 (``scripts/fetch-xen-source.sh
--suite trixie``): every site found, the tree written, and the hypervisor builds.

Skipped, with the reason, where the archive does not serve 4.20 (never
failed under XENPATCH_REQUIRE_XEN=1: tests/xensource.py requires 4.17 only).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from xenbuild import build_hypervisor, textual_sites
from xensource import ROOT

from xenpatch.rewrite.edits import write_atomically
from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule


@pytest.fixture(scope="module")
def converted(xen420: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("xen420") / "src"
    shutil.copytree(xen420, tree, symlinks=True)
    result = run_rule(tree, load_rule(ROOT / "rules" / "event_lock.toml"))
    assert not result.plan.errors and not result.plan.clashes, result.plan.errors
    assert not result.plan.remaining, result.plan.remaining
    assert not result.plan.nothing_to_do
    assert {(s.path, s.line) for s in result.plan.sites} == textual_sites(tree, "event_lock")
    write_atomically(tree, {p: result.new[p] for p in result.changed})
    return tree


def test_no_old_call_remains(converted: Path) -> None:
    assert textual_sites(converted, "event_lock") == set()
    sched = (converted / "xen/include/xen/sched.h").read_text()
    assert "percpu_rwlock_t  event_lock;" in sched
    assert "DECLARE_PERCPU_RWLOCK_GLOBAL(domain_event_rwlock);" in sched
    second = run_rule(converted, load_rule(ROOT / "rules" / "event_lock.toml"))
    assert second.plan.nothing_to_do and second.changed == []


@pytest.mark.slow
def test_rewritten_hypervisor_builds(converted: Path) -> None:
    build_hypervisor(converted, required=False)
    nm = subprocess.run(["nm", str(converted / "xen" / "xen-syms")], capture_output=True, text=True)
    assert "domain_event_rwlock" in nm.stdout
