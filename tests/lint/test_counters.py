"""Loops over the same bound and tests of a counter holding a literal
(xenpatch/analysis/counters.py).

2012's set_gdt() takes a recursive lock's reference per page in one loop
and puts one per page in a second loop over the same bound: three false
findings, of paths that run one loop more rounds than the other.  The
property below checks the lint against what the C does, for two loops
whose starts and bound vary: the same start and bound, nothing; a later
start of the putting loop, the references it skips leak; an earlier one,
it puts references never taken; a bound changed between them by a call,
either may happen.  (``i < n`` false at i == 0 is false at i == 1: the
order of a test's outcomes under two values is read too.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenpatch.analysis.countertests import literal_test
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_source

CONFIG = LintConfig.load()


def _condition(text: str):
    src = parse_bytes("t.c", f"int f(int i) {{ while ( {text} ) ; return 0; }}\n".encode(),
                      CONFIG.macros)
    todo = [src.root]
    while todo:
        n = todo.pop()
        if n.type == "while_statement":
            return src, n.child_by_field_name("condition")
        todo.extend(n.named_children)
    raise AssertionError("no while")


@pytest.mark.parametrize(("text", "want"), [
    ("i-- > 0", ("i", ">", 0, -1)),  # the test reads i, then i is one less
    ("--i > 0", ("i", ">", 0, 0)),
    ("i++ < 3", ("i", "<", 3, 1)),
    ("i--", ("i", "!=", 0, -1)),
    ("i >= 2", ("i", ">=", 2, 0)),
    ("i != -1", ("i", "!=", -1, 0)),
    ("i < n", None),  # not a literal
    ("0 < i", None),
    ("p->n > 0", None),  # not a variable
])
def test_a_literal_test_is_read_as_c_reads_it(text: str, want) -> None:
    src, cond = _condition(text)
    assert literal_test(src, cond) == want


_PROGRAM = """#include <xen/spinlock.h>
struct domain {{ spinlock_t lock; }};
int shrink(int n);
int f(struct domain *d, int n)
{{
    int i;

{first}
{between}
{second}
    return 0;
}}
"""


def _loop(form: str, start: int, body: str) -> str:
    if form == "for":
        return f"    for ( i = {start}; i < n; i++ )\n        {body}\n"
    return (f"    i = {start};\n    while ( i < n )\n    {{\n        {body}\n"
            "        i++;\n    }\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.sampled_from(["for", "while"]), second=st.sampled_from(["for", "while"]),
       s1=st.integers(0, 2), s2=st.integers(0, 2), changed=st.booleans())
def test_two_loops_report_what_the_c_can_do(first: str, second: str, s1: int, s2: int,
                                             changed: bool) -> None:
    text = _PROGRAM.format(
        first=_loop(first, s1, "spin_lock_recursive(&d->lock);"),
        between="    n = shrink(n);\n" if changed else "",
        second=_loop(second, s2, "spin_unlock_recursive(&d->lock);"))
    src = parse_bytes("f.c", text.encode(), CONFIG.macros)
    got = {f.check for f in lint_source(src, CONFIG, None).findings}
    if changed:
        # n may grow or shrink: a put of a reference never taken, or a
        # reference never put, whatever the starts.
        assert got == {"XL001", "XL002"}
    elif s1 == s2:
        assert got == set()
    elif s1 < s2:
        # The putting loop skips the first rounds' references.
        assert got == {"XL001"}
    else:
        # The putting loop puts references of rounds the taking one skipped.
        assert got == {"XL002"}
