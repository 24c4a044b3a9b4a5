"""Typesafe wrappers read from a tree's text by shape: the generator macro,
the boxed constants, the equality functions (analysis/typesafe.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis.typesafe import TypeSafe, derive, tree_typesafe

GENERATOR = b"""
#ifndef NDEBUG
#define {GEN}(_type, _name)                                         \\
    typedef struct { _type _name; } _name##_t;                          \\
    static inline _name##_t _##_name(_type n) { return (_name##_t) { n }; } \\
    static inline _type _name##_x(_name##_t n) { return n._name; }
#else
#define {GEN}(_type, _name)                                         \\
    typedef _type _name##_t;                                            \\
    static inline _name##_t _##_name(_type n) { return n; }             \\
    static inline _type _name##_x(_name##_t n) { return n; }
#endif
"""

USES = b"""
{GEN}(unsigned long, {T});
#define {RAW}  (~0UL)
#define {BAD}  _{T}({RAW})
#define {BAD2} ((({T}_t){ ~0UL }))

static inline bool {EQ}({T}_t x, {T}_t y)
{
    return {T}_x(x) == {T}_x(y);
}

/* Not an equality: compares one value with itself's successor. */
static inline bool {T}_next({T}_t x, {T}_t y)
{
    return {T}_x(x) == {T}_x(y) + 1;
}
"""


def _text(**names: str) -> list[bytes]:
    out = []
    for t in (GENERATOR, USES):
        for k, v in names.items():
            t = t.replace(b"{" + k.encode() + b"}", v.encode())
        out.append(t)
    return out


def test_xen_shape() -> None:
    got = derive(_text(GEN="TYPE_SAFE", T="mfn", RAW="INVALID_MFN_RAW", BAD="INVALID_MFN",
                       BAD2="INVALID_MFN_TOO", EQ="mfn_eq"))
    assert got == TypeSafe(frozenset({"INVALID_MFN", "INVALID_MFN_TOO"}), frozenset({"mfn_eq"}))


_NAME = st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(_NAME, min_size=6, max_size=6, unique=True))
def test_names_do_not_matter(names: list[str]) -> None:
    """Whatever the macro, type and functions are called, the same shapes
    give the same answer."""
    gen, t, raw, bad, bad2, eq = names
    got = derive(_text(GEN=gen.upper(), T=t, RAW=raw.upper(), BAD=bad.upper(),
                       BAD2=bad2.upper(), EQ=eq))
    assert got == TypeSafe(frozenset({bad.upper(), bad2.upper()}), frozenset({eq}))


def test_two_constants_of_one_type_make_no_sentinel() -> None:
    """With two distinct boxed literals, "the" constant is not one of them:
    testing against either says nothing about a helper's outcome."""
    texts = _text(GEN="TYPE_SAFE", T="pfn", RAW="PFN_RAW", BAD="NO_PFN", BAD2="PFN_ZERO",
                  EQ="pfn_eq")
    texts[1] = texts[1].replace(b"((pfn_t){ ~0UL })", b"((pfn_t){ 0 })")
    got = derive(texts)
    assert got.sentinels == frozenset()
    assert got.eqs == frozenset({"pfn_eq"})


def test_no_generator_no_wrappers() -> None:
    texts = _text(GEN="TYPE_SAFE", T="gfn", RAW="R", BAD="B", BAD2="B2", EQ="gfn_eq")
    assert derive(texts[1:]) == TypeSafe()


def test_a_tree() -> None:
    root = Path("/nonexistent-tree")
    assert tree_typesafe(root, "x86") == TypeSafe()
    assert tree_typesafe(None, None) == TypeSafe()
