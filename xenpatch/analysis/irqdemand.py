"""The IRQ state a function demands of its caller: what an assertion of the
IRQ state (``ASSERT(!local_irq_is_enabled())``, ``BUG_ON(...)``: as
irqstate.call_acts() reads it) states at a point every path from its
entry reaches with nothing moving the IRQ state before it; or, likewise,
what a callee demands that it calls there.

"Every path, nothing before" is the one XL015's requirements use
(preconditions.prefix_calls()): the body's straight-line prefix, up to the
first statement that branches.  In it, the calls are read in order:

* an assertion of the IRQ state states the demand;
* a move of the IRQ state (local_irq_*(), an _irq/_irqsave lock op, a
  function of the file or an inline that names one, another file's
  helper whose summary moves it) ends the prefix: what is asserted after
  it is that move's, not the caller's;
* a callee with a demand of its own (transitively; a recursion is cut)
  passes it on.

An assertion whose condition is more than the test alone
(``ASSERT(local_irq_is_enabled() || num_online_cpus() <= 1)``) states
nothing: the other disjunct is unknown.

Another file's function demands what its file's exports say
(``NEED + name``, export_demands()).  An export is of the function's own
file alone (its callees there and its headers' inlines), as every summary
is of one round; a file the lint does not parse (it names no lock API)
exports none, in a whole-tree run as in the lazy plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqstate import ENABLED_TEST, IRQ_FLAVOURS, IRQ_KEY, IRQ_ON, call_acts
from xenpatch.analysis.locktable import Effect, Summary, resolve
from xenpatch.analysis.preconditions import prefix_calls
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import call_args
from xenpatch.c.source import identifier_set
from xenpatch.graphs import once_cut

# The exports' key of a function's demand, and the action of its effect.
NEED = "%need:"
_ACTION = "irqneed"


@dataclass(frozen=True)
class Demand:
    """The IRQ state a function must be entered in."""

    state: str  # "on" / "off"
    via: str  # the callee passing it on, or the assertion ("ASSERT")
    line: int  # the assertion's, in ``func``
    func: str  # the function whose assertion it is, in the end
    file: str = ""  # that function's file, when not the linted one


class Demands:
    """The demands of a file's functions and its headers' inlines, and of
    other files' functions as their exports give them; on demand."""

    def __init__(self, fa: FileAnalysis, external: bool = True) -> None:
        self.fa = fa
        # external=False: the file's own word only (what it exports).
        self.external: Mapping[str, Summary] = fa.external if external else {}
        self.memo: dict[str, Demand | None] = {}
        self.busy: set[str] = set()
        self._moves: dict[str, bool] = {}
        self._moving_names: frozenset[bytes] | None = None

    def of(self, name: str) -> Demand | None:
        if name in self.memo:
            return self.memo[name]
        if name in self.busy:
            return None
        fa = self.fa
        f = fa.fns.get(name)
        if f is None:
            text = fa.headers.inlines.get(name)
            if text is None:
                got = demand_in(self.external.get(NEED + name))
                self.memo[name] = got
                return got
            # An inline demands what it asserts itself: its text is read
            # before it is parsed (most are never).
            f = fa.header_fn(name) if ENABLED_TEST.encode() in text else None
            if f is None:
                self.memo[name] = None
                return None
        g = f
        return once_cut(self.memo, self.busy, name, lambda: self._compute(g), None)

    def _compute(self, f: FunctionUnit) -> Demand | None:
        src, fa = f.src, self.fa
        file = "" if src is fa.src else src.path
        for call, name in prefix_calls(f):
            line = src.line_of(call.start_byte)
            acts = call_acts(src, call, name, fa.config.irq, line, 0)
            if acts:
                op = acts[0].op
                if op in ("assert_on", "assert_off"):
                    return Demand(op[len("assert_"):], "ASSERT", line, f.name, file)
                return None  # local_irq_*(): a move
            if name in ("ASSERT", "BUG_ON") or name == f.name:
                continue
            args = [src.text(a) for a in call_args(call)]
            effs = resolve(fa.table, name, args)
            if effs is not None:
                if any(e.flavour in IRQ_FLAVOURS for e in effs):
                    return None  # an _irq/_irqsave lock op: a move
                continue
            d = self.of(name)
            if d is not None:
                return Demand(d.state, name, d.line, d.func, d.file)
            if self.moves_irqs(name):
                return None
        return None

    def moves_irqs(self, name: str) -> bool:
        """May a call of ``name`` move the IRQ state?  A function of the
        file or an inline whose text (or a function of the file it names)
        names an IRQ move may; another file's as its summary says (a take
        or drop of a flavour it does not know may); a name the lint knows
        nothing of is taken to move nothing, as the dataflow takes it."""
        got = self._moves.get(name)
        if got is not None:
            return got
        fa = self.fa
        f = fa.fns.get(name)
        text = f.src.raw[f.node.start_byte:f.node.end_byte] if f is not None else \
            fa.headers.inlines.get(name)
        if text is None:
            # Another file's helper that leaves a lock taken or drops one
            # may have moved IRQs with it: its summary's flavour says so
            # only when it is known ("any": a take returned holding).
            s = self.external.get(name) or fa.external.get(name)
            got = s is not None and any(
                e.action == IRQ_ON or e.flavour in IRQ_FLAVOURS or (
                    e.action in ("acquire", "try", "release") and e.flavour != "plain")
                for e in s.effects)
            self._moves[name] = got
            return got
        self._moves[name] = True  # a recursion: taken to move
        ids = identifier_set(text)
        got = not ids.isdisjoint(self._moving()) or any(
            (n := i.decode()) != name and (n in self.fa.fns or n in self.fa.headers.inlines)
            and self.moves_irqs(n) for i in ids)
        self._moves[name] = got
        return got

    def _moving(self) -> frozenset[bytes]:
        """The names of the IRQ moves: the CPU-level calls but the reads,
        and the lock ops of an _irq/_irqsave flavour."""
        if self._moving_names is None:
            table = self.fa.table
            names = {n for n, (eff, _) in self.fa.config.irq.calls.items() if eff != "read"}
            names |= {n for n, op in table.ops.items() if op.flavour in IRQ_FLAVOURS}
            changed = True
            while changed:
                changed = False
                for n, w in table.wrappers.items():
                    if n not in names and w.target in names:
                        names.add(n)
                        changed = True
            self._moving_names = frozenset(n.encode() for n in names)
        return self._moving_names


