"""Macros whose body is an access path of their parameter
(analysis/pathmacros.py, headers.path_macros()): which bodies are paths,
and what a use of one expands to."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from xenpatch.analysis.headers import path_macros
from xenpatch.analysis.lockkeys import squash
from xenpatch.analysis.pathmacros import expand

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
