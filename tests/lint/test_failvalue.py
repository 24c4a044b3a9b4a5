"""An acquire helper whose returns without the lock all return one value
(its failure, NO_FRAME) and one of whose returns holding the lock returns
it too: that return is the leak, its other returns are its success
(analysis/summaries.py _failure_value(), issue 9 item 6), and its
caller, which trusts NO_FRAME and the slot it was handed, reads the
summary those other returns give.

fixtures/lint/failvalue/: frames.c's helper keeps the lock on its
read-only failure (XL001 there, nothing at its success or in its caller);
frames_ok.c's helper, done right, gives nothing."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "failvalue"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    assert trees.found_whole(TREE) == trees.wanted(TREE)
    assert any(trees.wanted(TREE).values())


@pytest.mark.parametrize("rel", ["arch/x86/frames.c", "arch/x86/frames_ok.c"])
def test_each_file_alone_reports_the_same(rel: str) -> None:
    assert trees.shape(trees.alone(TREE, rel)) == trees.shape(trees.whole(TREE)[rel])


def test_the_helpers_summary_says_when_the_caller_holds_the_lock() -> None:
    # Its failing return aside, the helper holds the lock exactly when it
    # returns a frame, and leaves *slot a slot then: what its caller's
    # "slot != NO_SLOT" test reads.
    fa = trees.analysed(TREE / "arch/x86/frames.c")
    s = fa.summary_of("frame_lookup")
    assert s is not None and s.conditional is not None and s.conditional.startswith("!")
    assert [e.action for e in s.effects] == ["try"]
    assert [i for i, _, _ in s.outs] == [3]
