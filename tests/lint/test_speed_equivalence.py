"""The speed-only rewrites give the answers of what they replaced, on any
text (hypothesis) and on every function of a real tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis import fnptrs
from xenpatch.analysis.functions import INDEXED, FunctionInfo, collect, parameters
from xenpatch.analysis.headers import header_index, inline_ids
from xenpatch.analysis.irqstate import _identifiers_named
from xenpatch.analysis.takes import _assigned, _assigned_slow
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import FileValues, constant_macros
from xenpatch.c.cfg import build_cfg, load_cfg_config
from xenpatch.c.masking import default_macro_table
from xenpatch.c.source import SourceError, function_name, functions, parse_bytes, walk
from xenpatch.lint.reaching import reaching_names
from xenpatch.paths import rules_dir

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
            assert reaching_names(h, names) == _reaching_by_fixpoint(h, names), (d, names)


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


# -- the per-file analysis speed work (issue 10, pass1) ----------------------

_WORDISH = st.sampled_from([
    "f", "g", "fg", "f1", "_f", "1f", "f_g", "->", ".", " ", "\n", "(", ")", "*", "$", "é",
    "->f", ". g", "x.f(", "p->fg (", "/* f */", '"f"', "#define", "1.5",
])


_DEFINE_AT_LINE_START = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(([^)]*)\)"
                                   rb"((?:\\\r?\n|[^\n])*)", re.M)


def _field_macros_by_pattern(raw: bytes) -> dict[str, int]:
    """fnptrs.field_macros() as it was: a line-anchored pattern, and one
    pattern per parameter."""
    out: dict[str, int] = {}
    for m in _DEFINE_AT_LINE_START.finditer(raw):
        params = [p.strip() for p in m.group(2).decode(errors="replace").split(",")]
        body = m.group(3)
        for i, p in enumerate(params):
            if re.fullmatch(r"[A-Za-z_]\w*", p) and re.search(
                    rb"(?:->|\.)\s*" + p.encode() + rb"\s*\(", body):
                out[m.group(1).decode()] = i
                break
    return out


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([
    "#define M(a, b) ", "x #define R(f) ", " \t# define S(f) ", "\r\n",
    "#define N(f) ", "# define O(x,y,z)", "#define P() ", "a", "b", "f",
    "x", "ab", "->", ".", " ", "(", ")", "\\\n", "\n", "é", ",", "1", "->f(", ".b (", "p->ab(",
    "s.x\t(", "#define Q(xé, b) ", "->xé(", "1.b(",
]), max_size=14))
def test_field_macros_equals_the_per_parameter_pattern(parts: list[str]) -> None:
    raw = "".join(parts).encode()
    assert fnptrs.field_macros(raw) == _field_macros_by_pattern(raw), raw


def test_field_macros_shapes() -> None:
    raw = (b"#define CALL(o, f) (o)->f(o)\n#define VIA(s, g) s . g (1)\n"
           b"#define NOT(a, b) a->b + 1\n#define NAMED(x) x(1)\n")
    assert fnptrs.field_macros(raw) == {"CALL": 1, "VIA": 1} == _field_macros_by_pattern(raw)
    # A parameter named past ASCII (which the word scan does not see).
    raw = "#define U(o, xé) o->xé(o)\n#define W(o, xé) o->x(o)\n".encode()
    assert fnptrs.field_macros(raw) == {"U": 1} == _field_macros_by_pattern(raw)


def _spans(ms) -> list[tuple[int, int, int, int]]:
    return [(m.start(), m.end(), m.start(m.lastindex or 0), m.end(m.lastindex or 0))
            for m in ms]


@settings(max_examples=2000, deadline=None)
@given(st.lists(_WORDISH, max_size=16),
       st.sets(st.sampled_from(["f", "g", "fg", "f1", "_f", "f_g", "$f", "é"]), min_size=1))
def test_word_matches_equal_the_alternation(parts: list[str], names: set[str]) -> None:
    code = "".join(parts).encode()
    words = fnptrs._words(names)
    assert _spans(fnptrs._word_matches(names, code)) == _spans(words.finditer(code)), code
    fields = re.compile(rb"(?:->|\.)\s*(" + words.pattern + rb")")
    assert _spans(fnptrs._word_matches(names, code, after_field=True)) == _spans(
        fields.finditer(code)), code


def test_fnptrs_index_on_every_fixture() -> None:
    """The index found by word lookup is the one the alternation found."""
    checked = 0
    for src in _sources():
        names = {function_name(src, fn) for fn in functions(src.root)} - {None}
        if not names:
            continue
        code = fnptrs.code_only(src.raw)
        want = _spans(fnptrs._words(names).finditer(code))
        assert _spans(fnptrs._word_matches(names, code)) == want, src.path
        checked += len(want)
    assert checked > 100


def _line_starts_by_find(raw: bytes) -> list[int]:
    starts = [0]
    pos = raw.find(b"\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = raw.find(b"\n", pos + 1)
    return starts


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["int x;", "\n", "\r\n", "\n\n", " ", "/* a\nb */", "é"]),
                max_size=12))
def test_line_starts_equal_the_newline_search(parts: list[str]) -> None:
    raw = "".join(parts).encode()
    src = parse_bytes("t.c", raw, default_macro_table())
    assert list(src._line_starts) == _line_starts_by_find(raw), raw


def test_parameters_are_collects_params() -> None:
    """frees() reads parameters() where it ran collect() for its params."""
    checked = 0
    for src in _sources():
        for fn in functions(src.root):
            name = function_name(src, fn) or "?"
            assert parameters(src, fn)[0] == collect(src, fn, name).params, (src.path, name)
            checked += 1
    assert checked > 100


def test_calls_under_a_cfg_node_by_index_equal_the_walk() -> None:
    """precondition_findings() finds each CFG node's calls in the body's
    index: the calls a walk of the node finds, in its order."""
    config = load_cfg_config(rules_dir() / "locks.toml")
    checked = 0
    for src in _sources():
        for fn in functions(src.root):
            cfg = build_cfg(src, fn, function_name(src, fn) or "?", config)
            if cfg.body is None:
                continue
            index = src.node_index(cfg.body, INDEXED)
            for node in cfg.nodes:
                if node.ast is None:
                    continue
                want = [n for n in walk(node.ast) if n.type == "call_expression"]
                got = [n for n in index.under(node.ast) if n.type == "call_expression"]
                assert got == want, (src.path, node.line)
                checked += len(want)
    assert checked > 100


def test_every_path_nodes_equals_the_walk_per_node() -> None:
    """every_path_nodes() (one dominator pass) finds the nodes for which
    on_every_path() (one walk per node) holds, on every function."""
    from xenpatch.analysis.takes import every_path_nodes, on_every_path

    config = load_cfg_config(rules_dir() / "locks.toml")
    checked = 0
    for src in _sources():
        for fn in functions(src.root):
            cfg = build_cfg(src, fn, function_name(src, fn) or "?", config)
            want = {i for i in range(len(cfg.nodes)) if on_every_path(cfg, i)}
            assert every_path_nodes(cfg) == want, (src.path, cfg.name)
            checked += 1
    assert checked > 100


# -- what a second pass takes from the first (lint/reuse.py, lint/passes.py,
# FileAnalysis._filled, run_engine's kept runs) ---------------------------

def _as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis as it was: no parse kept for the second pass, each CFG
    built, each function collected and filled, each dataflow run anew."""
    from xenpatch.analysis import fileanalysis
    from xenpatch.analysis.actions import fill_actions
    from xenpatch.lint import reuse

    def filled(self: fileanalysis.FileAnalysis, f: FunctionUnit, objects: frozenset[str],
               fv: FileValues) -> FunctionInfo:
        info = self.path_aliased(f, collect(f.src, f.node, f.name), fv)
        fill_actions(f.src, f.cfg, info, self.resolver, objects, fv, self.may_resolve,
                     self.config.irq, self.frees)
        return info

    monkeypatch.setattr(fileanalysis.FileAnalysis, "_filled", filled)
    monkeypatch.setattr(fileanalysis, "built_cfg", build_cfg)
    monkeypatch.setattr(reuse, "BUDGET", 0)


