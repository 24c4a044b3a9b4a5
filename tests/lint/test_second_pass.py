"""The second pass's choice of files (workers.again): what is derived once per
run (the exports' split, what reaches them through the headers, the
exports sent to the workers once) chooses as the per-file derivation did."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xenpatch.analysis.headers import header_index
from xenpatch.analysis.irqentry import LOCKS_KEY
from xenpatch.lint import treeexports, workers
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.reaching import calls_any, reaching_names
from xenpatch.lint.shipping import Shipped, to_workers
from xenpatch.paths import fixtures_dir

TREE = fixtures_dir() / "lint" / "crossfile"
HELPERS = [f"helper{i}" for i in range(4)]
INLINES = [f"inl{i}" for i in range(4)]
MACROS = [f"MAC{i}" for i in range(3)]


def _tree(root: Path, bodies: dict[str, list[str]], macros: dict[str, str],
          uses: list[str]) -> Path:
    """A Xen tree whose header has inlines calling ``bodies`` and macros
    expanding to a call of ``macros``, and a C file calling ``uses``."""
    inc = root / "xen" / "include" / "xen"
    inc.mkdir(parents=True)
    # The index needs the tree's spinlock.h, and reads a header that names a lock.
    text = "static inline void locker(spinlock_t *l)\n{\n    spin_lock(l);\n}\n"
    text += "".join(f"#define {m}(x) {t}(x)\n" for m, t in macros.items())
    text += "".join(
        f"static inline void {n}(int x)\n{{\n" + "".join(f"    {c}(x);\n" for c in calls)
        + "}\n" for n, calls in bodies.items())
    (inc / "spinlock.h").write_text(text)
    c = root / "xen" / "common" / "user.c"
    c.parent.mkdir(parents=True)
    c.write_text("void user(int x)\n{\n" + "".join(f"    {u}(x);\n" for u in uses) + "}\n")
    return c


_name = st.sampled_from(HELPERS + INLINES + MACROS)


@settings(max_examples=150, deadline=None)
@example(bodies={"inl0": ["helper0"], "inl1": [], "inl2": [], "inl3": []},
         macros={"MAC0": "helper1", "MAC1": "helper1", "MAC2": "helper1"}, uses=["inl0"],
         among={"helper0", "helper1"}, left_out={"helper0"})
@given(bodies=st.fixed_dictionaries({n: st.lists(_name, max_size=3) for n in INLINES}),
       macros=st.fixed_dictionaries({m: st.sampled_from(HELPERS + INLINES) for m in MACROS}),
       uses=st.lists(_name, max_size=4),
       among=st.sets(st.sampled_from(HELPERS + INLINES + MACROS)),
       left_out=st.sets(st.sampled_from(HELPERS + INLINES + MACROS)))
def test_names_among_a_wider_set_are_called_as_alone(
        bodies: dict[str, list[str]], macros: dict[str, str], uses: list[str],
        among: set[str], left_out: set[str]) -> None:
    # The wider set's closure is derived once; a file calls one of the
    # names if a name it uses reaches one of them, not just one of the
    # wider set (a file's own helpers are left out of what it is asked).
    with tempfile.TemporaryDirectory() as d:
        c = _tree(Path(d), bodies, macros, uses)
        names = frozenset(among - left_out)
        wide = frozenset(among)
        assert calls_any(c, names, among=wide) == calls_any(c, names)
        # And the cheap test is not vacuous: what the file names decides.
        reach = reaching_names(header_index(c), names)
        assert calls_any(c, names) == any(u.encode() in reach for u in uses)
        assert set(header_index(c).inlines) >= set(INLINES)


def test_a_name_reached_only_through_a_left_out_one_is_not_called(tmp_path: Path) -> None:
    # inl0 reaches helper0 only; the file calls inl0: asked for helper1
    # among both, the wider set's closure holds inl0, the answer is no.
    c = _tree(tmp_path, {"inl0": ["helper0"]}, {}, ["inl0"])
    wide = frozenset({"helper0", "helper1"})
    assert calls_any(c, frozenset({"helper0"}), among=wide)
    assert not calls_any(c, frozenset({"helper1"}), among=wide)


def test_the_exports_sent_once_choose_and_lint_as_the_dict() -> None:
    heap, user = TREE / "heap.c", TREE / "heap_user.c"
    config = LintConfig.load()
    exports = dict(lint_file(heap, heap.name, config).exports)
    first = lint_file(user, user.name, config)
    workers.init(None)
    tree = treeexports.TreeExports.of(exports)
    assert tree.takers and tree.takers.keys() | tree.others == {
        n for n in exports if not n.startswith(("field:", LOCKS_KEY))}

    def found(ex: object) -> object:
        r = workers.again((user, user.name), frozenset(), ex, None,  # type: ignore[arg-type]
                       first.held_calls)
        return None if r is None else sorted((f.line, f.check, f.message) for f in r.findings)

    want = found(exports)
    assert want  # the other file's helpers change the verdict here
    assert found(tree) == want
    with to_workers(tree, lambda *a: iter(())) as sent:
        assert isinstance(sent, Shipped) and Path(sent.path).exists()
        assert found(sent) == want
    assert not Path(sent.path).exists()
    # A file calling none of the helpers keeps its first pass.
    assert workers.again((heap, heap.name), frozenset(exports), tree, None,
                      frozenset()) is None


def _dirs_of_c_files() -> list[Path]:
    return sorted({p.parent for p in (fixtures_dir() / "lint").rglob("*.c")})


@pytest.mark.parametrize("where", _dirs_of_c_files(), ids=lambda p: p.name)
def test_a_second_pass_for_findings_only_finds_what_a_full_one_does(where: Path) -> None:
    # The second pass leaves out what only the first pass's result is asked
    # (held_calls, the field call states among the exports): what it
    # reports must be what the full lint with the same summaries reports.
    config = LintConfig.load()
    files = sorted(where.glob("*.c"))
    exports = treeexports.tree_exports(lint_file(p, p.name, config).exports for p in files)
    for p in files:
        full = lint_file(p, p.name, config, exports)
        part = lint_file(p, p.name, config, exports, findings_only=True)
        assert (part.findings, part.unknown, part.skipped, part.analysed, part.functions,
                part.parsed, part.error) == (full.findings, full.unknown, full.skipped,
                                             full.analysed, full.functions, full.parsed,
                                             full.error)
