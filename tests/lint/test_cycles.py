"""A call cycle of a file's functions is summarised the same whichever
member is asked for first: a hook run asks for one name (the lazy
cross-file summaries), a whole-file lint prepares the file in order."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from xenpatch.lint.calleesummaries import file_summaries
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

_FUNCTIONS = {
    # b() turns IRQs on on every path and takes the lock; a() and b() call
    # each other; c() and d() enter the cycle at a() and at b().
    "b": """void b(struct pool *p, int n)
{
    spin_lock_irq(&p->lock);
    p->count = n;
    spin_unlock_irq(&p->lock);
    if ( n )
        a(p, n - 1);
}
""",
    "a": """void a(struct pool *p, int n)
{
    b(p, n);
}
""",
    "c": """void c(struct pool *p)
{
    a(p, 3);
}
""",
    "d": """void d(struct pool *p)
{
    b(p, 2);
}
""",
}

_HEAD = """struct pool { spinlock_t lock; int count; };
void a(struct pool *p, int n);
void b(struct pool *p, int n);

"""


# Every order of the four definitions: the cycle's first definition may be
# a() (whose body only calls b()), b(), or neither.  With a() first, the
# full lint once summarised b() with a() under way and kept, of b()'s two
# takes of the lock, the one under "if ( n )" (through a()) with its
# condition on n, while b() asked alone had the unconditional one.
@pytest.mark.parametrize("order", list(itertools.permutations(_FUNCTIONS)))
def test_each_name_asked_alone_is_summarised_as_in_the_full_lint(
        tmp_path: Path, order: tuple[str, ...]) -> None:
    path = tmp_path / "cycle.c"
    path.write_text(_HEAD + "\n".join(_FUNCTIONS[n] for n in order))
    config = LintConfig.load()
    full = lint_file(path, "cycle.c", config).exports
    assert {"a", "b", "c", "d"} <= full.keys()
    for name in "abcd":
        _, got = file_summaries(path, config, frozenset([name]))
        assert got == {name: full[name]}, (order, name)
