"""The checker against a brute-force path enumerator on random functions
(nested if/else, while/do/for loops with break and continue, switch with
fall-through, forward gotos to labels, early returns, lock and unlock of two
or three spinlocks).  Verdicts compared: lock held at an exit (by lock and
exit line), release of a lock not held, and self-deadlock (by line)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, reject, settings

from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_source

from .enumerator import TooManyPaths, functions, render, verdicts

CONFIG = LintConfig.load()
_LOCK = re.compile(r"'lk(\d+)'")


def checker(text: str) -> set[tuple[str, int, int]]:
    src = parse_bytes("gen.c", text.encode(), CONFIG.macros)
    result = lint_source(src, CONFIG, None)
    assert not result.skipped, (result.skipped, text)
    out = set()
    for f in result.findings:
        m = _LOCK.search(f.message)
        assert m is not None, f.message
        out.add((f.check, f.line, int(m.group(1))))
    return out


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(functions())
def test_checker_agrees_with_enumerator(fn) -> None:
    text = render(fn)
    # Per lock, a loop round either sets, clears or keeps it, so nlocks + 1
    # rounds reach every combination a longer run could.
    try:
        expected = verdicts(fn, bound=fn.nlocks + 1)
    except TooManyPaths:
        reject()  # beyond brute force; the checker itself has no such limit
    assert checker(text) == expected, text


def test_example_goto_leak() -> None:
    text = """static DEFINE_SPINLOCK(lk0);
static DEFINE_SPINLOCK(lk1);
void f(void)
{
    spin_lock(&lk0);
    if ( c1 )
    {
        goto out1;
    }
    spin_unlock(&lk0);
 out1:
    return;
}
"""
    assert checker(text) == {("XL001", 12, 0)}
