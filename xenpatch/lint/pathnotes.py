"""A finding as the report shows it: the warning and the path to it as
gcc's and clang's analyzers print theirs, one ``note:`` per event (a lock
or IRQ move, a branch, a switch case, an #if side, an assignment a later
branch tests, where the path ends)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from tree_sitter import Node

from xenpatch.analysis.events import FreeAct, IrqAct, OpAct, RebindAct, TryAssignAct
from xenpatch.analysis.functions import declarator_name
from xenpatch.analysis.locktable import MAYRELEASE
from xenpatch.analysis.pathstate import Result, State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile, identifier_set
from xenpatch.lint.checks import RawFinding, Witnesses
from xenpatch.lint.findings import Finding, Step


def finding_of(src: SourceFile, f: FunctionUnit, res: Result, r: RawFinding) -> Finding:
    flow: list[Step] = []
    if r.state is not None:
        nodes = list(r.nodes) if r.nodes is not None else _witness(src, f, res, r)
        if r.acq_site >= 0 and r.acq_site in nodes:
            start = len(nodes) - 1 - nodes[::-1].index(r.acq_site)
            nodes = nodes[start:]
        flow = _steps(src, f.cfg, nodes, f.info.acts if f.info is not None else [])
    # Notes elsewhere first: the path still ends at the finding's line.
    flow[:0] = [Step(*n) for n in r.notes]
    return Finding(src.path, r.line, r.col, r.check, r.message, f.name, tuple(flow),
                   r.key.rstrip("'"))


class _Agreement:
    """checks.Witnesses for one function's run (witnesspaths.py)."""

    def __init__(self, src: SourceFile, f: FunctionUnit, res: Result) -> None:
        self.src, self.f, self.res = src, f, res

    def agreeing(self, r: RawFinding) -> RawFinding | None:
        from xenpatch.analysis.witnesspaths import agreeing_path

        f = self.f
        if r.nodes is not None or r.state is None or f.info is None or f.cfg is None:
            return r
        path = agreeing_path(self.src, f.cfg, f.info, self.res, r.node, r.state)
        # Kept with it: finding_of() shows it without searching again.
        return None if path is None else replace(r, nodes=tuple(path))

    def none_agree(self, node: int, states: Iterable[State]) -> bool:
        from xenpatch.analysis.witnesspaths import none_agree

        f = self.f
        if f.info is None or f.cfg is None:
            return False
        states = list(states)
        if any((node, s) not in self.res.parents for s in states):
            return False  # one is met inside a node's actions: no search reaches it
        return none_agree(self.src, f.cfg, f.info, self.res, node, states)


def agreement(src: SourceFile, f: FunctionUnit, res: Result) -> Witnesses:
    """Which of the states that make one finding of f's run is reported,
    and whether any is (checks.pick_agreeing)."""
    return _Agreement(src, f, res)


def _witness(src: SourceFile, f: FunctionUnit, res: Result, r: RawFinding) -> list[int]:
    """The run's path to the finding, or one whose branches agree with
    each other where the run's own does not (witnesspaths.py)."""
    assert r.state is not None
    if f.info is None or f.cfg is None:
        return res.path(r.node, r.state)
    # Imported here: most runs have no finding to show (a hook's run).
    from xenpatch.analysis.witnesspaths import agreeing_path

    got = agreeing_path(src, f.cfg, f.info, res, r.node, r.state)
    return got if got is not None else res.path(r.node, r.state)


# How a step that takes or drops a lock reads, as gcc's notes do.
_DONE = {"acquire": "taken", "release": "released",
         MAYRELEASE: "released on some paths of the callee"}


def _lock_note(acts: list) -> str | None:
    """"'l' taken here" for a node whose actions take or release locks."""
    said = [f"'{a.effect.key.rstrip(chr(39))}' {_DONE[a.effect.action]} here"
            for a in acts if isinstance(a, OpAct) and a.effect.action in _DONE]
    return "; ".join(dict.fromkeys(said)) or None


# What a statement on a path can do that the path's reader needs to see: a
# lock or IRQ moved, a trylock's result kept, an object holding a lock freed
# or a lock name bound to another object.
_EVENTS = (OpAct, IrqAct, TryAssignAct, FreeAct, RebindAct)


