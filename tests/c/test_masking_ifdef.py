"""Conditional compilation masked so that tree-sitter sees one C program:
branches that join keep both, branches that collide keep the first, #if 0
branches go (xenpatch/c/masking, the shapes in tests/maskshapes.py)."""

from __future__ import annotations

import re

import pytest
from maskshapes import IFDEF_SHAPES, assert_comments_kept, call_names, parses_clean


@pytest.mark.parametrize("name", sorted(IFDEF_SHAPES))
def test_ifdef_shape_parses_clean(name: str) -> None:
    src = IFDEF_SHAPES[name]
    out = parses_clean(src)
    assert_comments_kept(src, out)
    # Lock calls in any branch stay calls, unless their branch had to go.
    if name == "#if 0 and #if 1 branches":
        # No compiler sees those branches: they go, their lock calls too.
        assert call_names(out) == ["spin_lock"]
    elif name != "duplicated if heads with braces":
        wanted = sorted(re.findall(r"\b(\w+_(?:un)?lock)\(", src))
        assert [n for n in call_names(out) if n.endswith("lock")] == wanted


def test_ifdef_between_statements_is_left_to_the_parser() -> None:
    src = """
void f(void) {
    g();
#ifdef CONFIG_X
    read_lock(&l);
#else
    write_lock(&l);
#endif
    h();
}
"""
    out = parses_clean(src)
    assert out == src.encode()
    assert call_names(out) == ["g", "h", "read_lock", "write_lock"]


def test_ifdef_keeps_both_branches_when_they_join() -> None:
    out = parses_clean(IFDEF_SHAPES["both branches head the same block"])
    assert b"if ( !curr->hcall_compat )" in out and b"if ( true )" in out
    assert b"#ifdef" not in out and b"#else" not in out


def test_ifdef_drops_the_else_part_when_branches_collide() -> None:
    out = parses_clean(IFDEF_SHAPES["operand split in an expression"])
    assert b"p == 'a'" in out and b"p == 'x'" not in out
