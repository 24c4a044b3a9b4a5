"""Where an [irqcallback] API takes its function, read from the tree's own
declarations (xenpatch/analysis/cbargs.py): fixtures/lint/irqcbarg/, a
tree whose request_irq() takes the handler as argument 1 (as Xen's did
until 2014; the rules' fallback index is 2), a file wrapping it in a macro
of its own, and a tree whose declaration names no parameter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xenpatch.analysis import cbargs
from xenpatch.analysis.irqstate import load_irq_table
from xenpatch.analysis.locktable import LockTableError
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.paths import fixtures_dir

ROOT = fixtures_dir() / "lint" / "irqcbarg"
_EXPECT = re.compile(r"expect:\s*([A-Z0-9, ]+?)\s*\*/")


@pytest.fixture(scope="module")
def config() -> LintConfig:
    return LintConfig.load()


def _expected(path: Path) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        for m in _EXPECT.finditer(line):
            out.extend((n, x.strip()) for x in m.group(1).split(",") if x.strip())
    return sorted(out)


@pytest.mark.parametrize("rel", ["named/arch/intc.c", "named/arch/wrapped.c",
                                 "unnamed/arch/intc.c"])
def test_fixture(config: LintConfig, rel: str) -> None:
    """The handler of the old-order API is entered with IRQs on (its plain
    take against the other path's IRQs-off one: XL017); through the file's
    own macro too; with a declaration naming no parameter, unknown."""
    path = ROOT / rel
    result = lint_file(path, rel, config)
    assert result.error is None
    assert sorted((f.line, f.check) for f in result.findings) == _expected(path)


def test_index_from_the_declarations(config: LintConfig) -> None:
    named = ROOT / "named"
    raw = (named / "arch" / "intc.c").read_bytes()
    got = cbargs.callback_args(config.irq, named, "x86", named / "arch", raw)
    assert got["request_irq"] == (1, "on")
    # APIs the tree does not declare keep the rules' index.
    assert got["init_timer"] == config.irq.callbacks["init_timer"]
    wrapped = (named / "arch" / "wrapped.c").read_bytes()
    got = cbargs.callback_args(config.irq, named, "x86", named / "arch", wrapped)
    assert got["request_irq"] == (1, "on")
    unnamed = ROOT / "unnamed"
    got = cbargs.callback_args(config.irq, unnamed, "x86", unnamed / "arch",
                               (unnamed / "arch" / "intc.c").read_bytes())
    assert "request_irq" not in got


@pytest.mark.parametrize(("text", "names"), [
    (b"unsigned int irq, void (*handler)(int, void *), const char *name",
     ("irq", "handler", "name")),
    (b"struct tasklet *t, void (*func)(void *data), void *data", ("t", "func", "data")),
    (b"unsigned int, void (*)(int), unsigned long", (None, None, None)),
    (b"void", ()),
    (b"const char *fmt, ...", ("fmt", None)),
])
def test_parameter_names(text: bytes, names: tuple[str | None, ...]) -> None:
    assert cbargs.parameter_names(text) == names


def test_calls_are_no_declarations() -> None:
    raw = b"""
#ifdef CONFIG_X
    run_it(a, fn, b);
#endif
static inline void f(void)
{
    return run_it(a, fn, b);
}
int x = run_it(a, fn, b);
if ( y ) run_it(a, fn, b);
extern int __init run_it(int a, void (*fn)(void), int b);
"""
    assert cbargs.functions(raw, frozenset({"run_it"})) == {"run_it": [("a", "fn", "b")]}


def test_the_table_takes_param_or_arg(tmp_path: Path) -> None:
    p = tmp_path / "locks.toml"
    p.write_text('[irqcallback.run_it]\nstate = "on"\n')
    with pytest.raises(LockTableError, match="irqcallback.run_it"):
        load_irq_table(p)
    p.write_text('[irqcallback.run_it]\nparam = "1fn"\nstate = "on"\n')
    with pytest.raises(LockTableError, match="irqcallback.run_it"):
        load_irq_table(p)
    p.write_text('[irqcallback.run_it]\nparam = "fn"\nstate = "on"\n')
    table = load_irq_table(p)
    assert table.params == {"run_it": "fn"} and table.callbacks == {"run_it": (-1, "on")}
    # No declaration and no fallback index: unknown.
    assert cbargs.callback_args(table, None, None, None, b"") == {}


def test_arches_bound_the_fact(tmp_path: Path, config: LintConfig) -> None:
    """An entry naming the architectures whose code states the callback's
    state holds in their files only: another architecture's are unknown."""
    named = ROOT / "named"
    raw = (named / "arch" / "intc.c").read_bytes()
    assert "request_irq" in cbargs.callback_args(config.irq, named, "arm", None, raw)
    assert "request_irq" not in cbargs.callback_args(config.irq, named, "powerpc", None, raw)
    p = tmp_path / "locks.toml"
    p.write_text('[irqcallback.run_it]\narg = 0\nstate = "on"\narches = "x86"\n')
    with pytest.raises(LockTableError, match="arches"):
        load_irq_table(p)
