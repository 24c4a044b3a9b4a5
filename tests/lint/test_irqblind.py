"""XL017 across files through a helper that allocates on some of its paths
(irqwitness.Records.own(), pathconds.blind_to_caller()), and through a
function the tree defines twice (c/builtobjs.py).

fixtures/lint/irqblind/: registry.c's helpers allocate on some paths,
called holding an irqsave lock; slab.c's allocator takes its lock plainly,
grow.c with IRQs known on.  registry_insert() allocates on a lookup miss
after a NULL test of its registry (bound by the caller's ``&r->lock``),
registry_setup() for a registry not set up yet: both reported.  Silent:
an argument never dereferenced (it may be NULL), a caller whose own path
contradicts the helper's (it sets up a registry it found ready), a size
its caller passes, a put deciding on the caller's reference.

fixtures/lint/irqbuilt/: the tree defines the allocator twice, and its
Makefile builds slab.c, not oldslab.c: user.c's allocation under an
irqsave lock meets slab.c's record."""

from __future__ import annotations

from pathlib import Path

import pytest

from lint.trees import copied, edit, found_whole, wanted
from xenpatch.lint.run import lint_files
from xenpatch.paths import fixtures_dir

BLIND = fixtures_dir() / "lint" / "irqblind"
BUILT = fixtures_dir() / "lint" / "irqbuilt"


# Each test with a cache of its own (conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_cache")



@pytest.mark.parametrize("jobs", [1, 2])
def test_some_paths_no_argument_decides_are_the_callers(jobs: int) -> None:
    got = found_whole(BLIND, jobs)
    assert got == wanted(BLIND)
    assert [f for f, _ in got["common/registry.c"]] == [81, 92]


def test_the_finding_names_the_helper_and_the_other_files_take() -> None:
    files = [(p, p.relative_to(BLIND).as_posix()) for p in sorted(BLIND.rglob("*.c"))]
    [f, g] = [f for r in lint_files(files, jobs=1, tree=False) for f in r.findings]
    assert (f.function, g.function) == ("registry_add", "registry_open")
    assert f.message.startswith("'registry_insert' (through 'spin_lock') takes 'slab_lock' "
                                "with IRQs off")
    assert "common/grow.c:18 (in 'grow_one')" in f.message


def test_a_caller_path_agreeing_with_the_helpers_meets_it(tmp_path: Path) -> None:
    """registry_refresh() setting up a registry it found not ready: the
    helper's allocating path is its own."""
    root = copied(BLIND, tmp_path)
    edit(root / "common" / "registry.c", "    if ( registry_ready(r) )\n        registry_setup",
          "    if ( !registry_ready(r) )\n        registry_setup")
    assert [f for f, _ in found_whole(root)["common/registry.c"]] == [81, 92, 118]


def test_a_test_that_does_not_change_the_object_is_blind(tmp_path: Path) -> None:
    """registry_put() reading its count without dropping it: the object's
    state, which its caller does not know."""
    root = copied(BLIND, tmp_path)
    edit(root / "common" / "registry.c", "if ( --r->refs )", "if ( r->refs )")
    assert [f for f, _ in found_whole(root)["common/registry.c"]] == [81, 92, 138]


def test_a_helper_argument_the_caller_reassigns_is_not_bound(tmp_path: Path) -> None:
    """registry_add() passing a registry it may have replaced: not known
    non-NULL at the call."""
    root = copied(BLIND, tmp_path)
    edit(root / "common" / "registry.c", "    rc = registry_insert(r, key); /* expect: XL017 */",
          "    r = r->head ? r : 0;\n    rc = registry_insert(r, key);")
    assert [f for f, _ in found_whole(root)["common/registry.c"]] == [93]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_function_defined_twice_takes_the_built_definitions_record(jobs: int) -> None:
    got = found_whole(BUILT, jobs)
    assert got == wanted(BUILT)
    assert got["common/user.c"] == [(20, "XL017")]


def test_without_the_makefile_a_function_defined_twice_has_no_record(tmp_path: Path) -> None:
    root = copied(BUILT, tmp_path)
    (root / "common" / "Makefile").unlink()
    assert found_whole(root)["common/user.c"] == []


def test_both_definitions_built_have_no_record(tmp_path: Path) -> None:
    root = copied(BUILT, tmp_path)
    edit(root / "common" / "Makefile", "obj-y += slab.o", "obj-y += slab.o oldslab.o")
    assert found_whole(root)["common/user.c"] == []
