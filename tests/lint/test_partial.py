"""A callee file's summaries of some names (partial.py, what the lazy plan
asks) are what its full lint exports of them, name for name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.analysis.irqdemand import NEED
from xenpatch.analysis.irqentry import FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import filelint, nameindex
from xenpatch.lint.calleesummaries import summaries_of_text
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_file
from xenpatch.lint.lazy import Plan
from xenpatch.lint.partial import exports_of
from xenpatch.lint.treecache import TreeCache
from xenpatch.paths import rules_dir

CONFIG = LintConfig.load()
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lint" / "partial"


def _full(path: Path, names: frozenset[str]) -> dict[str, Summary]:
    """The full lint's exports of ``names``."""
    r = lint_file(path, str(path), CONFIG)
    # A name's demand (irqdemand.NEED) goes with its summary.
    return {n: s for n, s in r.exports.items()
            if n.removeprefix(NEED) in names and not n.startswith(FIELD_KEY)}


def _partial(path: Path, names: frozenset[str]) -> dict[str, Summary]:
    """What the lazy plan is given (workers.summaries())."""
    _, got = summaries_of_text(path, path.read_bytes(), CONFIG, names)
    return {n: s for n, s in got.items() if n in names}


@pytest.mark.parametrize(("name", "asked", "effect"), [
    # Called by a file-mate the excerpt cuts away: a helper by design.
    ("called.c", "table_fill", "acquire"),
    # Defined twice: the last definition's summary.
    ("twice.c", "pool_put", "take"),
    # Its body does not parse: analysed not, exported not.
    ("skipped.c", "log_take", None),
    # Defined twice, one definition calling it again, and a caller the
    # excerpt cuts away asking for it first (found by test_generated_files).
    ("twice_recursive.c", "ring_grow", "acquire"),
])
def test_fixture_summaries_are_the_full_lints(name: str, asked: str, effect: str | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / name
    names = frozenset([asked])
    full = _full(path, names)

    def no_full_lint(*args: object, **kwargs: object) -> None:
        raise AssertionError("the partial answer ran the full lint")

    # Nor is the answer the full lint's own (a name defined twice was).
    with monkeypatch.context() as m:
        m.setattr(filelint, "lint_source", no_full_lint)
        got = _partial(path, names)
    assert got == full
    # Not vacuous: each is a case the partial answer once got wrong.
    assert [e.action for e in full[asked].effects] == [effect] if effect else asked not in full


def test_fixture_files_whatever_is_asked() -> None:
    for path in sorted(FIXTURES.glob("*.c")):
        raw = path.read_bytes()
        names = sorted({d.name for d in nameindex.definitions(raw)})
        for asked in [frozenset(names), *(frozenset([n]) for n in names)]:
            assert exports_of(path, raw, CONFIG, asked) == _full(path, asked), (path, asked)


_OPS = [b"spin_lock(&l%d);", b"spin_unlock(&l%d);", b"if ( spin_trylock(&l%d) ) return 1;",
        b"x += %d;", b"if ( x ) return x;"]


@st.composite
def _programs(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Functions calling each other (any call graph, cycles too), taking and
    dropping locks, some static, some through a macro, some defined twice
    under #ifdef, some named like lock helpers and some not."""
    n = draw(st.integers(2, 7))
    out = [b"static DEFINE_SPINLOCK(l0);\nstatic DEFINE_SPINLOCK(l1);\n"
           b"#define CALL_F0() f0(0)\n"]
    names = [f"{draw(st.sampled_from(['f', 'get_f']))}{i}" for i in range(n)]
    for i in range(n):
        static = draw(st.booleans())
        out.append(b"int %s(int x);\n" % names[i].encode())
        defs = []
        for _ in range(draw(st.integers(1, 2))):
            stmts = []
            for _ in range(draw(st.integers(0, 4))):
                if draw(st.booleans()):
                    j = draw(st.integers(0, n - 1))
                    stmts.append(b"CALL_F0();" if j == 0 and names[0] == "f0" and draw(
                        st.booleans()) else b"%s(x);" % names[j].encode())
                else:
                    op = draw(st.sampled_from(_OPS))
                    stmts.append(op % draw(st.integers(0, 1)) if b"%d" in op else op)
            body = b"".join(b"    " + s + b"\n" for s in stmts)
            defs.append(b"%sint %s(int x)\n{\n%s    return 0;\n}\n"
                        % (b"static " if static else b"", names[i].encode(), body))
        if len(defs) == 1:
            out.append(defs[0] + b"\n")
        else:
            out.append(b"#ifdef CONFIG_A\n" + defs[0] + b"#else\n" + defs[1] + b"#endif\n\n")
    asked = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return b"".join(out), asked


@settings(max_examples=80, deadline=None)
@given(_programs())
def test_generated_files(tmp_path_factory: pytest.TempPathFactory,
                         prog: tuple[bytes, list[str]]) -> None:
    raw, asked = prog
    p = tmp_path_factory.mktemp("gen") / "g.c"
    p.write_bytes(raw)
    names = frozenset(asked)
    assert exports_of(p, raw, CONFIG, names) == _full(p, names)


@pytest.mark.xen
def test_xen_417_plan_files(xen417: Path, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The files whose summaries linting common/grant_table.c alone asks
    for (the bench's single file): what the plan is given of each is its
    full lint's, and what all their exported names are too."""
    xen = xen417 / "xen"
    monkeypatch.setenv("XENPATCH_CACHE", str(tmp_path))
    plan = Plan(TreeCache.open(xen, rules_dir()), lambda: CONFIG)
    target = "common/grant_table.c"
    todo = plan.wanted(plan.needed(target, xen / target), {target})
    assert len(todo) >= 10 and "common/page_alloc.c" in todo
    exported = 0
    for rel, names in sorted(todo.items()):
        path = xen / rel
        assert _partial(path, names) == _full(path, names), rel
        every = frozenset(n for n in lint_file(path, rel, CONFIG).exports
                          if not n.startswith(FIELD_KEY))
        got = exports_of(path, path.read_bytes(), CONFIG, every)
        assert got == _full(path, every), rel
        exported += len(got)
    assert exported >= 20
