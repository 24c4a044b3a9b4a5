"""Random lock-using C functions, and a brute-force oracle for them.

The oracle shares no code with the checker: it interprets the generated
statement tree directly, enumerating every path (each condition both ways,
each loop up to a bound of iterations), and derives the verdicts the
checker's specification gives:

* a lock whose first operation on some path is a release, and on no path an
  acquire, is held by the caller on entry;
* XL010: acquiring a (non-recursive) lock already held; the path ends there
  (the CPU spins on itself forever);
* XL002: releasing a lock not held;
* XL001: a return (or the closing brace) reached holding a lock the function
  took, named with the line of that exit.  (Generated functions are named
  ``f``, return void and have no helpers or pairs, so nothing is exempt.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from hypothesis import strategies as st

# -- the statement tree ----------------------------------------------------------


@dataclass
class Lock:
    lock: int


@dataclass
class Unlock:
    lock: int


@dataclass
class Work:
    pass


@dataclass
class Return:
    pass


@dataclass
class Break:
    pass


@dataclass
class Continue:
    pass


@dataclass
class Goto:
    label: str


@dataclass
class If:
    then: list
    orelse: list | None


@dataclass
class Loop:
    kind: str  # "while" | "do" | "for"
    body: list


@dataclass
class Switch:
    cases: list  # list of (body, ends_with_break)
    has_default: bool


@dataclass
class Label:
    name: str


# Lines are filled in by render(); conditions are numbered there too.
@dataclass
class Func:
    body: list
    nlocks: int
    lines: dict[int, int] = field(default_factory=dict)  # id(stmt) -> line
    close_line: int = 0


# -- generation ---------------------------------------------------------------------


@st.composite
def statements(draw, nlocks: int, depth: int, in_loop: bool, in_switch: bool) -> list:
    n = draw(st.integers(min_value=1, max_value=4 if depth > 0 else 3))
    out: list = []
    for _ in range(n):
        choices = ["lock", "lock", "unlock", "unlock", "work", "return"]
        if depth > 0:
            choices += ["if", "if", "loop", "switch"]
        if in_loop:
            choices += ["continue"]
        if in_loop or in_switch:
            choices += ["break"]
        kind = draw(st.sampled_from(choices))
        if kind == "lock":
            out.append(Lock(draw(st.integers(0, nlocks - 1))))
        elif kind == "unlock":
            out.append(Unlock(draw(st.integers(0, nlocks - 1))))
        elif kind == "work":
            out.append(Work())
        elif kind == "return":
            out.append(Return())
        elif kind == "break":
            out.append(Break())
        elif kind == "continue":
            out.append(Continue())
        elif kind == "if":
            then = draw(statements(nlocks, depth - 1, in_loop, in_switch))
            orelse = draw(st.none() | statements(nlocks, depth - 1, in_loop, in_switch))
            out.append(If(then, orelse))
        elif kind == "loop":
            body = draw(statements(nlocks, depth - 1, True, False))
            out.append(Loop(draw(st.sampled_from(["while", "do", "for"])), body))
        else:
            ncases = draw(st.integers(1, 3))
            cases = [
                (draw(statements(nlocks, depth - 1, in_loop, True)), draw(st.booleans()))
                for _ in range(ncases)
            ]
            out.append(Switch(cases, draw(st.booleans())))
    return out


@st.composite
def functions(draw) -> Func:
    """A body of top-level statements with labels; gotos only jump forward
    to a label of the top level (Xen's error-exit style)."""
    nlocks = draw(st.integers(2, 3))
    nparts = draw(st.integers(1, 3))
    parts = [draw(statements(nlocks, 2, False, False)) for _ in range(nparts)]
    body: list = []
    labels = [f"out{i}" for i in range(1, nparts)]
    for i, part in enumerate(parts):
        if i > 0:
            body.append(Label(labels[i - 1]))
        later = labels[i:]
        if later:
            _add_gotos(draw, part, later)
        body.extend(part)
    return Func(body, nlocks)


def _add_gotos(draw, stmts: list, labels: list[str]) -> None:
    """Replace some Work/Return statements (at any depth) by gotos."""
    for i, s in enumerate(stmts):
        if isinstance(s, Work | Return) and draw(st.integers(0, 2)) == 0:
            stmts[i] = Goto(draw(st.sampled_from(labels)))
        elif isinstance(s, If):
            _add_gotos(draw, s.then, labels)
            if s.orelse:
                _add_gotos(draw, s.orelse, labels)
        elif isinstance(s, Loop):
            _add_gotos(draw, s.body, labels)
        elif isinstance(s, Switch):
            for body, _ in s.cases:
                _add_gotos(draw, body, labels)


# -- rendering ------------------------------------------------------------------------


def render(fn: Func) -> str:
    lines: list[str] = []
    for i in range(fn.nlocks):
        lines.append(f"static DEFINE_SPINLOCK(lk{i});")
    lines.append("void f(void)")
    lines.append("{")
    counter = [0]

    def cond() -> str:
        counter[0] += 1
        return f"c{counter[0]}"

    def emit(stmts: list, ind: int) -> None:
        pad = "    " * ind
        for s in stmts:
            if isinstance(s, Label):
                lines.append(f" {s.name}:")
                continue
            fn.lines[id(s)] = len(lines) + 1
            if isinstance(s, Lock):
                lines.append(f"{pad}spin_lock(&lk{s.lock});")
            elif isinstance(s, Unlock):
                lines.append(f"{pad}spin_unlock(&lk{s.lock});")
            elif isinstance(s, Work):
                lines.append(f"{pad}work();")
            elif isinstance(s, Return):
                lines.append(f"{pad}return;")
            elif isinstance(s, Break):
                lines.append(f"{pad}break;")
            elif isinstance(s, Continue):
                lines.append(f"{pad}continue;")
            elif isinstance(s, Goto):
                lines.append(f"{pad}goto {s.label};")
            elif isinstance(s, If):
                lines.append(f"{pad}if ( {cond()} )")
                lines.append(f"{pad}{{")
                emit(s.then, ind + 1)
                lines.append(f"{pad}}}")
                if s.orelse is not None:
                    lines.append(f"{pad}else")
                    lines.append(f"{pad}{{")
                    emit(s.orelse, ind + 1)
                    lines.append(f"{pad}}}")
            elif isinstance(s, Loop):
                c = cond()
                if s.kind == "while":
                    lines.append(f"{pad}while ( {c} )")
                elif s.kind == "for":
                    lines.append(f"{pad}for ( ; {c}; )")
                else:
                    lines.append(f"{pad}do")
                lines.append(f"{pad}{{")
                emit(s.body, ind + 1)
                lines.append(f"{pad}}}" + (f" while ( {c} );" if s.kind == "do" else ""))
            elif isinstance(s, Switch):
                lines.append(f"{pad}switch ( {cond()} )")
                lines.append(f"{pad}{{")
                for k, (body, brk) in enumerate(s.cases):
                    last = k == len(s.cases) - 1
                    label = "default:" if s.has_default and last else f"case {k}:"
                    lines.append(f"{pad}{label}")
                    emit(body, ind + 1)
                    if brk:
                        lines.append(f"{pad}    break;")
                lines.append(f"{pad}}}")
    emit(fn.body, 1)
    # A label must label a statement.
    if fn.body and isinstance(fn.body[-1], Label):
        lines.append("    ;")
    fn.close_line = len(lines) + 1
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- the oracle ---------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    op: str  # "lock" | "unlock" | "exit"
    lock: int
    line: int


class _Signal:
    NORMAL = "normal"
    BREAK = "break"
    CONTINUE = "continue"
    RETURN = "return"
    GOTO = "goto"


class TooManyPaths(Exception):
    """The function has more paths than the oracle will enumerate."""


def paths(fn: Func, bound: int, limit: int = 200_000) -> list[list[Event]]:
    """Every path as its lock events and its exit, loops taken 0..bound times."""
    labels = {s.name: i for i, s in enumerate(fn.body) if isinstance(s, Label)}
    out: list[list[Event]] = []
    steps = [0]

    def block(stmts: list, trail: tuple) -> Iterator[tuple[str, object, tuple]]:
        """Yield (signal, payload, events) for each way through stmts."""
        yield from seq(stmts, 0, trail)

    def seq(stmts: list, i: int, trail: tuple) -> Iterator[tuple[str, object, tuple]]:
        steps[0] += 1
        if steps[0] > limit * 20:
            raise TooManyPaths
        if i == len(stmts):
            yield _Signal.NORMAL, None, trail
            return
        for sig, payload, t in one(stmts[i], trail):
            if sig == _Signal.NORMAL:
                yield from seq(stmts, i + 1, t)
            else:
                yield sig, payload, t

    def one(s, trail: tuple) -> Iterator[tuple[str, object, tuple]]:
        line = fn.lines.get(id(s), 0)
        if isinstance(s, Lock):
            yield _Signal.NORMAL, None, (*trail, Event("lock", s.lock, line))
        elif isinstance(s, Unlock):
            yield _Signal.NORMAL, None, (*trail, Event("unlock", s.lock, line))
        elif isinstance(s, Work | Label):
            yield _Signal.NORMAL, None, trail
        elif isinstance(s, Return):
            yield _Signal.RETURN, line, trail
        elif isinstance(s, Break):
            yield _Signal.BREAK, None, trail
        elif isinstance(s, Continue):
            yield _Signal.CONTINUE, None, trail
        elif isinstance(s, Goto):
            yield _Signal.GOTO, s.label, trail
        elif isinstance(s, If):
            yield from block(s.then, trail)
            yield from block(s.orelse or [], trail)
        elif isinstance(s, Loop):
            yield from loop(s, trail, 0)
        elif isinstance(s, Switch):
            starts = list(range(len(s.cases)))
            for k in starts:
                yield from cases(s, k, trail)
            if not s.has_default:
                yield _Signal.NORMAL, None, trail

    def cases(s: Switch, k: int, trail: tuple) -> Iterator[tuple[str, object, tuple]]:
        if k == len(s.cases):
            yield _Signal.NORMAL, None, trail
            return
        body, brk = s.cases[k]
        for sig, payload, t in block(body, trail):
            if sig == _Signal.NORMAL:
                if brk:
                    yield _Signal.NORMAL, None, t
                else:
                    yield from cases(s, k + 1, t)  # fall through
            elif sig == _Signal.BREAK:
                yield _Signal.NORMAL, None, t
            else:
                yield sig, payload, t

    def loop(s: Loop, trail: tuple, done: int) -> Iterator[tuple[str, object, tuple]]:
        # while/for test before the body; do tests after.
        if s.kind != "do" or done > 0:
            yield _Signal.NORMAL, None, trail  # the condition is false
            if done >= bound:
                return
        elif done >= bound:
            return
        for sig, payload, t in block(s.body, trail):
            if sig in (_Signal.NORMAL, _Signal.CONTINUE):
                yield from loop(s, t, done + 1)
            elif sig == _Signal.BREAK:
                yield _Signal.NORMAL, None, t
            else:
                yield sig, payload, t

    def top(start: int, trail: tuple, jumps: int) -> None:
        for sig, payload, t in seq(fn.body, start, trail):
            if sig == _Signal.GOTO:
                top(labels[payload], t, jumps + 1)  # type: ignore[index]
            elif sig == _Signal.RETURN:
                out.append([*t, Event("exit", -1, payload)])  # type: ignore[arg-type]
            else:
                out.append([*t, Event("exit", -1, fn.close_line)])
            if len(out) > limit:
                raise TooManyPaths

    top(0, (), 0)
    return out


def verdicts(fn: Func, bound: int) -> set[tuple[str, int, int]]:
    """(check ID, line, lock) findings the specification gives."""
    all_paths = paths(fn, bound)
    first: dict[int, set[str]] = {}
    for p in all_paths:
        seen: set[int] = set()
        for e in p:
            if e.op != "exit" and e.lock not in seen:
                seen.add(e.lock)
                first.setdefault(e.lock, set()).add(e.op)
    entry = {lk for lk, ops in first.items() if ops == {"unlock"}}
    found: set[tuple[str, int, int]] = set()
    for p in all_paths:
        held = set(entry)
        for e in p:
            if e.op == "lock":
                if e.lock in held:
                    found.add(("XL010", e.line, e.lock))
                    break  # deadlock: the path ends
                held.add(e.lock)
            elif e.op == "unlock":
                if e.lock not in held:
                    found.add(("XL002", e.line, e.lock))
                else:
                    held.discard(e.lock)
            else:
                for lk in held - entry:
                    found.add(("XL001", e.line, lk))
    return found