def _fixture_runs() -> list[list[tuple[Path, str]]]:
    """Runs over fixture files that call each other's helpers: the
    cross-file fixtures and every lint fixture together (both passes)."""
    lint = _FIXTURES / "lint"
    return [[(p, p.name) for p in sorted((lint / "crossfile").glob("*.c"))],
            [(p, p.name) for p in sorted(lint.rglob("*.c"))]]


@pytest.mark.parametrize("jobs", [1, 2])
def test_two_passes_keeping_the_first_find_what_they_found_anew(
        jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.analysis.fileanalysis import FileAnalysis
    from xenpatch.lint.run import lint_files

    reused: list[bool] = []
    same = FileAnalysis._same_answers

    def counted(self: FileAnalysis, asked: tuple[tuple[object, ...], ...]) -> bool:
        got = same(self, asked)
        reused.append(got)
        return got

    runs = _fixture_runs()
    with monkeypatch.context() as m:
        m.setattr(FileAnalysis, "_same_answers", counted)
        new = [lint_files(files, jobs=jobs, tree=False) for files in runs]
    with monkeypatch.context() as m:
        _as_before(m)
        old = [lint_files(files, jobs=1, tree=False) for files in runs]
    assert sum(len(r) for r in old) > 30
    assert any(r.findings for rs in old for r in rs)
    for a, b in zip(old, new, strict=True):
        assert a == b
    if jobs == 1:
        # Both kinds of kept fill met: taken again, and asked again in vain.
        assert True in reused and False in reused


def _pid(_: int) -> int:
    import os

    return os.getpid()


def _nothing() -> None:
    return None


def test_pinned_workers_run_a_later_map_where_the_first_ran() -> None:
    """Each worker of the two gets its two tasks at once (two chunks ahead):
    the later map of the same tasks goes to the same workers, each its own."""
    from xenpatch.lint.passes import pinned

    with pinned(2, _nothing, ()) as mapper:
        first = list(mapper(_pid, range(4)))
        later = list(mapper(_pid, [10, 11, 12, 13]))
        owner = mapper.owner
    assert len(set(first)) == 2
    assert later == first
    # What it keeps: the worker that ran each task.
    assert owner is not None and [first[owner.index(w)] for w in owner] == first


def _first_keys(key: str) -> int:
    import os

    return os.getpid()


def test_pinned_workers_run_a_later_map_of_fewer_tasks_where_the_first_ran() -> None:
    """A later map of some of the tasks (the third round's) finds each
    where it first ran, by its first argument; one of unknown tasks is a
    first map again."""
    from xenpatch.lint.passes import pinned

    keys = ["a", "b", "c", "d"]
    with pinned(2, _nothing, ()) as mapper:
        first = dict(zip(keys, mapper(_first_keys, keys), strict=True))
        some = ["d", "a"]
        later = list(mapper(_first_keys, some))
        assert later == [first[k] for k in some]
        assert mapper._placed([("e",)]) is None
        assert mapper._placed([("b",), ("c",)]) == [1, 2]
    assert len(set(first.values())) == 2


def _round_exports(files: list[tuple[Path, str]]) -> list[tuple[dict, dict]]:
    """Each file's exports when linted again with the tree's first-pass
    summaries: for its findings (findings_only) and for its exports alone
    (exports_only, what a third round asks: lint/rounds.py)."""
    from xenpatch.lint.config import LintConfig
    from xenpatch.lint.filelint import lint_file
    from xenpatch.lint.treeexports import tree_exports

    config = LintConfig.load(None)
    tree = tree_exports(lint_file(p, d, config).exports for p, d in files)
    return [(lint_file(p, d, config, tree, findings_only=True).exports,
             lint_file(p, d, config, tree, exports_only=True).exports) for p, d in files]


def test_exports_alone_are_those_of_the_findings_lint() -> None:
    got = [pair for files in _fixture_runs() for pair in _round_exports(files)]
    assert sum(len(a) for a, _ in got) > 10
    for a, b in got:
        assert a == b


def test_exports_alone_are_those_of_the_findings_lint_on_xen(xen417: Path) -> None:
    xen = xen417 / "xen"
    files = [(xen / r, r) for r in ("arch/x86/mm.c", "common/page_alloc.c", "arch/x86/mm/p2m.c",
                                    "arch/x86/mm/p2m-pod.c", "drivers/passthrough/pci.c",
                                    "arch/x86/hvm/vmsi.c", "common/grant_table.c")]
    got = _round_exports(files)
    assert sum(len(a) for a, _ in got) > 50
    for (a, b), (_, rel) in zip(got, files, strict=True):
        assert a == b, rel


def test_rounds_given_the_first_pass_names_find_what_they_read_anew(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The third round takes each file's external names from its first
    pass (the same read) instead of scanning the text again: the same."""
    from lint.trees import small_tree
    from xenpatch.lint import rounds
    from xenpatch.lint.inputs import collect_files
    from xenpatch.lint.run import lint_files

    lint = _FIXTURES / "lint"
    xen = small_tree(tmp_path / "xen", {f"common/{p.name}": p
                                        for p in sorted((lint / "crossfile").glob("*.c"))})
    files = collect_files([xen])
    given: list[bool] = []
    later_rounds = rounds.later_rounds

    def named(a: tuple, k: dict) -> object:  # type: ignore[type-arg]
        return a[9] if len(a) > 9 else k.get("named")

    def told(*a, **k):  # type: ignore[no-untyped-def]
        n = named(a, k)
        given.append(n is not None and any(x is not None for x in n))
        return later_rounds(*a, **k)

    def anew(*a, **k):  # type: ignore[no-untyped-def]
        k.pop("named", None)
        return later_rounds(*a[:9], **k)

    runs = []
    for fake in (told, anew):
        with monkeypatch.context() as m:
            m.setenv("XENPATCH_CACHE", str(tmp_path / f"cache-{fake.__name__}"))
            m.setattr(rounds, "later_rounds", fake)
            runs.append(lint_files(files, jobs=1))
    assert given == [True]
    assert any(r.findings for r in runs[0])
    assert runs[0] == runs[1]


def _defined_both_ways(xen: Path) -> tuple[set[str], set[str]]:
    """irqcalls._defined_once() over a tree, reading every file and given
    each C file's external names (what a whole-tree run's first passes
    read): the same."""
    from xenpatch.lint import irqcalls
    from xenpatch.lint.inputs import tree_sources
    from xenpatch.lint.nameindex import external_names

    defined = {irqcalls.absolute(p): frozenset(external_names(p.read_bytes()))
               for p in tree_sources(irqcalls.absolute(xen)) if p.suffix == ".c"}
    every = sorted(set().union(*defined.values()))
    # Names defined once, more than once (each architecture's), and never.
    names = set(every[::7]) | {"main", "no_such_function", "memcpy"}
    root = irqcalls.absolute(xen)
    return irqcalls._defined_once(root, names), irqcalls._defined_once(root, names, defined)


def test_defined_once_given_the_names_read_finds_what_it_reads() -> None:
    a, b = _defined_both_ways(_FIXTURES / "xen" / "xen")
    assert a and a == b


def test_defined_once_given_the_names_read_finds_what_it_reads_on_xen(xen417: Path) -> None:
    a, b = _defined_both_ways(xen417 / "xen")
    assert len(a) > 100 and a == b


def test_displays_equal_display_per_file(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """collect_files()'s display names, each directory resolved once, are
    display()'s: through a symlinked folder and file, inside the working
    directory and outside it."""
    from xenpatch.lint.inputs import _Displays, display

    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "x.c").write_text("int x;\n")
    (tree / "a" / "b" / "y.h").write_text("int y;\n")
    (tree / "link").symlink_to(tree / "a" / "b")
    (tree / "z.c").symlink_to(tree / "a" / "x.c")
    other = tmp_path / "other"
    other.mkdir()
    files = sorted([*tree.rglob("*.c"), *tree.rglob("*.h")])
    assert len(files) >= 3
    for cwd in (tree, tree / "a", other):
        monkeypatch.chdir(cwd)
        for root in (tree, Path(".")):
            fs = sorted([*root.rglob("*.c"), *root.rglob("*.h")])
            shown = _Displays()
            assert [shown(f) for f in fs] == [display(f) for f in fs]


# -- ahead_states(): a worklist for what was one sweep of the CFG per settled node


def _ahead_by_sweeps(cfg, acts) -> dict[int, str]:
    """ahead_states() as first written: sweep the CFG backwards until no
    node settles (the reference the worklist must equal)."""
    from xenpatch.analysis.irqtakes import _MOVED, ahead_seeds
    from xenpatch.c.cfg import Kind

    if not cfg.complete:
        return {}
    # The same start as the worklist's: the sweep is what is compared.
    val = ahead_seeds(cfg, acts)
    more = True
    while more:
        more = False
        for node in reversed(cfg.nodes):
            if node.id in val or node.kind == Kind.ABORT:
                continue
            succ = [s for s in node.succ if cfg.nodes[s].kind != Kind.ABORT]
            if not succ:
                if not node.succ or all(s in val or cfg.nodes[s].kind == Kind.ABORT
                                        for s in node.succ):
                    val[node.id] = _MOVED
                    more = True
                continue
            if any(s not in val for s in succ):
                continue
            vs = {val[s] for s in succ}
            val[node.id] = vs.pop() if len(vs) == 1 else _MOVED
            more = True
    return {n: v for n, v in val.items() if v != _MOVED}


def test_ahead_states_equals_the_sweeps_on_every_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    from xenpatch.analysis import irqtakes
    from xenpatch.lint import irqsafe, irqwitness
    from xenpatch.lint.run import lint_files

    asked: list[int] = []
    stated: list[int] = []

    def both(cfg, acts):
        got = irqtakes.ahead_states(cfg, acts)
        assert got == _ahead_by_sweeps(cfg, acts)
        asked.append(len(cfg.nodes))
        stated.append(len(got))
        return got

    monkeypatch.setattr(irqsafe, "ahead_states", both)
    monkeypatch.setattr(irqwitness, "ahead_states", both)
    files = sorted(_FIXTURES.rglob("*.c"))
    lint_files([(f, f.name) for f in files], jobs=1, tree=False)
    # Asked of many functions, and some of them state a state ahead.
    assert len(asked) > 50 and sum(stated) > 0
