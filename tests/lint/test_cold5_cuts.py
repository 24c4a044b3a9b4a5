"""The cold single-file run's cuts of branch `cold5` (issue 10) that are
rewrites: each gives what it replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis import cbargs, collective
from xenpatch.c import masking
from xenpatch.c.source import directives

# collective._DEFINE as it was: matched from each line's start.
_ELEMENT_DEFINE = re.compile(
    rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\([ \t]*([A-Za-z_]\w*)[ \t]*\)[ \t]*(.*?)[ \t]*$",
    re.M)
_TOKENS = [b"#", b" ", b"\t", b"define", b"\n", b"\\\n", b"(", b")", b"x", b"irq", b"_d1",
           b"[", b"]", b"&", b"->", b".", b"desc", b"  ", b"/* c */", b"#define d(i) (&a[i])"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_element_defines_as_from_each_line_start(tokens: list[bytes]) -> None:
    raw = b"".join(tokens)
    assert [m.groups() for m in directives(collective._DEFINE, raw)] == \
        [m.groups() for m in _ELEMENT_DEFINE.finditer(raw)]


def test_element_macros_found() -> None:
    raw = (b"#define irq_to_desc(irq) (&irq_desc[irq])\n"
           b"  #  define thing(i)\t( things[i] )  \n#define two(i) a[i]\n#define two(i) b[i]\n")
    assert collective.element_macros([raw]) == {
        "irq_to_desc": ("irq_desc", "."), "thing": ("things", "->")}


@pytest.mark.parametrize("text", [b"int a, char *b", b"void", b"", b"unsigned long (*fn)(void *)",
                                  b"int, ...", b"struct x *p, int (*cb)(int)", b"bad ( ("])
def test_parameter_names_load_the_table_once(text: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """parameter_names() parses with the project's default macro table,
    loaded once for all its calls: the answers of a table loaded anew for
    each (tests/lint/test_cbargs.py has what they are)."""
    loads: list[int] = []
    real = masking.default_macro_table

    def counted() -> masking.MacroTable:
        loads.append(1)
        return real()

    monkeypatch.setattr(masking, "default_macro_table", counted)
    cbargs._plain_table.cache_clear()
    try:
        got = [cbargs.parameter_names(text) for _ in range(3)]
        assert len(loads) <= 1 and got[0] == got[1] == got[2]
        # A table of its own each time, as before.
        monkeypatch.setattr(cbargs, "_plain_table", counted)
        assert cbargs.parameter_names(text) == got[0]
    finally:
        monkeypatch.undo()
        cbargs._plain_table.cache_clear()


@given(st.binary(max_size=64))
def test_blank_keeps_newlines_only(raw: bytes) -> None:
    m = re.match(rb"(?s).*", raw)
    assert m is not None
    assert cbargs._blank(m) == re.sub(rb"[^\n]", b" ", raw)


@given(st.binary(max_size=64), st.frozensets(st.sampled_from(["ab", "x", "tasklet_init", "q_"])))
def test_mentions_is_any_name_in_the_text(raw: bytes, names: frozenset[str]) -> None:
    assert cbargs._mentions(raw, names) == any(n.encode() in raw for n in names)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"put_page", b"p", b"_x1", b"lock", b"a.b", b"f(", b"2x"]),
       st.lists(st.sampled_from([b"put_page", b"put_pages", b"_put_page", b"p", b"x", b" ", b"\n",
                                 b"(", b"->", b".", b"_", b"1", b"lock", b"unlock", b"\xe9",
                                 b"a.b", b"f(", b"2x"]), max_size=30))
def test_whole_word_is_the_word_bounded_pattern(name: bytes, tokens: list[bytes]) -> None:
    from xenpatch.c.patterns import whole_word

    text = b"".join(tokens)
    plain = re.compile(rb"\b" + re.escape(name) + rb"\b")
    assert [m.span() for m in whole_word(name).finditer(text)] == \
        [m.span() for m in plain.finditer(text)]
