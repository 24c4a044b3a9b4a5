"""The package's layering, read from every module's imports (ast).

    xenpatch.cli                       the command line: may import anything
    lint  rewrite  runtime  series     tools: each its own, never another's insides
    cost
    analysis                           the general C analysis of lock use
    c                                  C source: parsing, masking, CFG, types
    rules  paths  templating  cachefiles   data and helpers every layer may use
    plaintext
    methodcode

Arrows only point down; within a package any import is allowed, but no
module-level import cycle anywhere.  Function-level imports count for the
layers (they are dependencies all the same) but not for cycles (they run
after every module is loaded).  Imports under ``if TYPE_CHECKING:`` never
run, and still say which module's types another needs: they may not close
a cycle either (runtime/state.py holds what ctx.py and locks.py would
otherwise name from machine.py, which imports them).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from xenpatch.graphs import sccs

PKG = Path(__file__).resolve().parent.parent / "xenpatch"

BASE = {"xenpatch", "xenpatch.graphs", "xenpatch.rules", "xenpatch.paths",
        "xenpatch.templating", "xenpatch.errors", "xenpatch.cachefiles",
        # what plain text (a header's value, a rule's) may hold
        "xenpatch.plaintext",
        # dataclasses' generated methods, compiled once: the package's
        # __init__ installs it before any module makes a class.
        "xenpatch.methodcode"}
# Writing files and talking to git: every tool may use them, no analysis does.
IO = {"xenpatch.git", "xenpatch.journal", "xenpatch.recovery"}
TOOLS = ("lint", "rewrite", "runtime", "series", "cost")

# Tool-to-tool imports that are part of a public seam, with the reason.
ALLOWED = {
    # `series --check` lints the series through the lint's library call.
    ("xenpatch.series.check", "xenpatch.lint.api"),
    # `rewrite` lints the files it converts, before and after, through the
    # same call, and prints the findings the conversion adds as the lint does.
    ("xenpatch.rewrite.recheck", "xenpatch.lint.api"),
    ("xenpatch.rewrite.cli", "xenpatch.lint.api"),
    # `difftest` converts the tree with the rewrite's public run API and
    # reads its Result (the plan's sites, the old and new texts).
    ("xenpatch.runtime.difftest_cli", "xenpatch.rewrite.run"),
    # `rewrite --commit` renders its message with the one commit-message
    # renderer (templates/commit-message.j2), which the series owns.
    ("xenpatch.rewrite.cli", "xenpatch.series.message"),
    # `cost` runs the runtime's lock models, unchanged, through its line
    # model: it observes their accesses with a Ctx subclass (the machine's
    # ctx_type hook) and builds the lock programs they run.
    ("xenpatch.cost.record", "xenpatch.runtime.machine"),
    ("xenpatch.cost.record", "xenpatch.runtime.ctx"),
    ("xenpatch.cost.counts", "xenpatch.runtime.machine"),
    ("xenpatch.cost.counts", "xenpatch.runtime.programs"),
    ("xenpatch.cost.throughput", "xenpatch.runtime.machine"),
    ("xenpatch.cost.report", "xenpatch.runtime.machine"),
    # `cost --rule` takes the lock's read/write mix from the difftest's lock
    # programs (which need the rewrite's plan of the conversion, as the
    # difftest does) and the tree's era.
    ("xenpatch.cost.mix", "xenpatch.runtime.conversion"),
    ("xenpatch.cost.mix", "xenpatch.runtime.era"),
    ("xenpatch.cost.mix", "xenpatch.rewrite.run"),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(source: str, name: str, is_package: bool,
            known: set[str], types: bool = False) -> list[tuple[str, bool]]:
    """(imported xenpatch module, at module level?) for each import in the
    source, including ``importlib.import_module("...")`` with a literal.
    ``from P import x`` is P.x when that is a module, else P.  Imports
    under ``if TYPE_CHECKING:`` are left out (they never run) unless
    ``types``."""
    tree = ast.parse(source)
    out: list[tuple[str, bool]] = []
    package = name if is_package else name.rpartition(".")[0]

    def add(mod: str, top: bool) -> None:
        if mod == "xenpatch" or mod.startswith("xenpatch."):
            out.append((mod, top))

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not types:
            for other in node.orelse:
                visit(other, top)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, top)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                sub = f"{base}.{a.name}"
                add(sub if sub in known else base, top)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if fn == "import_module" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                add(node.args[0].value, top)
        inner = top and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return out


@cache
def load_graph(types: bool = False) -> dict[str, list[tuple[str, bool]]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    known = set(files)
    return {
        name: imports(p.read_text(encoding="utf-8"), name, p.name == "__init__.py", known,
                      types)
        for name, p in sorted(files.items())
    }


def layer(mod: str) -> str:
    """The layer of a module: "base", "c", "analysis", "io", a tool, or "cli"."""
    if mod in BASE:
        return "base"
    parts = mod.split(".")
    if mod == "xenpatch.cli":
        return "cli"
    if mod in IO or mod.startswith("xenpatch.git."):
        return "io"
    return parts[1] if len(parts) > 1 else "base"


def violations(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    bad: list[str] = []
    for mod, deps in graph.items():
        me = layer(mod)
        for dep, _top in deps:
            other = layer(dep)
            if other == me or other == "base" or me == "cli":
                continue
            if me == "base":
                bad.append(f"{mod} -> {dep}: rules, paths and templating import no layer")
            elif me == "c":
                bad.append(f"{mod} -> {dep}: c/ imports nothing of xenpatch above it")
            elif me == "io":
                bad.append(f"{mod} -> {dep}: git and the journal import only the base modules")
            elif me == "analysis" and other != "c":
                bad.append(f"{mod} -> {dep}: analysis/ imports only c/ and the base modules")
            elif me in TOOLS and other not in ("c", "analysis", "io") and (mod, dep) not in ALLOWED:
                bad.append(f"{mod} -> {dep}: {me}/ does not import {other}/")
    return bad


def cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Module-level import cycles (Tarjan's strongly connected components)."""
    edges = {m: sorted({d for d, top in deps if top and d in graph and d != m})
             for m, deps in graph.items()}
    return [sorted(c) for c in sccs(edges, edges.__getitem__) if len(c) > 1]


