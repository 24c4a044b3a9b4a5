"""A table wrapper called with fewer arguments than its template names
(xenpatch.analysis.locktable.resolve()).  rules/locks.toml describes x86
mm-locks.h's mm_lock(name, d, l) of 2019 on; 2011's mm_lock(name, l) has
two.  A template naming ``$2`` took a lock called "$2" there: every
function of a 2011 tree taking an mm lock through a name the table does
not list leaked it (fixtures/lint/olderarity/, the shape of that era's
hap.c).  Now the lock is the last argument (``$-1``) where that is what
every era says, and a call still too short for its template is an
unknown effect, never a lock of its own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lint.trees import alone, found_whole, wanted
from xenpatch.analysis.locktable import LockTable, OpSpec, Wrapper, resolve, substitute
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "olderarity"


def test_the_lock_is_the_last_argument_in_either_era() -> None:
    """The fixture's mm locks are taken through the table's mm_lock() with
    two arguments: each leak is reported under its own lock's name, the
    balanced functions are quiet; alone as whole.  hap_lock() and
    hap_unlock(), which the table lists as another era's plain spinlock,
    are what the tree's mm-locks.h defines them as (LockTable.with_wrappers():
    a definition reaching an op through the table's wrappers wins): the
    recursive take and release of d->hap_lock, not the table's lock."""
    got = found_whole(TREE)
    assert got == wanted(TREE) == {"arch/x86/mm/pool.c": [(32, "XL001"), (50, "XL001")]}
    first, second = alone(TREE, "arch/x86/mm/pool.c")
    assert "'d->pool_lock' taken at line 30" in first.message
    assert "'d->hap_lock' taken at line 48" in second.message


_TABLE = LockTable(
    {"spin_lock": OpSpec("spin_lock", "acquire", "spin", "", "plain", 0, None)},
    {"third": Wrapper("third", "spin_lock", ("$2",)),
     "last": Wrapper("last", "spin_lock", ("$-1",))})


def test_a_call_too_short_for_its_template_is_unknown() -> None:
    [e] = resolve(_TABLE, "third", ["a", "&l"]) or []
    assert (e.action, e.key) == ("unknown", "*")
    [e] = resolve(_TABLE, "third", ["a", "b", "&l"]) or []
    assert (e.action, e.key) == ("acquire", "l")
    [e] = resolve(_TABLE, "last", []) or []
    assert e.action == "unknown"


_ARG = st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True)


@given(st.lists(_ARG, min_size=1, max_size=5))
def test_minus_one_is_the_last_argument(args: list[str]) -> None:
    assert substitute("&$-1->lock", args) == f"&({args[-1]})->lock"
    [e] = resolve(_TABLE, "last", ["x", *args]) or []
    [direct] = resolve(_TABLE, "spin_lock", [args[-1]]) or []
    assert e.action == "acquire" and e.key == direct.key
