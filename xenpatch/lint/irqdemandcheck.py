"""XL018: a call of a function that demands an IRQ state of its caller
(xenpatch.analysis.irqdemand) where the caller's path knows IRQs are in
the other state.

Known, not merely unseen: the path's state comes from this function's own
moves (an _irq/_irqsave section still open, local_irq_disable()/save(),
an _irq unlock, local_irq_enable(), a restore of flags it saved, an
assertion of the state), read from the held-lock dataflow's states (so
the path feasibility it knows applies).  The run read is the one entered
in an unknown state: a state the callers agree on (irqentry.py) is theirs
to vouch for, and a call the caller makes in whatever state it was
entered in says nothing.  Pairs through an unknown effect are never
reported.
"""

from __future__ import annotations

from xenpatch.analysis.events import IrqAct, OpAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqdemand import NEED, Demand, Demands
from xenpatch.analysis.irqstate import ENABLED_TEST, IRQ_FLAVOURS, is_irq_move
from xenpatch.analysis.nodecalls import node_calls
from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import call_name
from xenpatch.c.source import mentions_any, walk
from xenpatch.lint.checks import CHECKS, RawFinding
from xenpatch.lint.config import LintConfig
from xenpatch.lint.nameindex import definitions

Pair = tuple[int, State]


def demand_findings(fa: FileAnalysis, dem: Demands, f: FunctionUnit,
                    res: Result) -> list[RawFinding]:
    """XL018 findings of one analysed function (``res``: its run entered
    in an unknown IRQ state)."""
    assert f.cfg is not None and f.info is not None
    acts = f.info.acts
    moves = {i for i, a in enumerate(acts) if any(is_irq_move(x) for x in a)}
    if not moves:
        return []  # nothing of its own says what the state is
    by_node: dict[int, list[Pair]] = {}
    for pair, parent in res.parents.items():
        if parent is None and pair[1].fact("%irq") is not None:
            return []  # entered in a state its callers vouch for
        by_node.setdefault(pair[0], []).append(pair)
    out: list[RawFinding] = []
    for node, call, name in node_calls(f, by_node):
        if not _may_demand(fa, name):
            continue
        d = dem.of(name)
        if d is None:
            continue
        line, col = f.src.line_of(call.start_byte), f.src.col_of(call.start_byte)
        # A move of this node's before the call: the state on arrival
        # is not the call's.
        if node.id in moves and any(
                isinstance(a, IrqAct | OpAct) and is_irq_move(a) and (a.line, a.col) < (
                    line, col) for a in acts[node.id]):
            continue
        got = _site(fa, dem, f, res, by_node[node.id], moves, name, d, line, col, node.id)
        if got is not None:
            out.append(got)
    return out


def _may_demand(fa: FileAnalysis, name: str) -> bool:
    return name in fa.fns or name in fa.headers.inlines or NEED + name in fa.external


def _site(fa: FileAnalysis, dem: Demands, f: FunctionUnit, res: Result, pairs: list[Pair],
          moves: set[int], name: str, d: Demand, line: int, col: int,
          nid: int) -> RawFinding | None:
    for n, st in pairs:
        have = st.fact("%irq")
        if have is None or have == d.state or st.fact(UNKNOWN) is not None:
            continue
        path = res.path(n, st)
        # Where the state the call meets was set: the path's last move
        # (the take, the disable) before the call's node.
        site = next((i for i in range(len(path) - 2, -1, -1) if path[i] in moves), -1)
        if site < 0 or _unmodelled_move(fa, dem, f, path[site + 1:], line, col):
            continue
        site = path[site]
        if d.func == name:
            why = f"it asserts so at line {d.line}" if not d.file else \
                f"it asserts so at {d.file}:{d.line}"
        else:
            where = f" at {d.file}:{d.line}" if d.file else f" at line {d.line}"
            why = f"its callee '{d.func}' asserts so{where}"
        msg = CHECKS["XL018"].message.format(via=name, want=d.state, why=why, have=have)
        return RawFinding("XL018", nid, st, line, col, name, msg, acq_site=site)
    return None


def _unmodelled_move(fa: FileAnalysis, dem: Demands, f: FunctionUnit, nodes: list[int],
                     line: int, col: int) -> bool:
    """Does a call on ``nodes`` (before the call at line:col) move the IRQ
    state in a way the dataflow's state does not show: a helper whose
    text moves it (its summary says which locks it leaves taken, not that
    its irqsave take left IRQs off)?  Then the state at the call is not
    known."""
    assert f.cfg is not None
    table, irq = fa.table, fa.config.irq
    for i, nid in enumerate(nodes):
        ast = f.cfg.nodes[nid].ast
        if ast is None:
            continue
        for call in (c for c in walk(ast) if c.type == "call_expression"):
            if i == len(nodes) - 1 and (f.src.line_of(call.start_byte),
                                        f.src.col_of(call.start_byte)) >= (line, col):
                continue  # the call's own node: what comes after it
            name = call_name(f.src, call)
            if name is None or name in table.ops or name in table.wrappers or \
                    name in irq.calls or name in ("ASSERT", "BUG_ON"):
                continue  # what the dataflow models itself
            if dem.moves_irqs(name):
                return True
    return False


def may_break_demand(text: bytes, config: LintConfig, demanding: frozenset[str]) -> bool:
    """Could a function of this file know its IRQ state at a call of one
    of ``demanding``: does one function's text name both such a function
    and an IRQ move (or the API's test of the state)?  A whole-tree run
    lints a file again for those calls only then; a call through a macro
    or an inline is not seen here."""
    moves = _move_names(config)
    if not demanding or not mentions_any(text, moves):
        return False
    want = frozenset(n.encode() for n in demanding)
    defs = definitions(text)
    for i, d in enumerate(defs):
        body = text[d.brace:defs[i + 1].brace if i + 1 < len(defs) else len(text)]
        if mentions_any(body, want) and mentions_any(body, moves):
            return True
    return False


def _move_names(config: LintConfig) -> frozenset[bytes]:
    got = _MOVES.get(id(config))
    if got is None or got[0] is not config:
        names = {n for n, (eff, _) in config.irq.calls.items() if eff != "read"}
        names |= {n for n, op in config.table.ops.items() if op.flavour in IRQ_FLAVOURS}
        names.add(ENABLED_TEST)
        got = _MOVES[id(config)] = (config, frozenset(n.encode() for n in names))
    return got[1]


_MOVES: dict[int, tuple[LintConfig, frozenset[bytes]]] = {}
