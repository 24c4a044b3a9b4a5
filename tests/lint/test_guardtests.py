"""Helpers that lock or unlock only past an early return on a test of their
arguments (xenpatch/analysis/guardtests.py).

Found replaying the hook on 2007's history (2007-05 .. 06-30): every
caller of vmx_vmcs_enter()/vmx_vmcs_exit() in vmx.c and vmcs.c was
reported (XL010 "already held on entry", XL002 at the exit), 15 false
findings in 47 of 149 commits.  The enter took the VMCS lock on some paths
only, a take its callers could not pair with the exit's release, so the
release looked like one of a lock held on entry.  Now both carry the test
(``v == current`` returns early), and the one real leak of that code, a
return between the two calls, is what is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import alone, found_whole, wanted
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.lint.calleesummaries import file_summaries
from xenpatch.lint.config import LintConfig
from xenpatch.lint.treecache import summary_in, summary_out
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "earlytestx"


def test_the_pair_across_files_alone_and_whole() -> None:
    """The pair's callers in another file: each balanced one quiet, the
    return between the calls the one leak; alone (the hook, through the
    tree cache's summaries) as whole."""
    assert found_whole(TREE) == wanted(TREE) == {
        "arch/x86/hvm/vmcs.c": [], "arch/x86/hvm/vmx.c": [(29, "XL001")]}
    [leak] = alone(TREE, "arch/x86/hvm/vmx.c")
    assert leak.line == 29 and "taken at line 27" in leak.message
    assert alone(TREE, "arch/x86/hvm/vmcs.c") == []


_HEAD = """#include <xen/spinlock.h>
struct vcpu { spinlock_t lock; int n; struct vcpu *next; };
struct vcpu *get_current(void);
#define current get_current()
struct vcpu *pick(void);
"""


def _summary(tmp_path: Path, body: str, name: str = "enter") -> Summary | None:
    path = tmp_path / "f.c"
    path.write_text(_HEAD + body)
    _, got = file_summaries(path, LintConfig.load(), frozenset([name]))
    return got.get(name)


def test_the_test_is_read_from_the_early_return(tmp_path: Path) -> None:
    s = _summary(tmp_path, "void enter(struct vcpu *v)\n{\n    if ( v == current )\n"
                           "        return;\n    spin_lock(&v->lock);\n}\n")
    assert s is not None and s.test == "!(${0}==current)"
    assert [(e.action, e.key) for e in s.effects] == [("acquire", "$0->lock")]
    s = _summary(tmp_path, "void leave(struct vcpu *v)\n{\n    if ( v == current )\n"
                           "    {\n        return;\n    }\n    spin_unlock(&v->lock);\n}\n",
                 "leave")
    assert s is not None and s.test == "!(${0}==current)"
    assert [(e.action, e.key) for e in s.effects] == [("release", "$0->lock")]


@pytest.mark.parametrize("body", [
    # A local decides: no caller's argument can stand for it.
    "void enter(struct vcpu *v)\n{\n    struct vcpu *c = pick();\n    if ( v == c )\n"
    "        return;\n    spin_lock(&v->lock);\n}\n",
    # The parameter changes before the take: the test is not of the argument.
    "void enter(struct vcpu *v)\n{\n    if ( v == current )\n        return;\n"
    "    v = v->next;\n    spin_lock(&v->lock);\n}\n",
    # Globals alone: no argument of a caller's says anything of them.
    "void enter(struct vcpu *v)\n{\n    if ( !pick() )\n        return;\n"
    "    spin_lock(&v->lock);\n}\n",
    # What it tests is what it wrote first, not its caller's argument.
    "void enter(struct vcpu *v, int *n)\n{\n    *n = v->n;\n    if ( *n )\n"
    "        return;\n    spin_lock(&v->lock);\n}\n",
    # Its test writes.
    "void enter(struct vcpu *v)\n{\n    if ( v->n++ )\n        return;\n"
    "    spin_lock(&v->lock);\n}\n",
    # Two early returns on two tests: no one test says when it takes.
    "void enter(struct vcpu *v)\n{\n    if ( v == current )\n        return;\n"
    "    if ( v->n )\n        return;\n    spin_lock(&v->lock);\n}\n",
    # The branch does more than return.
    "void enter(struct vcpu *v)\n{\n    if ( v == current )\n    {\n        v->n = 0;\n"
    "        return;\n    }\n    spin_lock(&v->lock);\n}\n",
])
def test_no_test_a_caller_could_not_repeat(tmp_path: Path, body: str) -> None:
    s = _summary(tmp_path, body)
    assert s is None or s.test is None


def test_the_test_survives_the_cache() -> None:
    s = Summary((Effect("acquire", "spin", "write", "any", "$0->lock", None, "enter",
                        inferred=True),), None, test="!(${0}==current)")
    assert summary_in(summary_out(s)) == s
    plain = Summary(s.effects, None)
    assert "test" not in summary_out(plain) and summary_in(summary_out(plain)) == plain
