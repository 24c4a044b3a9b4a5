"""A lock macro of the tree reaching the table's ops through the tree's own
wrappers (analysis/locktable.py ``with_wrappers()``), read from the branch
of its header a build sees (analysis/headers.py ``macro_wrappers()``).

Found replaying the hook on 2006's history: ``shadow_public.c`` nests
``shadow_lock()``, which was then the per-domain big lock taken
recursively (``LOCK_BIGLOCK()``), with the spinlock form kept under ``#if
0``; the lint read the ``#if 0`` definition (the first), could not read
the other (its lock call is spelled in capitals), and the table's entry
(the shadow spinlock of 2007-2011) won anyway over a chain through the
tree's ``LOCK_BIGLOCK()``: every nested take was a self-deadlock (XL010).
With those read, a recursive take where the big lock is only asserted held
(``create_grant_pte_mapping()``) was one too (locktable.may_retake())."""

from __future__ import annotations

from lint.trees import alone, found_whole, wanted
from xenpatch.analysis.headers import macro_wrappers
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "bigshadow"


def test_a_nested_take_of_the_recursive_big_lock_is_no_deadlock() -> None:
    got = found_whole(TREE)
    assert got == wanted(TREE) == {"arch/x86/shadow_public.c": [(27, "XL001"), (45, "XL010")]}
    leak, plain = alone(TREE, "arch/x86/shadow_public.c")
    assert "'d->big_lock' taken at line 25" in leak.message
    # Asserted held, not how: a recursive take there is no deadlock
    # (create_grant_mapping()), a plain one is.
    assert "already held since line 44" in plain.message


def test_a_definition_under_if_0_is_none() -> None:
    raw = (TREE / "include" / "asm-x86" / "shadow.h").read_bytes()
    got = macro_wrappers(raw)
    assert (got["shadow_lock"].target, got["shadow_unlock"].target) == (
        "LOCK_BIGLOCK", "UNLOCK_BIGLOCK")
    # A later definition wins, unless no build sees it.
    text = (b"#define f_lock(d) spin_lock(&(d)->a)\n"
            b"#if 0\n#define f_lock(d) spin_lock(&(d)->b)\n#endif\n")
    assert macro_wrappers(text)["f_lock"].args == ("&($0)->a",)
    live = text.replace(b"#if 0", b"#ifdef X")
    assert macro_wrappers(live)["f_lock"].args == ("&($0)->b",)
