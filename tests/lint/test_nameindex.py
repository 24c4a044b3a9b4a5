"""The name index's scan (nameindex.definitions()) against a plain
statement of what it finds: the lean loop must find the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.lint import nameindex


def _plain(raw: bytes) -> list[tuple[str, bool, int, int]]:
    """definitions() as first written: every boundary searched for over
    the whole window, one by one."""
    out = []
    for m in nameindex._DEF_END.finditer(raw):
        close = m.start()
        brace = raw.index(b"{", close)
        if m.group(0).endswith(b"\n"):
            start = raw.rfind(b"\n", 0, close) + 1
            if not re.match(rb"[A-Za-z_]", raw[start:start + 1]):
                continue
        lo = max(0, close - 1000)
        begin = max(raw.rfind(b";", lo, close), raw.rfind(b"}", lo, close),
                    raw.rfind(b"\n\n", lo, close), raw.rfind(b"*/", lo, close),
                    raw.rfind(b"\n#", lo, close), lo - 1)
        last = None
        for call in re.finditer(rb"([A-Za-z_]\w*)\s*\(", raw[begin + 1:close]):
            name = call.group(1).decode()
            if name in ("if", "for", "while", "switch", "return", "sizeof", "do", "else"):
                continue
            if not name.startswith("__"):
                break
            if name != "__attribute__":
                last = call
        else:
            if last is None:
                continue
            call, name = last, last.group(1).decode()
        static = re.search(rb"\bstatic\b", raw[begin + 1:begin + 1 + call.start()]) is not None
        out.append((name, static, brace, begin + 1))
    return out


_PIECES = [
    b"static ", b"int ", b"void\n", b"__init ", b"foo", b"bar_2", b"(", b")", b"(void)",
    b"(int a, long b)", b"__helper", b" {\n", b"\n{\n", b"}\n", b";\n", b"\n\n", b"/* c */", b"*/",
    b"\n#define X(a) a\n", b"#if 0\n", b"    if ( x ) {\n", b"sizeof(", b"__attribute__((x))",
    b"return (", b"x" * 150, b" " * 120, b"\n", b"static void\nlong_name(\n    int a)\n{\n",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60))
def test_generated_texts(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    assert [tuple(d) for d in nameindex.definitions(raw)] == _plain(raw)


@pytest.mark.xen
def test_xen_417(xen417: Path) -> None:
    n = 0
    for p in sorted((xen417 / "xen").rglob("*.c")):
        raw = p.read_bytes()
        got = [tuple(d) for d in nameindex.definitions(raw)]
        assert got == _plain(raw), p
        n += len(got)
    assert n > 5000


_SEEDS = frozenset({"spin_lock", "spin_unlock", "spin_lock_irqsave", "read_lock", "write_lock",
                    "rcu_read_lock", "spin_trylock"})


def _restricted_agrees(raw: bytes) -> int:
    """may_export() asked for some names answers for them as when asked for
    all; returns how many names were checked."""
    defs = nameindex.definitions(raw)
    reach = nameindex.Reach({}).plus(nameindex.local_macros(raw))
    full = nameindex.may_export(raw, defs, _SEEDS, reach)
    names = sorted({d.name for d in defs})
    for only in [frozenset([n]) for n in names] + [frozenset(names[::2])]:
        assert nameindex.may_export(raw, defs, _SEEDS, reach, only) == full & only, only
    return len(names)


def test_may_export_for_some_names() -> None:
    raw = (b"static void a(void)\n{\n    b();\n}\n\nvoid b(void)\n{\n    c();\n}\n\n"
           b"static void c(void)\n{\n    spin_lock(&l);\n}\n\nvoid d(void)\n{\n    e();\n}\n\n"
           b"void e(void)\n{\n}\n\nvoid f(void)\n{\n    a();\n}\n")
    defs = nameindex.definitions(raw)
    full = nameindex.may_export(raw, defs, _SEEDS, nameindex.Reach({}))
    assert {"b", "f"} <= full and "a" not in full  # a: static
    assert _restricted_agrees(raw) == 6


@pytest.mark.xen
def test_may_export_for_some_names_xen_417(xen417: Path) -> None:
    n = 0
    for p in sorted((xen417 / "xen" / "common").rglob("*.c")):
        n += _restricted_agrees(p.read_bytes())
    assert n > 500


_NAMES = st.sampled_from([f"n{i}" for i in range(8)])
_GRAPH = st.dictionaries(_NAMES, st.frozensets(_NAMES, max_size=4), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_GRAPH, _GRAPH, st.lists(st.frozensets(_NAMES, max_size=4), min_size=1, max_size=4))
def test_a_files_macros_over_its_headers_closure(base: dict[str, frozenset[str]],
                                                 macros: dict[str, frozenset[str]],
                                                 asks: list[frozenset[str]]) -> None:
    """Reach.plus() (an overlay sharing its base's memo) closes as one
    Reach over the merged bodies does, whatever was asked of the base
    before."""
    flat = dict(base)
    for n, ids in macros.items():
        flat[n] = flat.get(n, frozenset()) | (ids - {n})
    shared = nameindex.Reach(base)
    over = shared.plus(macros)
    for names in asks:
        shared.closure(names)  # the base's memo filled first, or not
        assert over.closure(names) == nameindex.Reach(flat).closure(names)


def test_may_export_reads_each_body_to_its_end() -> None:
    # a() is followed by b(), which takes a lock: the text from a()'s "{"
    # to b()'s names b (a call, to the scan), not a()'s body.
    from xenpatch.lint.excerpt import text_ends

    raw = (b"void a(void)\n{\n    x();\n}\n\nvoid b(void)\n{\n    spin_lock(&l);\n}\n\n"
           b"void c(void)\n{\n    b();\n}\n")
    defs = nameindex.definitions(raw)
    ends = text_ends(raw, defs)
    got = nameindex.may_export(raw, defs, _SEEDS, nameindex.Reach({}), ends=ends)
    assert got == {"b", "c"}
    assert nameindex.may_export(raw, defs, _SEEDS, nameindex.Reach({}),
                                frozenset({"a", "c"}), ends) == {"c"}
