"""Each element of a collection locked in one loop and released in another,
where the loop is a macro's (``for_each_possible_cpu(cpu)``, which the
masking makes a ``while``) and the element a per-CPU one (``per_cpu(X,
cpu)``, or a local holding it): analysis/loopmacros.py, eachkeys.py,
releaseloops.py.  Xen 3.2-4.1's ia64 xenpfm_context_destroy() shape.

fixtures/lint/cpuloops/: include/xen/cpuset.h defines each_known_cpu(c)
as each_cpu_in((c), known_cpus), a for loop stepping c (two definitions
under #if), and each_member(g, m) stepping m.  shapes.c and sessions.c
are reported nothing (sessions.c: the teardown locking through a local,
unlocking by the per-CPU name on an error that stops where the locking
loop stopped, and handing each element to another file's function whose
guard the file's sess_put() drops); negatives.c keeps its leaks on a
break and a continue, and the double take of a table entry each_member()
does not step; nodef.c's undefined one-argument loop steps its variable,
its two-argument one neither."""

from __future__ import annotations

import pytest

from lint import trees
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "cpuloops"

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_the_whole_tree_run_reports_the_fixtures_expectations() -> None:
    got = trees.found_whole(TREE)
    assert got == trees.wanted(TREE)
    assert got["common/sessions.c"] == [] and got["common/shapes.c"] == []
    assert got["common/negatives.c"] == [(34, "XL001"), (50, "XL001"), (73, "XL010"),
                                         (74, "XL002"), (75, "XL002"), (88, "XL002"),
                                         (101, "XL002")]


def test_the_file_alone_reports_what_the_whole_tree_run_does() -> None:
    whole = trees.whole(TREE)
    for rel in ("common/sessions.c", "common/negatives.c"):
        assert trees.shape(trees.alone(TREE, rel)) == trees.shape(whole[rel])


def test_a_leak_names_the_lock_of_each_element() -> None:
    leaks = [f for f in trees.whole(TREE)["common/negatives.c"] if f.check == "XL001"]
    assert [f.key for f in leaks] == ["table[*].guard", "per_cpu(cur_sess)[*]->guard"]


HEADER = b"""
#if NR > 1
#define walk_in(c, set) for ((c) = first(set); (c) < NR; (c) = next((c), (set)))
#else
#define walk_in(c, set) for ((c) = 0; (c) < 1; (c)++, (void)(set))
#endif
#define walk_all(c) walk_in((c), all_set)
#define walk_list(h, e) \\
    for ((e) = (h)->first; (e) != NULL; (e) = (e)->next)
#define walk_odd(c, set) for ((c) = 0; (c) < 1; (set)++)
#define walk_odd(c, set) for ((c) = 0; (c) < 1; (c)++)
#define walk_if(c) if (c)
#define walk_pop(q, e) while (((e) = pop(q)) != NULL)
#define not_a_loop(x) ((x) + 1)
"""


def test_which_arguments_a_loop_macro_steps_from_its_definitions() -> None:
    from xenpatch.analysis.loopmacros import LoopSteps, loop_definitions

    steps = LoopSteps(loop_definitions([HEADER]))
    assert steps.get("walk_in") == {0}
    assert steps.get("walk_all") == {0}  # through the nested macro
    assert steps.get("walk_list") == {1}
    assert steps.get("walk_pop") == {1}  # a while's condition assigns it
    assert steps.get("walk_odd") == set()  # the two definitions step different ones
    assert steps.get("walk_if") == set() and steps.get("not_a_loop") == set()
    assert steps.get("never_defined") is None


def test_a_files_own_definitions_complete_its_trees() -> None:
    from xenpatch.analysis.loopmacros import LoopSteps, loop_definitions

    tree = LoopSteps(loop_definitions([HEADER]))
    own = LoopSteps(loop_definitions([b"#define walk_mine(x) walk_all(x)\n"]), tree)
    assert own.get("walk_mine") == {0} and own.get("walk_list") == {1}
