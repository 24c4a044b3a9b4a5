"""A lock a helper takes at several nodes is taken under the weakest of
their conditions, whichever node the analysis meets first: a caller's
XL010 at the call depends on it (issue 9, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file

_HEAD = "struct pool { spinlock_t lock; int count; };\n\n"

# Each body's two takes, in either order, and the condition the summary
# must give: None is "on every path".
_CASES = [
    # under x, and under !x: every path
    ("if ( x ) {{ {0} }}", "if ( !x ) {{ {0} }}", None),
    # at the top, and again under x: every path
    ("{0}", "if ( x ) {{ {0} }}", None),
    # under x, and under y: taken under either, so under each; one is kept
    ("if ( x ) {{ {0} }}", "if ( y ) {{ {0} }}", "$1"),
]

_TAKE = "spin_lock(&p->lock); p->count++; spin_unlock(&p->lock);"


def _when(tmp_path: Path, first: str, second: str) -> str | None:
    path = tmp_path / "takes.c"
    path.write_text(_HEAD + "void helper(struct pool *p, int x, int y)\n{\n    "
                    + first.format(_TAKE) + "\n    " + second.format(_TAKE) + "\n}\n")
    got = lint_file(path, "takes.c", LintConfig.load()).exports["helper"]
    (take,) = [e for e in got.effects if e.action == "take"]
    return take.when


@pytest.mark.parametrize("first,second,expected", _CASES)
def test_a_lock_taken_at_two_nodes_is_taken_under_the_weaker_condition(
        tmp_path: Path, first: str, second: str, expected: str | None) -> None:
    assert _when(tmp_path, first, second) == expected
    assert _when(tmp_path, second, first) == expected
