"""A file's statement-expression macro read as the one call it hands its
parameters to (analysis/exprmacros.py; fixtures/lint/exprmacro.c lints
the uses)."""

from __future__ import annotations

from xenpatch.analysis.exprmacros import given_calls

GFN = rb"""
#define gfn_to_mfn_private(_d, _gfn) ({                     \
    p2m_type_t __p2mt;                                      \
    unsigned long __x;                                      \
    __x = mfn_x(get_gfn_unshare((_d), (_gfn), &__p2mt));    \
    if ( p2m_is_shared(__p2mt) || !p2m_is_valid(__p2mt) )   \
        __x = INVALID_MFN;                                  \
    __x; })
"""


def test_the_call_given_the_parameters() -> None:
    [w] = given_calls(GFN).values()
    assert (w.name, w.target, w.args) == ("gfn_to_mfn_private", "get_gfn_unshare",
                                          ("($0)", "($1)", "&__p2mt"))


def test_a_call_under_a_test_or_a_choice_is_not_read() -> None:
    for body in (b"({ int __r = 0; if ( (x) ) __r = get_it((x)); __r; })",
                 b"({ (x) ? get_it((x)) : 0; })",
                 b"({ int __r = ok() && get_it((x)); __r; })",
                 b"({ int __r; { if ( y ) __r = get_it((x)); } __r; })",
                 b"({ int __i, __r = 0; for ( __i = 0; __i < 4; __i++ ) __r += get_it((x));"
                 b" __r; })",
                 b"({ int __r = 0; while ( more() ) __r = get_it((x)); __r; })",
                 b"({ int __r; if ( (__r = get_it((x))) ) return __r; })",
                 b"({ int __r = 1; if ( !(x) ) __r = 0; else __r = get_it((x)); __r; })"):
        assert given_calls(b"#define m(x) " + body + b"\n") == {}, body


def test_two_calls_given_parameters_are_not_read() -> None:
    assert given_calls(b"#define m(a, b) ({ get_it((a)); put_it((b)); 0; })\n") == {}


def test_only_statement_expressions() -> None:
    assert given_calls(b"#define m(a) get_it((a))\n") == {}
    assert given_calls(b"#define m(a) do { get_it((a)); } while ( 0 )\n") == {}
    assert given_calls(b"#define m(a, ...) ({ get_it((a)); })\n") == {}
    [w] = given_calls(b"#define m(a) ({ long __v = get_it(&(a)->f); __v; })\n").values()
    assert (w.target, w.args) == ("get_it", ("&($0)->f",))


def test_the_first_definition_is_the_one() -> None:
    # #ifdef CONFIG_X86 ... #else ... #endif: the first branch's build.
    first = GFN + b"#else\n#define gfn_to_mfn_private(_d, _gfn) gmfn_to_mfn(_d, _gfn)\n"
    assert [w.target for w in given_calls(first).values()] == ["get_gfn_unshare"]
    other = b"#define gfn_to_mfn_private(_d, _gfn) gmfn_to_mfn(_d, _gfn)\n#else\n" + GFN
    assert given_calls(other) == {}
