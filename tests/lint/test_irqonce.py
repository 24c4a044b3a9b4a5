"""A set-up a function runs once (analysis/onceguards.py) says nothing of
its callers' IRQ state, across files too.

fixtures/lint/irqoncetree/ is a small tree: common/alloc.c sets its main
pool up on the first call of alloc() (``if ( unlikely(!main_pool) )``,
main_pool a file static the set-up assigns and nothing clears), taking
pools_lock there; its spare pool is cleared by spare_drop() and set up
again by any later call, taking spares_lock.  arch/x86/irq.c calls both
allocators under an IRQs-off descriptor lock; both locks are taken with
IRQs asserted on in alloc.c.  Only the spare pool's lock is reported."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.analysis.onceguards import null_test, once_nodes
from xenpatch.c.cfg import Kind
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import summary_analysis
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "irqoncetree"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    got = trees.found_whole(TREE)
    assert got == trees.wanted(TREE)
    assert got["arch/x86/irq.c"] == [(20, "XL017")]


def test_the_hooks_run_of_the_caller_alone_agrees() -> None:
    assert sorted((f.line, f.check) for f in trees.alone(TREE, "arch/x86/irq.c")) == \
        [(20, "XL017")]


def test_only_the_set_up_that_stays_done_runs_once() -> None:
    path = TREE / "common" / "alloc.c"
    got = summary_analysis(path, path.read_bytes(), LintConfig.load(),
                           frozenset({"alloc", "alloc_spare"}), False)
    assert got is not None
    fa = got[0]
    once = {}
    for name in ("alloc", "alloc_spare"):
        f = fa.function(name)
        assert f is not None
        fa.prepare(f)
        assert f.cfg is not None
        tests = [null_test(f.src, n.ast) for n in f.cfg.nodes
                 if n.kind is Kind.COND and n.ast is not None]
        assert tests and tests[0] is not None
        once[name] = once_nodes(f.src, f.cfg)
    assert once["alloc"] and not once["alloc_spare"]
