"""The shortcuts of xenpatch/c/source.py agree with the slow ways they replace."""

from __future__ import annotations

import itertools
import re

from xenpatch.c.masking import default_macro_table
from xenpatch.c.source import (
    NodeIndex,
    directives,
    identifier_set,
    mentions_any,
    parse_bytes,
    walk,
)

_IDENT = re.compile(rb"[A-Za-z_]\w*")

# Short texts over the pieces that matter: word bytes, digits before a word,
# non-ASCII bytes, "lock" (which mentions_any() looks for first).
_PIECES = [
    b" ", b"(", b"0", b"9x", b"_", b"irq", b"lock", b"spin_lock", b"\xc3", b"a", b";", b"1irq",
]
TEXTS = [b"".join(p) for n in range(4) for p in itertools.product(_PIECES, repeat=n)]


def test_identifier_set_is_findall() -> None:
    for t in TEXTS:
        assert identifier_set(t) == set(_IDENT.findall(t)), t


def test_mentions_any_is_identifier_intersection() -> None:
    name_sets = [
        frozenset({b"irq", b"spin_lock"}),
        frozenset({b"irq"}),
        frozenset({b"spin_lock", b"9x", b""}),  # not identifiers: never found
        frozenset(),
    ]
    for t in TEXTS:
        for names in name_sets:
            assert mentions_any(t, names) == (not names.isdisjoint(identifier_set(t))), (t, names)


def test_directives_are_line_anchored_finditer() -> None:
    pattern = rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)((?:\\\r?\n|[^\n])*)"
    text = (
        b"#define A(x) f(x) \\\n#define B(y) g(y)\n"
        b"/* #define C(x) \\\n#define D(y) h(y) */\n"
        b"  \t# define E(a) k(a)\nx #define F(a) m(a)\n#define"
    )
    anchored = re.compile(rb"^[ \t]*" + pattern, re.M)
    assert [m.groups() for m in directives(re.compile(pattern), text)] == [
        m.groups() for m in anchored.finditer(text)
    ]


def test_node_index_under_is_filtered_walk() -> None:
    code = (
        b"int f(int *p)\n{\n    int x = g(p), y;\n    y = (int)x + (unsigned)h(&x);\n"
        b"    if ( (x = k()) )\n        y++;\n    return (T)y;\n}\n"
    )
    src = parse_bytes("t.c", code, default_macro_table())
    # type_descriptor and type_identifier share spans: the walk decides.
    for types in (
        frozenset({"call_expression", "assignment_expression", "init_declarator",
                   "update_expression", "pointer_expression", "declaration"}),
        frozenset({"cast_expression", "type_descriptor", "type_identifier"}),
    ):
        index = NodeIndex(src.root, types)
        assert index.nodes == [n for n in walk(src.root) if n.type in types]
        for node in walk(src.root):
            assert index.under(node) == [n for n in walk(node) if n.type in types]
        # Asked again (kept per node): the same answers.
        for node in walk(src.root):
            assert index.under(node) == [n for n in walk(node) if n.type in types]