def demand_in(s: Summary | None) -> Demand | None:
    """The demand an export states (NEED + name)."""
    if s is None or len(s.effects) != 1 or s.effects[0].action != _ACTION:
        return None
    e = s.effects[0]
    func, _, rest = e.via.partition("|")
    file, _, line = rest.rpartition("|")
    return Demand(e.mode, e.owner or "ASSERT", int(line) if line.isdigit() else 0, func, file)


def demand_summary(d: Demand, via: str, file: str) -> Summary:
    """The export of a demand: its state, the callee or assertion it came
    through, and where the assertion is (function|file|line)."""
    return Summary((Effect(_ACTION, "spin", d.state, "plain", IRQ_KEY, via,
                           f"{d.func}|{d.file or file}|{d.line}", inferred=True),), None)


def export_demands(fa: FileAnalysis, exports: dict[str, Summary],
                   names: frozenset[str] | None = None,
                   lines: Callable[[int], int] | None = None) -> None:
    """The demands of the file's external functions (of ``names``, if
    given), from the file alone, into ``exports``.  ``lines``: the file's
    line of a line of the text analysed (an excerpt of it)."""
    own: Demands | None = None
    file = ""
    table = fa.table
    for f in fa.order:
        if f.is_static or f.src is not fa.src or (names is not None and f.name not in names) \
                or f.name in table.ops or f.name in table.wrappers:
            continue
        if own is None:
            own = Demands(fa, external=False)
            file = _tree_path(fa)
        d = own.of(f.name)
        if d is not None:
            if lines is not None and not d.file:
                d = replace(d, line=lines(d.line))
            exports[NEED + f.name] = demand_summary(d, d.via, file)


def _tree_path(fa: FileAnalysis) -> str:
    """The file's path under its tree's root, as every run names it (a
    whole-tree run, the lazy plan's analysis of an excerpt); else its
    path as given."""
    if fa.tree_path:
        return fa.tree_path
    root = fa.headers.root
    if root is not None:
        try:
            return Path(fa.src.path).resolve().relative_to(root.resolve()).as_posix()
        except (OSError, ValueError):
            pass
    return fa.src.path
