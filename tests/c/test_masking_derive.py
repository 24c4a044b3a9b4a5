"""Masking derived from a tree's own #defines (xenpatch/c/masking/derive.py,
tree.py): each derived kind on a snippet that needs it (it must fail to
parse, or parse wrongly, with the rules' table alone), the conflicts that
keep a name underived, the file's own #defines, the per-tree cache, and the
same-length invariant over generated definitions and code.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from maskshapes import PARSER, errors
from tree_sitter import Node

from xenpatch.c.masking import default_macro_table, mask, table_for, tree_table
from xenpatch.c.masking import derive as derive_module
from xenpatch.c.masking import tree as masking_tree
from xenpatch.c.masking.derive import Deriver, definitions, merge

TABLE = default_macro_table()


def node_types(root: Node) -> set[str]:
    found = set()
    stack = [root]
    while stack:
        n = stack.pop()
        found.add(n.type)
        stack.extend(n.children)
    return found


def derive(header: str) -> dict[bytes, str]:
    return Deriver(definitions(header.encode()), TABLE.explicit_kind).derive()


def make_tree(root: Path, header: str) -> Path:
    """A hypervisor directory whose one header is ``header``."""
    xen = root / "xen"
    (xen / "include" / "xen").mkdir(parents=True)
    (xen / "include" / "xen" / "compiler.h").write_text(header)
    (xen / "common").mkdir()
    return xen


@pytest.fixture(autouse=True)
def _fresh_tables() -> None:
    TABLE._trees.clear()


def masked_with(tmp_path: Path, header: str, code: str) -> tuple[bytes, bytes]:
    """``code`` masked with the rules' table alone, and with the tree's."""
    xen = make_tree(tmp_path, header)
    raw = code.encode()
    plain = mask(raw, TABLE)
    derived = mask(raw, tree_table(TABLE, xen))
    assert len(derived) == len(raw)
    return plain, derived


# --------------------------------------------------------------------------
# What each kind of definition derives


def test_definitions_for_cplusplus_only_are_none() -> None:
    # A linkage header shared with C++: what it means for C is its C branch.
    header = (
        "#ifdef __cplusplus\n#define CPP_LINK extern \"C\"\n#else\n#define CPP_LINK\n#endif\n"
        "#define linkage CPP_LINK __attribute__((syscall_linkage))\n"
        "#ifndef __cplusplus\n#define h\n#else\n#define h extern \"C\"\n#endif\n"
        "#if defined(__cplusplus) /* C++ */\n#define k extern \"C\"\n#endif\n"
        "#ifdef __cplusplus\n#if 0\n#endif\n#define m extern \"C\"\n#elif X\n#define n\n#endif\n"
    )
    assert sorted(derive(header)) == [b"CPP_LINK", b"h", b"linkage", b"n"]
    raw = header.encode() + b"linkage void do_trap(int *regs)\n{\n    *regs = 0;\n}\n"
    tree = PARSER.parse(mask(raw, TABLE))
    assert errors(tree.root_node) == []


@pytest.mark.parametrize(
    "header, name, kind",
    [
        ("#define asmlinkage\n", b"asmlinkage", "blank"),
        ("#define attr_const __attribute__((__const__))\n", b"attr_const", "blank"),
        ("#define __my_init __init\n", b"__my_init", "blank"),
        ("#define fast inline __attribute__((hot)) /* hint */\n", b"fast", "blank"),
        ("#define a_sec(s) __attribute__((__section__(s)))\n", b"a_sec", "attribute"),
        ("#define asm_inline asm __inline\n", b"asm_inline", "asm_keyword"),
        ("#define asm_vol __asm__ \\\n    __volatile__\n", b"asm_vol", "asm_keyword"),
        ("#define each_item(i) for ( (i) = 0; (i) < 4; (i)++ )\n", b"each_item", "loop"),
        ("#define walk(i) each_item(i)\n#define each_item(i) for (;;)\n", b"walk", "loop"),
        # One configuration's storage class, another's nothing.
        ("#ifdef X\n#define STATIC\n#else\n#define STATIC static\n#endif\n", b"STATIC",
         "blank"),
        # Its argument, or nothing in another configuration.
        ("#if STATS\n# define STAT(x...) x\n#else\n# define STAT(x...)\n#endif\n", b"STAT",
         "transparent"),
        ("#define OF(args) args\n", b"OF", "transparent"),
        ("#define EXEC(...)  __VA_ARGS__ /* debug only */\n", b"EXEC", "transparent"),
        ("#define attr_of(x) x\n", b"attr_of", "transparent"),  # no attribute
    ],
)
def test_definition_derives_its_kind(header: str, name: bytes, kind: str) -> None:
    assert derive(header).get(name) == kind


@pytest.mark.parametrize(
    "header, name",
    [
        # Every definition must agree: one branch empty, the other a type.
        ("#ifdef X\n#define maybe\n#else\n#define maybe int\n#endif\n", b"maybe"),
        # An empty function-like macro may hide a call another config makes.
        ("#define hook(d)\n", b"hook"),
        ("#define twice(x) ((x) * 2)\n", b"twice"),
        ("#define NR 12\n", b"NR"),
        # One parameter of two, another name, a parameter with more.
        ("#define first(x, y) x\n", b"first"),
        ("#define other(x) y\n", b"other"),
        ("#define VA(...) x\n", b"VA"),
        ("#define neg(x) -x\n", b"neg"),
        # Its argument in one configuration, a call in the other.
        ("#ifdef X\n#define T(x) x\n#else\n#define T(x) f(x)\n#endif\n", b"T"),
        ("#define asm_and_more asm volatile (\"nop\")\n", b"asm_and_more"),
        ("#define head_and_body(i) for (;;) i++\n", b"head_and_body"),
        ("#define selfish selfish\n", b"selfish"),
        # Always a storage class: masking it would lose what it says.
        ("#define PRIVATE static\n", b"PRIVATE"),
        ("#ifdef X\n#define SC static\n#else\n#define SC extern\n#endif\n", b"SC"),
        # The table says what __init is; nothing is derived for it.
        ("#define __init __attribute__((__section__(\".init.text\")))\n", b"__init"),
    ],
)
def test_definition_derives_nothing(header: str, name: bytes) -> None:
    assert name not in derive(header)


# --------------------------------------------------------------------------
# Each derived kind is needed: the rules' table alone fails on the snippet


def test_empty_macro_is_blanked(tmp_path: Path) -> None:
    code = "void asmlinkage do_trap(int *regs)\n{\n    *regs = 0;\n}\n"
    plain, out = masked_with(tmp_path, "#define asmlinkage\n", code)
    assert errors(PARSER.parse(plain).root_node)
    assert errors(PARSER.parse(out).root_node) == []
    assert b"asmlinkage" not in out


def test_attribute_macro_is_blanked_but_not_what_follows(tmp_path: Path) -> None:
    header = "#define attr_const __attribute__((__const__))\n"
    code = "static inline int attr_const twice(int x)\n{\n    return attr_const (x) * 2;\n}\n"
    plain, out = masked_with(tmp_path, header, code)
    assert errors(PARSER.parse(plain).root_node)
    assert errors(PARSER.parse(out).root_node) == []
    assert b"return            (x) * 2;" in out  # cpp keeps what follows an object-like macro


def test_function_like_attribute_is_blanked_with_its_arguments(tmp_path: Path) -> None:
    header = "#define in_sec(s) __attribute__((__section__(s)))\n"
    code = (
        'static int in_sec(".data.x") counter;\n'
        'int in_sec(".text.x") f(void)\n{\n    return 0;\n}\n'
    )
    plain, out = masked_with(tmp_path, header, code)
    assert errors(PARSER.parse(plain).root_node)
    assert errors(PARSER.parse(out).root_node) == []


def test_asm_macro_becomes_asm(tmp_path: Path) -> None:
    header = (
        "#ifdef HAS_ASM_INLINE\n# define asm_inline asm __inline\n"
        "#else\n# define asm_inline asm\n#endif\n"
    )
    code = 'void f(void)\n{\n    asm_inline volatile ( "nop" ::: "memory" );\n}\n'
    plain, out = masked_with(tmp_path, header, code)
    assert errors(PARSER.parse(plain).root_node)
    assert errors(PARSER.parse(out).root_node) == []
    assert "gnu_asm_expression" in node_types(PARSER.parse(out).root_node)


def test_loop_macro_without_braces_becomes_a_loop(tmp_path: Path) -> None:
    header = "#define each_item(i) for ( (i) = 0; (i) < 4; (i)++ )\n"
    code = (
        "int f(void)\n{\n    int i, n = 0;\n"
        "    each_item(i)\n        n += i;\n    return n;\n}\n"
    )
    plain, out = masked_with(tmp_path, header, code)
    # Without the derivation the macro reads as a statement of its own.
    assert "while_statement" not in node_types(PARSER.parse(plain).root_node)
    tree = PARSER.parse(out)
    assert errors(tree.root_node) == []
    assert "while_statement" in node_types(tree.root_node)


def test_storage_class_or_nothing_is_blanked(tmp_path: Path) -> None:
    header = "#ifdef __XEN__\n#define STATIC\n#else\n#define STATIC static\n#endif\n"
    code = "STATIC size_t bound(void)\n{\n    return 4;\n}\n"
    plain, out = masked_with(tmp_path, header, code)
    assert errors(PARSER.parse(plain).root_node)
    assert errors(PARSER.parse(out).root_node) == []


_STATS = (
    "#if UNW_STATS\n# define STAT(x...)\tx\n#else\n# define STAT(x...)\n#endif\n"
    "static int build(int n)\n{\n    STAT(unsigned long start, parse_start;)\n"
    "    STAT(if (n > 4) ++n);\n    STAT(local_irq_save(flags); start = n);\n"
    "    return n;\n}\n"
)


def test_arguments_or_nothing_keeps_the_arguments() -> None:
    # ia64's unwind.c (2005-2012) shape: STAT() is its argument when
    # UNW_STATS is on, nothing when off; its arguments are declarations
    # and statements, which a call's parentheses cannot hold.  Where a
    # build may take either side, the arguments are kept.
    out = mask(_STATS.encode(), TABLE)
    assert errors(PARSER.parse(out).root_node) == []
    assert b"    STAT(" not in out
    assert b"unsigned long start, parse_start; " in out


@pytest.mark.parametrize("switch", ["#define UNW_STATS 0\n", "#define UNW_STATS\t0\t/* slow */\n"])
def test_nothing_in_every_build_blanks_the_call(switch: str) -> None:
    # The file itself says UNW_STATS is 0: no build sees STAT() as its
    # argument, and every build sees nothing where it is called.
    raw = (switch + _STATS).encode()
    out = mask(raw, TABLE)
    assert errors(PARSER.parse(out).root_node) == []
    assert b"parse_start" not in out and b"local_irq_save" not in out
    assert b"return n;" in out


def test_an_empty_call_the_file_may_define_otherwise_stays() -> None:
    # UNW_STATS is no literal of the file's: left to the table as before
    # for a macro empty in the one configuration seen.
    raw = (b"#ifdef X\n# define HOOK(d)\n#endif\nstatic void f(int d)\n{\n    HOOK(d);\n}\n")
    assert mask(raw, TABLE) == raw


def test_conflicting_definitions_are_left_alone(tmp_path: Path) -> None:
    header = "#ifdef X\n#define maybe\n#else\n#define maybe long\n#endif\n"
    _, out = masked_with(tmp_path, header, "maybe f(void);\n")
    assert out == b"maybe f(void);\n"


# --------------------------------------------------------------------------
# The file's own #defines


def test_file_defines_derive_without_a_tree() -> None:
    code = (
        "#ifdef CONFIG_X\n# define __init_or_x __init\n#else\n# define __init_or_x\n#endif\n"
        "static int __init_or_x fill(int m)\n{\n    return m;\n}\n"
    )
    raw = code.encode()
    out = mask(raw, TABLE)
    assert errors(PARSER.parse(out).root_node) == []
    assert b"__init_or_x fill" not in out
    assert b"# define __init_or_x __init" in out  # directives stay as they are


def test_file_define_overrides_the_tree(tmp_path: Path) -> None:
    # The tree says 'marker' is empty; this file makes it a type: kept.
    xen = make_tree(tmp_path, "#define marker\n")
    raw = b"#define marker int\nmarker f(void);\n"
    assert mask(raw, tree_table(TABLE, xen)) == raw
    assert mask(b"void marker f(void);\n", tree_table(TABLE, xen)) == b"void        f(void);\n"


def test_table_entries_win_over_definitions() -> None:
    # __init is an attribute by the table; a file defining it otherwise
    # does not change how it is masked.
    out = mask(b"#define __init\nint __init f(void);\n", TABLE)
    assert out == b"#define __init\nint        f(void);\n"


# --------------------------------------------------------------------------
# The tree's table: found from a file, cached by content


def test_table_for_a_file_finds_its_tree(tmp_path: Path) -> None:
    xen = make_tree(tmp_path, "#define asmlinkage\n")
    table = table_for(TABLE, xen / "common" / "traps.c")
    assert table.kind(b"asmlinkage") == "blank"
    assert table_for(TABLE, tmp_path.parent / "elsewhere.c") is TABLE
    assert tree_table(TABLE, tmp_path) is tree_table(TABLE, xen)  # the folder holding xen/
    assert tree_table(TABLE, tmp_path / "xen" / "common") is TABLE


def test_tree_kinds_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))  # this test's files only
    xen = make_tree(tmp_path / "a", "#define asmlinkage\n")
    assert tree_table(TABLE, xen).kind(b"asmlinkage") == "blank"
    files = list((Path(masking_tree._cache_file("x")).parent).glob("*.json"))
    assert files
    # A cache file of the same content is read, not recomputed.
    key = files[0]
    data = json.loads(key.read_text())
    data["from_the_cache"] = "blank"
    key.write_text(json.dumps(data))
    TABLE._trees.clear()
    assert tree_table(TABLE, xen).kind(b"from_the_cache") == "blank"
    # A changed header is another key.
    (xen / "include" / "xen" / "compiler.h").write_text("#define asmlinkage int\n")
    TABLE._trees.clear()
    table = tree_table(TABLE, xen)
    assert table.kind(b"asmlinkage") is None
    assert table.kind(b"from_the_cache") is None


def test_a_bad_cache_file_is_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = make_tree(tmp_path, "#define asmlinkage\n")
    tree_table(TABLE, xen)
    for f in Path(masking_tree._cache_file("x")).parent.glob("*.json"):
        f.write_text('{"asmlinkage": "not a kind"}')
    TABLE._trees.clear()
    assert tree_table(TABLE, xen).kind(b"asmlinkage") == "blank"


# --------------------------------------------------------------------------
# The same-length invariant over generated definitions and code

_PROTECTED = re.compile(rb'"[^"\n]*"|/\*.*?\*/|//[^\n]*', re.S)
_NAMES = st.sampled_from(["m_a", "m_b", "m_c", "m_d", "m_e"])
_BODIES = st.sampled_from(
    [
        "",
        "x",
        "__attribute__((__const__))",
        "__attribute__((section(\".x\")))",
        "inline",
        "asm",
        "asm __inline volatile",
        "__init",
        "m_a",
        "m_b __attribute__((x))",
        "for (;;)",
        "m_c(x)",
        "int",
        "(1 + 2)",
        "\"str\"",
        "/* c */",
        "__attribute__((unclosed",
    ]
)
_CODE = st.sampled_from(
    [
        "m_a", "m_b", "m_c", "m_d", "m_e", "m_a(x)", "m_c(1, 2)", "(", ")", "{", "}", ";",
        "int", "f", "x", "=", ",", "\n", " ", '"m_a ( "', "/* m_b */", "// m_c\n",
        "#define m_e\n", "#define m_d(x) for (;;)\n", "'('", "asm", "volatile", "\\\n",
    ]
)


@st.composite
def _tree_and_code(draw) -> tuple[str, str]:
    header = "".join(
        f"#define {draw(_NAMES)}{draw(st.sampled_from(['', '(x)']))} {draw(_BODIES)}\n"
        for _ in range(draw(st.integers(0, 8)))
    )
    code = "".join(draw(st.lists(_CODE, max_size=40)))
    return header, code


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree_and_code())
# A derived blank name right before a string (the string must stay), and
# one whose removal leaves a file-scope invocation the table blanks whole.
@example(("#define m_a \n", 'x m_a"m_a ( " y'))
@example(("#define m_a \n#define m_b \n#define m_a asm\n", 'm_a\nm_b("m_a ( ")m_a'))
def test_derived_masking_keeps_length_and_line_breaks(case: tuple[str, str]) -> None:
    header, code = case
    table = TABLE.with_derived(derive(header))
    raw = code.encode()
    out = mask(raw, table)
    assert len(out) == len(raw)
    assert [i for i, c in enumerate(out) if c in (10, 13)] == [
        i for i, c in enumerate(raw) if c in (10, 13)
    ]
    # What the derivation masks is code: in string literals and comments,
    # only what the rules' table alone masks (a statement macro's string
    # arguments, say) changes -- in the text as it is, or once the derived
    # blank names are gone from its code: "f BLANK("s")" at file scope is
    # then a macro invocation, which the table blanks whole.
    derived = table.derived
    blank = [n for n in derived if derived.get(n) == "blank"]
    protected = [(m.start(), m.end()) for m in _PROTECTED.finditer(raw)]
    gone = bytearray(raw)
    for n in blank:
        for w in re.finditer(rb"(?<![\w])" + re.escape(n) + rb"(?![\w])", raw):
            if not any(a <= w.start() < b for a, b in protected):
                gone[w.start():w.end()] = b" " * (w.end() - w.start())
    base = mask(raw, TABLE)
    after = mask(bytes(gone), TABLE)
    for a, b in protected:
        for i in range(a, b):
            assert out[i] == raw[i] or base[i] != raw[i] or after[i] != raw[i], (raw, out)


def test_a_definition_the_header_undefines_is_not_exported(tmp_path: Path) -> None:
    # Xen's TYPE_SAFE headers: '#define mfn_t /* grep fodder */' then
    # '#undef mfn_t'; mfn_t is a typedef everywhere else.
    header = "#define mfn_t /* grep fodder */\n#undef mfn_t\n#define later\n"
    assert derive(header) == {b"later": "blank"}
    _, out = masked_with(tmp_path, header, "static mfn_t get(void);\n")
    assert out == b"static mfn_t get(void);\n"
    # In the header itself, the name is nothing derived either.
    raw = header.encode() + b"mfn_t x;\n"
    assert mask(raw, TABLE).endswith(b"mfn_t x;\n")


def test_definitions_under_if_0_are_none() -> None:
    header = (
        "#if 0\n#define mfn_t /* grep fodder */\n#if X\n#define b\n#endif\n"
        "#else\n#define c\n#endif\n"
        "#ifdef Y\n#if 0 /* off */\n#define d\n#elif 1\n#define e\n#endif\n#endif\n"
        "#if 00\n#define f\n#endif\n#if 0x1\n#define g\n#endif\n"
    )
    assert sorted(derive(header)) == [b"c", b"e", b"g"]
    # The file's own definitions too.
    raw = header.encode() + b"static mfn_t get(void);\n"
    assert mask(raw, TABLE).endswith(b"static mfn_t get(void);\n")


@pytest.mark.parametrize(
    "body",
    ["    each_item()\n        n++;\n", "    each_item() {\n        n++;\n    }\n"],
)
def test_loop_macro_without_arguments_becomes_a_loop(tmp_path: Path, body: str) -> None:
    header = "#define each_item() for (cur = head; cur; cur = cur->next)\n"
    code = "int f(void)\n{\n    int n = 0;\n" + body + "    return n;\n}\n"
    _, out = masked_with(tmp_path, header, code)
    tree = PARSER.parse(out)
    assert errors(tree.root_node) == [], out.decode()
    assert "while_statement" in node_types(tree.root_node)
    assert b"while(1)" in out


# --------------------------------------------------------------------------
# What is derived lazily (tree.LazyKinds) is what the eager derivation finds


def _reference_definitions(text: bytes) -> dict[bytes, list[tuple[bool, tuple[bytes, ...]]]]:
    """derive.definitions() as it was written first: DEFINE and IF_ZERO,
    anchored by "^", tried at every byte.  The fast version must agree."""
    found: dict[bytes, list[tuple[bool, tuple[bytes, ...]]]] = {}
    if b"define" not in text:
        return found
    dead = derive_module._dead_spans(text) \
        if b"__cplusplus" in text or derive_module.IF_ZERO.search(text) else []
    for m in derive_module.DEFINE.finditer(text):
        if any(s <= m.start() < e for s, e in dead):
            continue
        if m.group(1) == b"undef":
            found[m.group(2)] = []
            continue
        one = definitions(m.group(0).lstrip(b" \t"))
        found.setdefault(m.group(2), []).extend(one.get(m.group(2), []))
    return found


_LINES = st.sampled_from([
    "#define a 1", "  #  define b(x) for (;;)", "\t#undef a", "x #define c", "#define d \\",
    "#define e __attribute__((x)) \\", "#if 0", "#endif", "#else", "# if 00", "/* #define f */",
    "#define\tg", "int h; #define i", "#definej", "#define k /* c */ \\", "", "  ", "#",
    "#if 0 /* off */", "#ifdef X", "#define a inline", "#ifdef __cplusplus", "#ifndef __cplusplus",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=14), st.sampled_from(["\n", "\r\n"]))
def test_definitions_find_what_the_anchored_regex_finds(lines: list[str], nl: str) -> None:
    text = nl.join(lines).encode()
    assert definitions(text) == _reference_definitions(text)


_HEADERS = st.lists(
    st.lists(st.tuples(_NAMES, st.sampled_from(["", "(x)"]), _BODIES), max_size=5).map(
        lambda ds: "".join(f"#define {n}{p} {b}\n" for n, p, b in ds)
        + "#undef m_e\n" * (len(ds) % 2)),
    max_size=4)


@settings(max_examples=200, deadline=None)
@given(_HEADERS, st.permutations(["m_a", "m_b", "m_c", "m_d", "m_e", "none", "__init"]))
def test_lazy_kinds_are_the_eager_ones_in_any_order(headers: list[str], order: list[str]) -> None:
    defs: dict[bytes, list[tuple[bool, tuple[bytes, ...]]]] = {}
    for h in headers:
        merge(defs, definitions(h.encode()))
    eager = Deriver(defs, TABLE.explicit_kind).derive()
    lazy = masking_tree.LazyKinds([h.encode() for h in headers], TABLE.explicit_kind)
    got = {n.encode(): lazy.get(n.encode()) for n in order}
    assert {n: k for n, k in got.items() if k is not None} == {
        n: k for n, k in eager.items() if n.decode() in order}
    assert dict(lazy.items()) == eager


@pytest.mark.xen
def test_lazy_kinds_of_a_release_are_the_eager_ones(xen417: Path) -> None:
    headers = masking_tree._headers(xen417 / "xen")
    defs: dict[bytes, list[tuple[bool, tuple[bytes, ...]]]] = {}
    for _, text in headers:
        merge(defs, definitions(text))
    eager = Deriver(defs, TABLE.explicit_kind).derive()
    assert len(eager) > 300
    names = sorted(defs)
    random.Random(17).shuffle(names)  # an order no derivation uses
    lazy = masking_tree.LazyKinds([t for _, t in headers], TABLE.explicit_kind)
    assert {n: k for n in names if (k := lazy.get(n)) is not None} == eager


def test_a_lazy_table_becomes_whole_when_asked(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path / "cache"))
    xen = make_tree(tmp_path, "#define asmlinkage\n#define my_cold __attribute__((x))\n")
    lazy = tree_table(TABLE, xen, lazy=True)
    assert isinstance(lazy.derived, masking_tree.LazyKinds)
    assert lazy.kind(b"asmlinkage") == "blank"
    assert tree_table(TABLE, xen, lazy=True) is lazy
    assert not (tmp_path / "cache" / "masking").exists()  # nothing derived whole yet
    whole = tree_table(TABLE, xen)
    assert dict(whole.derived) == {b"asmlinkage": "blank", b"my_cold": "blank"}
    assert list((tmp_path / "cache" / "masking").glob("*.json"))
    assert tree_table(TABLE, xen, lazy=True) is whole