def test_the_graph_is_read():
    graph = load_graph()
    assert len(graph) > 50
    deps = {d for d, _ in graph["xenpatch.lint.filelint"]}
    assert "xenpatch.analysis.fileanalysis" in deps
    assert ("xenpatch.lint.api", False) in graph["xenpatch.series.check"]


def test_arrows_only_point_down():
    assert violations(load_graph()) == []


def test_no_import_cycles():
    assert cycles(load_graph()) == []


def test_no_cycles_of_type_imports_either():
    assert cycles(load_graph(types=True)) == []


def test_type_imports_are_read():
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from xenpatch.c import cfg\n"
    known = {"xenpatch.c", "xenpatch.c.cfg"}
    assert imports(src, "xenpatch.x", False, known) == []
    assert imports(src, "xenpatch.x", False, known, types=True) == [("xenpatch.c.cfg", True)]


def test_every_allowed_exception_is_used():
    graph = load_graph()
    used = {(m, d) for m, deps in graph.items() for d, _ in deps}
    assert used >= ALLOWED, ALLOWED - used


BAD_IMPORTS = [
    ("analysis/summaries.py", "from xenpatch.lint.checks import CHECKS\n", "analysis/"),
    ("analysis/dataflow.py", "import xenpatch.runtime.programs\n", "analysis/"),
    ("c/cfg.py", "from xenpatch.analysis import values\n", "c/"),
    ("lint/leaks.py", "from xenpatch.rewrite.plan import build_plan\n", "lint/"),
    ("runtime/cprograms.py", "from xenpatch.lint.findings import Finding\n", "runtime/"),
    ("rules.py", "from xenpatch.c.source import SourceFile\n", "rules, paths"),
]


def _with_source(where: str, edit) -> dict[str, list[tuple[str, bool]]]:
    """The package's graph with one module's source edited."""
    graph = dict(load_graph())
    path = PKG / where
    name = module_name(path)
    text = edit(path.read_text(encoding="utf-8"))
    graph[name] = imports(text, name, path.name == "__init__.py", set(graph))
    return graph


@pytest.mark.parametrize(("where", "line", "said"), BAD_IMPORTS)
def test_a_bad_import_is_caught(where: str, line: str, said: str):
    """The check fails on the package with one bad import added."""
    bad = violations(_with_source(where, lambda t: line + t))
    assert len(bad) == 1 and said in bad[0], bad


def test_a_cycle_is_caught():
    # Inside one layer, so only the cycle check can see it.
    graph = _with_source("analysis/lockkeys.py",
                         lambda t: "from xenpatch.analysis import fileanalysis\n" + t)
    assert violations(graph) == []
    found = cycles(graph)
    assert found and any("xenpatch.analysis.lockkeys" in c for c in found), found


def test_a_function_level_import_is_no_cycle():
    """A lazy import runs after both modules are loaded: no cycle."""
    graph = _with_source("analysis/lockkeys.py", lambda t: t + (
        "\n\ndef _late():\n    from xenpatch.analysis import fileanalysis\n"
        "    return fileanalysis\n"))
    assert ("xenpatch.analysis.fileanalysis", False) in graph["xenpatch.analysis.lockkeys"]
    assert cycles(graph) == []


def test_type_checking_imports_are_left_out():
    graph = _with_source("analysis/lockkeys.py", lambda t: (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from xenpatch.lint.findings import Finding\n" + t))
    assert violations(graph) == []


def test_no_import_cycles_at_all():
    """No import cycle anywhere, function-level imports included (once.py
    took the lint function and the configuration from run.py, passes.py
    its configuration loader, machine.py the lock routines that took its
    layouts: each now gets what it shares from a leaf, or is handed it)."""
    graph = load_graph()
    edges = {m: sorted({d for d, _ in deps if d in graph and d != m})
             for m, deps in graph.items()}
    cycles = [sorted(c) for c in sccs(edges, edges.__getitem__) if len(c) > 1]
    assert cycles == []