def _steps(src: SourceFile, cfg: Cfg | None, nodes: list[int],
           acts: list[list] | None = None) -> list[Step]:
    """The path's events as gcc's and clang's analyzers show them: each
    branch taken, each lock or IRQ move, the assignments a later branch
    on the path tests, and where it ends; the other statements are not
    steps (a declaration, a printk, an ASSERT of something else)."""
    if cfg is None:
        return []
    acts = acts or []
    out: list[Step] = []
    # Names the branches still ahead on the path test, nearest first.
    tested: list[set[bytes]] = [set()] * (len(nodes) + 1)
    for i in range(len(nodes) - 1, -1, -1):
        node = cfg.nodes[nodes[i]]
        ahead = tested[i + 1]
        if node.kind in (Kind.COND, Kind.SWITCH) and node.ast is not None:
            ahead = ahead | identifier_set(src.raw[node.ast.start_byte:node.ast.end_byte])
        tested[i] = ahead
    for i, n in enumerate(nodes):
        node = cfg.nodes[n]
        taken = nodes[i + 1] if i + 1 < len(nodes) else None
        if node.kind in (Kind.ENTRY, Kind.EXIT, Kind.NOP):
            continue
        note: str | None
        at = (node.line, node.col)
        if node.kind is Kind.COND:
            macro = _loop_macro(src, node.ast)
            if macro is not None:
                # A loop macro's test (list_for_each_entry(pos, head, l),
                # read as a while): its arguments are no condition.
                text, at = macro
                note = f"'{text}'" + ("" if taken is None else " takes an element"
                                      if taken == node.succ[0] else " ends")
            else:
                note = f"'{_short(src, node.ast)}'" if taken is None else \
                    f"'{_short(src, node.ast)}' is {'true' if taken == node.succ[0] else 'false'}"
        elif node.kind is Kind.SWITCH:
            note = _switch_note(src, cfg, n, taken)
        elif node.kind is Kind.RETURN:
            line = src.line_text(node.line)[node.col - 1 :] if node.line else ""
            note = ("returns here" if line.lstrip().startswith("return")
                    else "falls off the end here")
        else:
            mine = acts[n] if n < len(acts) else []
            note = _lock_note(mine)
            # The last is where the finding is (a call made without the
            # lock it needs, an IRQ move): always a step.
            if note is None and node.ast is not None and (
                    taken is None or any(isinstance(a, _EVENTS) for a in mine)
                    or not _assigned(src, node.ast).isdisjoint(tested[i + 1])):
                note = _short(src, node.ast)
        if note is None:
            continue
        step = Step(*at, note)
        if out and out[-1].line == step.line and out[-1].note == step.note:
            continue
        out.append(step)
    return out


def _switch_note(src: SourceFile, cfg: Cfg, n: int, taken: int | None) -> str | None:
    """A switch's case taken, an #if's side, or a control-flow macro's
    statement; None for a join without a test of its own."""
    node = cfg.nodes[n]
    if n in cfg.pp_conds:
        side = "" if taken is None else (" is true" if taken == node.succ[0] else " is false")
        return f"'#if {cfg.pp_conds[n]}'{side}"
    if node.ast is None:
        return None
    if node.ast.type != "parenthesized_expression" and n not in cfg.case_values:
        return _short(src, node.ast)  # a macro hiding a goto or a return
    inner = node.ast.named_children
    test = _short(src, inner[0] if len(inner) == 1 else node.ast)
    values = cfg.case_values.get(n)
    if taken is None or values is None or taken not in node.succ:
        return f"'switch {test}'"
    value = values[node.succ.index(taken)]
    return f"'{test}' matches no case" if value is None else \
        f"'{test}' is {_short(src, value)}"


def _loop_macro(src: SourceFile, cond: Node | None) -> tuple[str, tuple[int, int]] | None:
    """The loop macro whose arguments ``cond`` is (the masking reads
    ``list_for_each_entry(pos, head, l) { ... }`` as a while over them):
    its text up to the arguments' end, and where it starts; None for any
    other condition."""
    p = cond.parent if cond is not None else None
    if p is not None and p.type == "parenthesized_expression":
        args, p = p, p.parent
    else:
        return None
    if p is None or p.type != "while_statement" or src.raw.startswith(b"while", p.start_byte):
        return None
    return _clip(src.raw[p.start_byte:args.end_byte].decode(errors="replace")), \
        src.line_col(p.start_byte)


def _assigned(src: SourceFile, n: Node) -> set[bytes]:
    """The variables a statement assigns (``v = ...``, ``T v = ...``, ``v++``)."""
    out: set[bytes] = set()
    stack = [n]
    while stack:
        x = stack.pop()
        if x.type in ("assignment_expression", "update_expression"):
            left = x.child_by_field_id(fid.LEFT) or x.child_by_field_id(fid.ARGUMENT)
            if left is not None and left.type == "identifier":
                out.add(src.raw[left.start_byte:left.end_byte])
        elif x.type == "init_declarator":
            name = declarator_name(src, x.child_by_field_id(fid.DECLARATOR))
            if name is not None:
                out.add(name.encode())
        if x.type not in ("compound_statement", "function_definition"):
            stack.extend(x.named_children)
    return out


def _short(src: SourceFile, n: Node | None) -> str:
    return "" if n is None else _clip(src.text(n))


def _clip(text: str) -> str:
    """A step's text on one line, at most 60 characters."""
    t = " ".join(text.split())
    return t if len(t) <= 60 else t[:57] + "..."
