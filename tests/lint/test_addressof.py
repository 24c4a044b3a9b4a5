"""The key of a member reached through the address of its object
(lockkeys.squash: ``(&x->y)->z`` is ``x->y.z``): ``p2m = &d->arch.p2m``
makes ``p2m->lock`` the lock ``d->arch.p2m.lock``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from xenpatch.analysis.lockkeys import apply_aliases, lock_key, squash


def test_address_of_member() -> None:
    assert squash("(&d->arch.p2m)->lock") == "d->arch.p2m.lock"
    assert lock_key("&(&d->arch.p2m)->lock") == "d->arch.p2m.lock"
    assert apply_aliases("p2m->lock", {"p2m": "&d->arch.p2m"}) == "d->arch.p2m.lock"
    assert apply_aliases("desc->lock", {"desc": "&descs[v]"}) == "descs[v].lock"
    # A call's value is not an object whose address was taken.
    assert squash("f(&x)->lock") == "f(&x)->lock"


_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@given(st.lists(st.tuples(st.sampled_from(["->", "."]), _NAME), min_size=1, max_size=4),
       _NAME, st.lists(_NAME, min_size=1, max_size=3))
def test_address_then_member_is_the_member(steps: list[tuple[str, str]], lock: str,
                                           head: list[str]) -> None:
    """(&P)->f names the member f of the object P, whatever the path P."""
    path = "->".join(head) + "".join(op + n for op, n in steps)
    assert squash(f"(&{path})->{lock}") == f"{path}.{lock}"
    # (an upper-case local: no name of the path, which are lower-case)
    assert apply_aliases(f"P->{lock}", {"P": "&" + path}) == f"{path}.{lock}"
