"""Other names of a held lock on a path: two pointer variables found equal,
a ``?:`` whose condition is known (xenpatch/analysis/equalities.py)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xenpatch.analysis.equalities import chosen_arm, equal_names, other_names
from xenpatch.analysis.lockkeys import split_arms
from xenpatch.analysis.values import NZ, ZERO

_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


def _fact(a: str, b: str) -> str:
    lo, hi = sorted((a, b))
    return f"?{lo}=={hi}"


@settings(max_examples=60, deadline=None)
@given(_NAME, _NAME, _NAME)
def test_equal_pointers_share_their_locks(a: str, b: str, f: str) -> None:
    assume(a != b)
    facts = [(_fact(a, b), "T")]
    assert equal_names(f"{a}->{f}", facts, {}) == [f"{b}->{f}"]
    assert equal_names(f"{b}->{f}", facts, {}) == [f"{a}->{f}"]
    assert equal_names(f"*{a}", facts, {}) == [f"*{b}"]
    # Known different, or nothing known: no other name.
    assert equal_names(f"{a}->{f}", [(_fact(a, b), "F")], {}) == []
    assert equal_names(f"{a}->{f}", [], {}) == []


@settings(max_examples=40, deadline=None)
@given(_NAME, _NAME, _NAME, _NAME)
def test_a_prefix_is_not_a_variable(a: str, b: str, f: str, tail: str) -> None:
    """``ab->lock`` is not reached through ``a`` (unless ``ab`` is ``b`` itself)."""
    assume(a != b and tail and a + tail != b)
    facts = [(_fact(a, b), "T")]
    assert equal_names(f"{a}{tail}->{f}", facts, {}) == []


def test_aliases_are_applied_to_both_sides() -> None:
    # src = e->on (assigned once): its locks are keyed e->on->...
    aliases = {"src": "e->on"}
    facts = [(_fact("src", "dst"), "T")]
    assert equal_names("dst->lock", facts, aliases) == ["e->on->lock"]
    assert equal_names("e->on->lock", facts, aliases) == ["dst->lock"]


@given(_NAME, _NAME, _NAME, _NAME)
def test_the_known_arm_is_chosen(c: str, a: str, b: str, f: str) -> None:
    key = f"(({c}?{a}:{b}))->{f}"
    known = {c: NZ}
    assert chosen_arm(key, known.get, {}) == f"{a}->{f}"
    assert chosen_arm(key, {c: ZERO}.get, {}) == f"{b}->{f}"
    assert chosen_arm(key, {}.get, {}) is None
    assert other_names(key, {}, ()) == {f"{a}->{f}", f"{b}->{f}"}


def test_unbalanced_parentheses_are_no_arms() -> None:
    assert split_arms("((c?a:b)->x)->lock") is None
    assert split_arms("(c?a:b)->lock") == ("c", "a", "b", "->lock")
    assert split_arms("f(c?a:b)->lock") is None
