"""Macros whose body is an access path of their parameter
(analysis/pathmacros.py, headers.path_macros()): which bodies are paths,
and what a use of one expands to."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from xenpatch.analysis.headers import path_macros
from xenpatch.analysis.lockkeys import apply_aliases, squash
from xenpatch.analysis.pathmacros import expand, head_expanded, local_prefix

NAME = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)


@given(NAME, NAME, st.lists(st.tuples(st.sampled_from(["->", "."]), NAME), min_size=1,
                            max_size=4), st.booleans(), st.booleans())
def test_a_path_body_expands_as_the_preprocessor_would(
        macro: str, param: str, fields: list[tuple[str, str]], amp: bool,
        parens: bool) -> None:
    tail = "".join(op + f for op, f in fields)
    head = f"({param})" if parens else param
    body = f"({'&' if amp else ''}{head}{tail})"
    got = path_macros(f"#define {macro}({param}) {body}\n".encode())
    assert set(got) == {macro}
    # What the call m(v->dom) is, as the preprocessor pastes it.
    want = squash(f"{'&' if amp else ''}(v->dom){tail}")
    assert squash(expand(got[macro], "v->dom")) == want


def test_bodies_that_compute_are_no_paths() -> None:
    raw = b"""
#define index_of(d)  (&(d)->arr[0])
#define plus(d)      ((d) + 1)
#define other(d)     ((e)->lock)
#define two(a, b)    ((a)->lock)
#define call(d)      (get(d)->lock)
#define bare(d)      (d)
#define pasted(d)    ((d)->x ## y)
#define first(d)     (&(d)->iommu)
#define first(d)     (&(d)->other)
"""
    assert path_macros(raw) == {"first": ("d", "&", "->iommu")}


@given(NAME, NAME, st.lists(st.tuples(st.sampled_from(["->", "."]), NAME), min_size=1,
                            max_size=3), st.booleans(), NAME, NAME)
def test_an_accessors_result_is_named_as_through_its_path(
        macro: str, param: str, fields: list[tuple[str, str]], amp: bool, arg: str,
        lock: str) -> None:
    """``macro(arg)->lock`` (a callee's key bound at a call) and ``P->lock``
    with ``P`` an alias of the expansion (lockkeys.apply_aliases(), a key
    named through the path) are one key; and the prefix a local holding
    the result stands for is where that key starts."""
    tail = "".join(op + f for op, f in fields)
    body = f"({'&' if amp else ''}({param}){tail})"
    macros = path_macros(f"#define {macro}({param}) {body}\n".encode())
    # The local's name is one NAME never draws: an argument named as the
    # local would be the local's own alias, resolved again.
    via_path = apply_aliases(f"P->{lock}", {"P": squash(expand(macros[macro], arg))})
    assert head_expanded(f"{macro}({arg})->{lock}", macros) == via_path
    prefix = local_prefix(f"{macro}({arg})", macros)
    assert prefix is not None
    assert via_path.startswith(prefix) and via_path[len(prefix):] == lock
    # Another macro's call, or a call with two arguments, is left as it is.
    assert head_expanded(f"other_{macro}({arg})->{lock}", macros) == \
        f"other_{macro}({arg})->{lock}"
    assert head_expanded(f"{macro}({arg}, 1)->{lock}", macros) == f"{macro}({arg}, 1)->{lock}"
    # Through a field (a back-pointer: p2m->domain), the call stays.
    assert head_expanded(f"{macro}({arg}->d)->{lock}", macros) == f"{macro}({arg}->d)->{lock}"
