"""Witness paths against concrete runs, on random functions of one int.

Random functions of an int x (a local ``y`` set from constants, nested
if/else on ``x`` or ``y`` against small constants, lock, unlock, early
returns) are run for every x in a range that decides every test; what the
runs do wrong is the oracle.  The checker must report exactly those: each
of them (its tests of x and y guarding lock operations are tracked), and
nothing else (a finding reached only by paths whose tests of x and y
contradict each other is none: y is set from constants and x is tested
against several).  And the path it shows for each must be the branches
of one concrete run, from the lock taken (or the entry) to the finding:
the tests it shows agree with each other even where they guard no lock
(analysis/sidefacts.py, analysis/witnesspaths.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lint.snippets import if_else
from xenpatch.c.source import parse_bytes
from xenpatch.lint.config import LintConfig
from xenpatch.lint.filelint import lint_source

CONFIG = LintConfig.load()
XS = range(-4, 5)  # the constants are in [-2, 2]: these decide every test
_BRANCH = re.compile(r"'(x|y) (==|!=|<|>) (-?\d+)' is (true|false)")


@dataclass(eq=False)
class Leaf:
    kind: str  # "lock", "unlock", "ret", "set"
    k: int = 0


@dataclass(eq=False)
class If:
    var: str
    op: str
    k: int
    then: tuple
    other: tuple


_simple = st.sampled_from([("lock",), ("unlock",), ("ret",), ("set", 1), ("set", 2)])


def _stmts(depth: int) -> st.SearchStrategy[tuple]:
    leaf = _simple
    if depth == 0:
        return st.lists(leaf, min_size=1, max_size=3).map(tuple)
    node = st.builds(If, st.sampled_from(["x", "x", "y"]), st.sampled_from(["==", "!=", "<", ">"]),
                     st.integers(-2, 2), _stmts(depth - 1), _stmts(depth - 1))
    return st.lists(st.one_of(leaf, node), min_size=1, max_size=4).map(tuple)


def render(body: tuple) -> tuple[str, dict[int, object]]:
    """The C text, and per line the statement or If on it."""
    # void, and x no parameter: a function returning 0 holding the lock and
    # -1 not, or holding it on a parameter's say, is a lock helper by
    # design (summaries.py), not a leak.
    lines = ["static DEFINE_SPINLOCK(lk);", "int pick(void);", "void f(void)", "{",
             "    int x = pick();", "    int y = 0;", ""]
    at: dict[int, object] = {}

    def emit(stmts: tuple, ind: str) -> None:
        for s in stmts:
            if isinstance(s, If):
                at[if_else(lines, ind, f"{s.var} {s.op} {s.k}",
                           partial(emit, s.then), partial(emit, s.other))] = s
            else:
                text = {"lock": "spin_lock(&lk);", "unlock": "spin_unlock(&lk);",
                        "ret": "return;"}.get(s.kind, f"y = {s.k};")
                lines.append(ind + text)
                at[len(lines)] = s

    emit(body, "    ")
    lines.append("    return;")
    at[len(lines)] = Leaf("end")
    lines.append("}")
    return "\n".join(lines) + "\n", at


def _holds(op: str, a: int, b: int) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, ">": a > b}[op]


def run(body: tuple, at: dict[int, object], x: int) -> list[tuple[int, str]]:
    """One run's events in order: ("T"/"F" at a test's line, "lock" at a
    take, and the wrong moves "XL001" (return holding), "XL002" (release
    not held), "XL010" (take held)); it stops at its return, or at a take
    of the lock it holds (a deadlock)."""
    line_of = {id(v): k for k, v in at.items()}
    assert len(line_of) == len(at)
    out: list[tuple[int, str]] = []
    env = {"x": x, "y": 0}
    held = False

    class Returned(Exception):
        pass

    def go(stmts: tuple) -> None:
        nonlocal held
        for s in stmts:
            line = line_of[id(s)]
            if isinstance(s, If):
                ok = _holds(s.op, env[s.var], s.k)
                out.append((line, "T" if ok else "F"))
                go(s.then if ok else s.other)
            elif s.kind == "lock":
                if held:
                    out.append((line, "XL010"))
                    raise Returned  # it deadlocks: nothing after runs
                held = True
                out.append((line, "lock"))
            elif s.kind == "unlock":
                if not held:
                    out.append((line, "XL002"))
                held = False
            elif s.kind == "set":
                env["y"] = s.k
            else:
                if held:
                    out.append((line, "XL001"))
                raise Returned

    try:
        go(body)
        if held:
            out.append((max(at), "XL001"))
    except Returned:
        pass
    return out


def _shown(notes: list[str]) -> list[str]:
    return ["T" if m.group(4) == "true" else "F" for n in notes if (m := _BRANCH.fullmatch(n))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stmts(3))
def test_each_wrong_move_is_reported_along_the_branches_of_a_run(body: tuple) -> None:
    # Taken first: a release before any take here would be the caller's
    # lock's (an unlock helper), which the checker does not report.
    body = _fresh((("lock",), *body))
    text, at = render(body)
    runs = {x: run(body, at, x) for x in XS}
    wanted = {(line, ev) for r in runs.values() for line, ev in r if ev.startswith("XL")}
    src = parse_bytes("gen.c", text.encode(), CONFIG.macros)
    result = lint_source(src, CONFIG, None)
    got = {(f.line, f.check): f for f in result.findings}
    assert set(got) <= wanted, (sorted(set(got) - wanted), text)
    for line, ev in wanted:
        assert (line, ev) in got, (line, ev, text)
        f = got[(line, ev)]
        notes = [s.note for s in f.flow]
        shown = [(s.line, v) for s, v in zip(
            [s for s in f.flow if _BRANCH.fullmatch(s.note)], _shown(notes), strict=True)]
        assert any(_matches(r, line, ev, shown, f.flow) for r in runs.values()), (
            line, ev, notes, text)


def _matches(r: list[tuple[int, str]], line: int, ev: str, shown: list[tuple[int, str]],
             flow) -> bool:
    """Does run r make the wrong move ``ev`` at ``line`` after exactly the
    branches shown (from the take the path starts at, if it starts at one)?"""
    for i, e in enumerate(r):
        if e != (line, ev):
            continue
        before = r[:i]
        start = 0
        if flow and flow[0].note.endswith("taken here"):
            takes = [j for j, b in enumerate(before) if b == (flow[0].line, "lock")]
            if not takes:
                continue
            start = takes[-1]
        branches = [b for b in before[start:] if b[1] in ("T", "F")]
        if branches == shown:
            return True
    return False


def _fresh(body: tuple) -> tuple:
    """One object per statement (a leaf drawn twice is one tuple)."""
    out: list[object] = []
    for s in body:
        if isinstance(s, If):
            out.append(If(s.var, s.op, s.k, _fresh(s.then), _fresh(s.other)))
        else:
            out.append(Leaf(s[0], s[1] if len(s) > 1 else 0))
    return tuple(out)
