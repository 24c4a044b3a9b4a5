"""The directive patterns rewritten for speed (xenpatch/c/patterns.py's
LINE_REST, possessive runs of blanks), and the name index's end of a
definition's parameters, match what they replaced: the same matches,
groups and group spans from every position directives() searches from."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis import headers, unarmed, values
from xenpatch.c import patterns, source
from xenpatch.lint import entrysettle, irqcalls, nameindex

# The patterns as they were written before.
_BODY = rb"((?:\\\r?\n|[^\n])*)"
_BEFORE = {
    "FN_DEFINE": (re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)" + _BODY),
                  patterns.FN_DEFINE),
    "nameindex": (re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)" + _BODY), nameindex._DEFINE),
    "values": (re.compile(
        rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+(\(?)[ \t]*([-~]?)[ \t]*"
        rb"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)([uUlL]*)[ \t]*(\)?)[ \t]*(?:/\*.*?\*/[ \t]*)?$",
        re.M), values._CONST_DEFINE),
    "entrysettle": (re.compile(rb"#(?:\\\r?\n|[^\n])*"), entrysettle._DIRECTIVE),
    "irqcalls": (re.compile(rb"#(?:\\\r?\n|[^\n])*"), irqcalls._DIRECTIVE),
    "unarmed": (re.compile(rb"#(?:\\\r?\n|[^\n])*"), unarmed._DIRECTIVE),
    "definition end": (re.compile(
        rb"\)(?:[ \t]|/\*(?:[^*]|\*(?!/))*\*/)*(?:\r?\n(?:[ \t]|/\*(?:[^*]|\*(?!/))*\*/)*)*"
        rb"\r?\n\{|\)[ \t]*\{[ \t]*\r?\n"), nameindex._DEF_END),
}

# What directives' lines are made of, and what trips them up: blanks in
# runs, continuations (with CR), stray backslashes, literals, comments.
_TOKENS = [b"#", b"# ", b"define", b" ", b"\t", b"  \t ", b"\n", b"\r", b"\\", b"\\\n",
           b"\\\r\n", b"(", b")", b"x", b"FOO_1", b"_a", b"0x1F", b"0", b"0755", b"089",
           b"12", b"-", b"~", b"UL", b"u", b"/*", b"*/", b" /* c */", b";", b",", b"{", b"}",
           b"*", b"/", b"/* a\n b */", b")\n{", b") {\n", b"int f(void)"]


def _matches(pattern: re.Pattern[bytes], raw: bytes) -> list[object]:
    out: list[object] = []
    pos = 0
    while (m := pattern.search(raw, pos)) is not None:
        out.append((m.span(), m.groups(),
                    tuple(m.span(i) for i in range(1, pattern.groups + 1))))
        pos = m.start() + 1
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_each_pattern_matches_as_before(tokens: list[bytes]) -> None:
    raw = b"".join(tokens)
    for name, (before, now) in _BEFORE.items():
        assert _matches(now, raw) == _matches(before, raw), name


@given(st.integers(0, 12), st.integers(0, 12), st.sampled_from([b"0x10", b"(BAR)", b"-1"]))
def test_aligned_definitions(lead: int, gap: int, value: bytes) -> None:
    raw = b"#" + b" " * lead + b"define NAME" + b"\t " * gap + b" " + value + b"  \n"
    before, now = _BEFORE["values"]
    assert _matches(now, raw) == _matches(before, raw)
    assert [m.groups() for m in source.directives(now, raw)] == \
        [m.groups() for m in source.directives(before, raw)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_macro_bodies_read_as_before(tokens: list[bytes]) -> None:
    # headers.py had a pattern of its own: FN_DEFINE with the blanks before
    # the body left out of it, which define_body() strips.
    raw = b"".join(tokens)
    before = re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)[ \t]*" + _BODY)

    def read(p: re.Pattern[bytes]) -> list[object]:
        return [(m.span(), m.group(1), m.group(2), headers.define_body(m))
                for m in source.directives(p, raw)]

    assert read(patterns.FN_DEFINE) == read(before)
