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


SWITCHED = """
#define AUDIT 0
#define STATS (1)

#if AUDIT
static void audit(struct pool *p)
{
    if ( (p->n > 2 )
        spin_lock(&p->lock);
}
#endif

int f(struct pool *p)
{
    spin_lock(&p->lock);
#if !STATS
    read_lock(&p->rw);
#else
    write_lock(&p->rw);
#endif
#if (AUDIT) /* off */
    audit(p);
#endif
    return 0;
}
"""


def test_a_switch_the_file_defines_decides_its_blocks() -> None:
    # '#if NAME' where the file defined NAME to a literal at file scope: no
    # build sees the other side (2010's p2m.c, P2M_AUDIT), so it goes as an
    # '#if 0' would, unparsable code and lock calls with it; the condition
    # is written as the literal, for the CFG's choice of a side.
    out = parses_clean(SWITCHED)
    assert_comments_kept(SWITCHED, out)
    assert call_names(out) == ["spin_lock", "write_lock"]
    assert b"#if 0    \n" in out and b"#if 0     \n" in out
    assert b"#if 0       /* off */" in out


@pytest.mark.parametrize("between", [
    "#undef AUDIT\n",
    "#define AUDIT audit_level\n",
])
def test_a_switch_redefined_or_undefined_is_not_known(between: str) -> None:
    src = SWITCHED.replace("\nint f(", "\n" + between + "\nint f(", 1)
    out = parses_clean(src)
    # AUDIT is unknown from there on: its block stays for the parser.
    assert b"audit(p);" in out and b"#if (AUDIT)" in out


def test_a_switch_the_raw_text_hides_is_not_decided() -> None:
    # A comment inside the condition: the side the switch rules out could
    # go, but the condition could not be written as the literal, and the
    # CFG would then branch past both sides.  Both stay.
    src = SWITCHED.replace("#if !STATS", "#if /* stats */ !STATS", 1)
    out = parses_clean(src)
    assert b"read_lock(&p->rw);" in out and b"write_lock(&p->rw);" in out


def test_a_switch_a_build_may_set_is_not_known() -> None:
    # Defined under #ifndef (or in any #if group): a -D away from another
    # value, so both sides stay.
    src = """
#ifndef TRACE
#define TRACE 0
#endif

int f(struct pool *p)
{
    spin_lock(&p->lock);
#if TRACE
    if ( p->n == 0 )
        return -1;
#endif
    spin_unlock(&p->lock);
    return 0;
}
"""
    out = parses_clean(src)
    assert out == src.encode()


DEBUG_OFF = """
#include <xen/spinlock.h>

#undef POOL_DEBUG
#define POOL_TRACE

int f(struct pool *p)
{
    spin_lock(&p->lock);
#ifdef POOL_DEBUG
    if ( p->n < 0 )
        return -1;
#endif
#if !defined(POOL_TRACE)
    read_lock(&p->rw);
#else
    write_lock(&p->rw);
#endif
#ifndef POOL_DEBUG
    spin_unlock(&p->lock);
#endif
    return 0;
}
"""


def test_a_name_the_file_undefines_or_defines_decides_its_tests() -> None:
    # '#undef GIC_DEBUG' then '#ifdef GIC_DEBUG' (4.17's gic-vgic.c): no
    # -D reaches past the #undef; '#define X' then 'defined(X)'.  Each
    # test is written as the literal, the #ifdef's head as '#if 0'.
    out = parses_clean(DEBUG_OFF)
    assert call_names(out) == ["spin_lock", "spin_unlock", "write_lock"]
    assert re.findall(rb"#if ([01]) *\n", out) == [b"0", b"0", b"1"]
    assert b"ifdef" not in out and b"ifndef" not in out and b"defined(" not in out


def test_a_header_after_an_undef_may_define_the_name() -> None:
    src = DEBUG_OFF.replace("#define POOL_TRACE\n", "#define POOL_TRACE\n#include \"pool.h\"\n")
    out = parses_clean(src)
    # POOL_DEBUG unknown again; POOL_TRACE, defined by the file, still known.
    assert b"return -1;" in out and b"#ifdef POOL_DEBUG" in out
    assert call_names(out) == ["spin_lock", "spin_unlock", "write_lock"]


def test_alternative_operands_keep_the_first() -> None:
    """Operands a chain of #if/#elif gives an expression are alternatives:
    the first stays, the others go (two operands never follow each other)."""
    out = parses_clean(IFDEF_SHAPES["alternative operands after an assignment"]).decode()
    assert "PGT_l4_page_table" in out
    assert "PGT_l3_page_table" not in out and "PGT_l2_page_table" not in out


def test_alternative_declaration_heads_keep_the_first() -> None:
    """`void` / `#else` / `static void` before a name: one head, the first."""
    out = parses_clean(IFDEF_SHAPES["alternative declaration heads"]).decode()
    assert "void" in out and "static" not in out
