"""A lock spelled through a wrapper names the lock the unwrapped call names
(lockkeys.squash): a percpu wrapper's ``&(gt)->lock`` given ``(c ? a : b)``
is ``&((c ? a : b))->lock``, the lock of ``&(c ? a : b)->lock``.  Keys are
the findings' fingerprints, so a conversion that doubled them moved every
finding on such a lock (``rewrite`` then took old findings for new ones)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xenpatch.analysis.lockkeys import lock_key, squash


def test_a_wrapper_argument_in_parentheses_names_the_same_lock() -> None:
    assert squash("((c?d->grant_table:NULL))->lock") == "(c?d->grant_table:NULL)->lock"
    assert squash("(((struct grant_table *)p))->lock") == "((structgrant_table*)p)->lock"
    assert lock_key("&((c ? d->gt : NULL))->lock") == lock_key("&(c ? d->gt : NULL)->lock")


def test_a_call_keeps_its_parentheses() -> None:
    # f((a, b)) passes one argument: f(a, b) would be two.
    assert squash("f((a,b))->lock") == "f((a,b))->lock"
    # Two groups side by side are not one doubled pair.
    assert squash("((a)+(b))->lock") == "(a+b)->lock"


_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
_EXPR = st.recursive(
    _NAME,
    lambda inner: st.one_of(
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]}?{t[1]}:{t[2]})"),
        st.tuples(inner, st.sampled_from(["+", "|", "&"]), inner).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(_NAME, inner).map(lambda t: f"{t[0]}({t[1]})"),
        inner.map(lambda e: f"((structs*){e})"),
    ),
    max_leaves=6,
)


@given(_EXPR, _NAME, st.integers(min_value=1, max_value=3))
def test_extra_parentheses_around_a_lock_holder_change_nothing(
        expr: str, field: str, extra: int) -> None:
    once = squash(f"({expr})->{field}")
    assert squash("(" * extra + f"({expr})" + ")" * extra + f"->{field}") == once
