"""The speed-only rewrites give the answers of what they replaced, on any
text (hypothesis) and on every function of a real tree."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis.headers import header_index, inline_ids
from xenpatch.analysis.irqstate import _identifiers_named
from xenpatch.analysis.summaries import _assigned, _assigned_slow
from xenpatch.analysis.values import constant_macros
from xenpatch.c.masking import default_macro_table
from xenpatch.c.source import SourceError, functions, parse_bytes, walk
from xenpatch.lint.filelint import _reaching

# C-ish fragments: the characters and words the patterns turn on.
_TOKENS = st.sampled_from([
    "x", "y", "x1", "xy", "_x", "1x", " ", "\n", "\t", "=", "==", "!=", "<=", ">=", "+=",
    "-=", "<<=", ">>=", "|=", "&=", "^=", "*=", "/=", "%=", "++", "--", "&", "&&", "(", ")",
    ",", ";", "->", ".", "*", "-", "+", "<", ">", "!", "[", "]", "{", "}", "é",
])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_TOKENS, max_size=14), st.sampled_from(["x", "y", "x1", "xy", "_x"]))
def test_assigned_equals_the_per_name_pattern(tokens: list[str], var: str) -> None:
    body = "".join(tokens)
    assert _assigned(body, var) == _assigned_slow(body, var), (body, var)


def test_assigned_shapes() -> None:
    for body in ("x = 1", "x+=1", "x <<= 2", "x++", "++ x", "--x", "f(&x)", "a, &x",
                 "\n& x", "p->x = 1"):
        assert _assigned(body, "x"), body
    for body in ("x == 1", "x != 1", "x <= 1", "xx = 1", "f(x)", "a && x", "y = x",
                 "&xy", "++xy"):
        assert not _assigned(body, "x"), body


# -- the rewrites of the whole-tree speed work (issue 10) -------------------

_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _sources() -> list:
    out = []
    for f in sorted([*_FIXTURES.rglob("*.c"), *_FIXTURES.rglob("*.h")]):
        try:
            out.append(parse_bytes(str(f), f.read_bytes(), default_macro_table()))
        except SourceError:
            continue
    assert len(out) > 20
    return out


def _functions_by_children(root) -> list:
    found, stack = [], [root]
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            found.append(n)
            continue
        stack.extend(reversed(n.children))
    return found


def test_functions_equals_the_walk_of_children() -> None:
    seen = 0
    for src in _sources():
        want = _functions_by_children(src.root)
        assert functions(src.root) == want, src.path
        for fn in want:
            assert functions(fn) == [fn]  # a definition itself, not what it nests
        seen += len(want)
    assert seen > 100


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "int f(void) { return 0; }\n", "#if X\n", "#else\n", "#endif\n", "struct s { int a; };\n",
    "static int t[] = { 1, 2, 3 };\n", "void g(int a) { if (a) h(); }\n", "}\n", "{\n",
    "int x = ({ int y = 1; y; });\n", "foo(bar) {\n",
]), max_size=10))
def test_functions_equals_the_walk_of_children_on_any_text(parts: list[str]) -> None:
    src = parse_bytes("t.c", "".join(parts).encode(), default_macro_table())
    assert functions(src.root) == _functions_by_children(src.root)


def test_identifiers_named_equals_the_walk() -> None:
    checked = 0
    for src in _sources():
        for fn in functions(src.root):
            body = fn.child_by_field_name("body")
            if body is None:
                continue
            # Every name of the body, short ones (substrings of others) too.
            names = set(re.findall(r"[A-Za-z_]\w*", src.text(body)))
            want = {n for n in walk(body) if n.type == "identifier" and src.text(n) in names}
            assert set(_identifiers_named(src, body, names)) == want, (src.path, fn.start_point)
            checked += 1
    assert checked > 100


def _reaching_by_fixpoint(headers, names: frozenset[str]) -> frozenset[bytes]:
    found = {n.encode() for n in names}
    bodies = {n.encode(): inline_ids(headers, n)[0] for n in headers.inlines}
    bodies.update({n.encode(): {w.target.encode()} for n, w in headers.wrappers.items()})
    changed = True
    while changed:
        changed = False
        for n, ids in bodies.items():
            if n not in found and ids & found:
                found.add(n)
                changed = True
    return frozenset(found)


def test_reaching_equals_the_fixpoint() -> None:
    tree = _FIXTURES / "xen" / "xen"
    for d in ("common", "arch/x86", "arch/arm"):
        h = header_index(tree / d / "x.c")
        pool = sorted({i.decode() for n in h.inlines for i in inline_ids(h, n)[0]}
                      | {w.target for w in h.wrappers.values()})
        assert pool, d
        for k in range(0, len(pool), 7):
            names = frozenset(pool[k:k + 3])
            assert _reaching(h, names) == _reaching_by_fixpoint(h, names), (d, names)


_DEFINE_BY_LINE = re.compile(
    rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+\(?[ \t]*(-?)[ \t]*"
    rb"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)[uUlL]*[ \t]*\)?[ \t]*(?:/\*.*?\*/[ \t]*)?$",
    re.M,
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from([
    "#define A 1", "  # define B 0x0", "x #define C 2", "#define D (-3)", "#define E 1 /* c */",
    "#define F(x) 1", "\t#define G 07", "#define H x", "#", " ", "\n", "\r\n", "#define",
    "I 0", "#define J 1UL\n#define K 0",
]), max_size=8))
def test_constant_macros_equals_the_line_anchored_pattern(parts: list[str]) -> None:
    raw = "".join(parts).encode()
    want: dict[str, str] = {}
    for m in _DEFINE_BY_LINE.finditer(raw):
        t = m.group(3)
        v = int(t, 16) if t[:2] in (b"0x", b"0X") else int(t, 8 if t.startswith(b"0") else 10)
        want.setdefault(m.group(1).decode(), "zero" if v == 0 else (
            "neg" if m.group(2) else "pos"))
    assert constant_macros(raw) == want, raw
