"""Per-function facts the lock dataflow needs beyond the CFG: parameter
names, simple aliases (``gt = d->grant_table``), variables worth tracking as
lock flags, and what each CFG node does (lock effects, flag assignments).

Everything here is syntactic.  Aliases are deliberately narrow: a local
assigned exactly once from a plain access path, whose address is never
taken, stands for that path everywhere in the function.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tree_sitter import Node

from xenpatch.c.cfg import Cfg, Kind, call_args, call_name
from xenpatch.c.source import SourceFile, walk
from xenpatch.lint import values
from xenpatch.lint.lockops import Effect, apply_aliases, lock_key, squash

# A resolver maps (callee name, argument texts) to effects, or None.
# (callee, argument texts, variable the result is assigned to) -> effects
Resolver = Callable[[str, list[str], "str | None"], "Resolved | None"]


@dataclass(frozen=True)
class Resolved:
    """What a call does: fixed effects, or (try-like) effects on success."""

    effects: tuple[Effect, ...]
    conditional: str | None = None  # None, or the success class: "nz" / "zero"
    # The effects happen iff this argument is true (spin_lock_if(cond, l)).
    guard: int | None = None


# -- value classes for flag tracking ------------------------------------------

ZERO, POS, NEG, NZ = "zero", "pos", "neg", "nz"


def value_class(src: SourceFile, e: Node | None) -> str | None:
    """Class of a constant expression: 0/false/NULL, >0/true, -E.../ERR_PTR."""
    if e is None:
        return None
    while e.type == "parenthesized_expression" and e.named_child_count == 1:
        e = e.named_children[0]
    t = e.type
    if t == "number_literal":
        try:
            v = int(src.text(e).rstrip("uUlL"), 0)
        except ValueError:
            return None
        return ZERO if v == 0 else (NEG if v < 0 else POS)
    if t in ("true", "false", "null"):
        return POS if t == "true" else ZERO
    if t == "identifier":
        name = src.text(e)
        if name in ("true",):
            return POS
        if name in ("false", "NULL"):
            return ZERO
        return None
    if t == "unary_expression":
        op = e.child_by_field_name("operator")
        arg = e.child_by_field_name("argument")
        if op is not None and op.type == "-" and arg is not None and (
            arg.type == "number_literal"
            or (arg.type == "identifier" and src.text(arg).isupper())
        ):
            return NEG
    if t == "call_expression" and call_name(src, e) == "ERR_PTR":
        return NEG
    if t == "cast_expression":
        return value_class(src, e.child_by_field_name("value"))
    return None


@dataclass(frozen=True)
class VarTest:
    """A condition on a tracked variable: ``v``, ``v == 0``, ``v < 0``..."""

    var: str
    op: str  # "truthy" | "eqzero" | "lt0" | "iserr"

    def eval(self, cls: str) -> bool | None:
        if values.is_origin(cls):
            t = values.truth(cls)
            if t is None or self.op not in ("truthy", "eqzero"):
                return None
            return t if self.op == "truthy" else not t
        if self.op == "truthy":
            return cls != ZERO
        if self.op == "eqzero":
            return cls == ZERO
        if self.op in ("lt0", "iserr"):
            if cls == NEG:
                return True
            if cls in (ZERO, POS):
                return False
        return None

    def refine(self, outcome: bool, cls: str | None = None) -> str | None:
        if cls is not None and values.is_origin(cls) and self.op in ("truthy", "eqzero"):
            return values.after_test(cls, outcome if self.op == "truthy" else not outcome)
        if self.op == "truthy":
            return NZ if outcome else ZERO
        if self.op == "eqzero":
            return ZERO if outcome else NZ
        if self.op in ("lt0", "iserr") and outcome:
            return NEG
        return None


# -- node actions ---------------------------------------------------------------


@dataclass(frozen=True)
class OpAct:
    effect: Effect
    line: int
    col: int


@dataclass(frozen=True)
class AssignAct:
    var: str
    cls: str | None  # None: unknown value, forget what was known


@dataclass(frozen=True)
class TryAssignAct:
    var: str
    resolved: Resolved
    line: int
    col: int
    # The call only tests var (a guard argument): keep what is known of it.
    guard: bool = False


@dataclass(frozen=True)
class KillCondAct:
    """Forget what is known of repeated conditions (or, with value, set it)."""

    texts: tuple[str, ...]
    value: str | None = None


@dataclass(frozen=True)
class RebindAct:
    """``v = ...``: locks named through v now belong to v's old value."""

    var: str


@dataclass(frozen=True)
class GuessReleaseAct:
    """A call of an unknown function named like an unlock helper (defined in
    another file): it releases the held lock its arguments point into."""

    args: tuple[str, ...]
    via: str
    line: int
    col: int


@dataclass(frozen=True)
class IrqAct:
    """local_irq_restore (flavour "irqsave") or local_irq_enable ("irq")."""

    flavour: str


_IRQ_CALLS = {"local_irq_restore": "irqsave", "local_irq_enable": "irq"}

Act = OpAct | AssignAct | TryAssignAct | KillCondAct | RebindAct | GuessReleaseAct | IrqAct


@dataclass(frozen=True)
class Branch:
    """How a condition node's outcome is known or what it teaches."""

    try_op: Resolved | None = None  # the condition is a trylock-like call
    try_line: int = 0
    try_col: int = 0
    var_test: VarTest | None = None
    text: str | None = None  # a repeated condition, remembered per path
    negated: bool = False  # the condition is the negation of ``text`` (a != b)
    on_false: str | None = None  # a fact the false edge makes true (loop exit)
    # ``a < b`` true means ``a == b`` (this repeated fact) is false: the
    # address-ordered double lock takes both locks, and unlocks the second
    # only ``if ( a != b )``.
    strict_ne: str | None = None
    # ``text`` compares two pointers whose origins may decide it: each side
    # is a tracked variable or an origin class ("@G").
    eq: tuple[str, str] | None = None


@dataclass
class FunctionInfo:
    name: str
    params: list[str]
    param_types: dict[str, str]
    aliases: dict[str, str]
    tracked: set[str]
    repeated_conds: set[str]
    locals: set[str] = field(default_factory=set)
    local_types: dict[str, str] = field(default_factory=dict)
    acts: list[list[Act]] = field(default_factory=list)
    branches: list[Branch | None] = field(default_factory=list)
    # SWITCH node -> per successor, the repeated-condition facts its case
    # label settles: ("XENMAPSPACE_gmfn==space", "T")
    switch_facts: dict[int, list[tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    relevant: bool = False  # any lock effect at all
    value_rules: values.ValueRules = field(default_factory=values.ValueRules)


def _declarator_name(src: SourceFile, d: Node | None) -> str | None:
    while d is not None and d.type not in ("identifier",):
        d = d.child_by_field_name("declarator")
    return src.text(d) if d is not None else None


def parameters(src: SourceFile, fn: Node) -> tuple[list[str], dict[str, str]]:
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    names: list[str] = []
    types: dict[str, str] = {}
    if decl is None:
        return names, types
    plist = decl.child_by_field_name("parameters")
    for p in plist.named_children if plist is not None else []:
        if p.type != "parameter_declaration":
            continue
        name = _declarator_name(src, p.child_by_field_name("declarator"))
        if name is None:
            continue
        names.append(name)
        t = p.child_by_field_name("type")
        types[name] = squash(src.text(t)) if t is not None else ""
    return names, types


def _strip(e: Node) -> Node:
    while e.type == "parenthesized_expression" and e.named_child_count == 1:
        e = e.named_children[0]
    return e


_PATH_TYPES = ("identifier", "field_expression", "pointer_expression", "subscript_expression")


def _is_path(e: Node) -> bool:
    """A plain access path: x, x->y.z, &x->y, x[i]; no calls or arithmetic."""
    e = _strip(e)
    if e.type == "identifier":
        return True
    if e.type == "field_expression":
        arg = e.child_by_field_name("argument")
        return arg is not None and _is_path(arg)
    if e.type == "pointer_expression":
        arg = e.child_by_field_name("argument")
        return arg is not None and _is_path(arg)
    if e.type == "subscript_expression":
        arg = e.child_by_field_name("argument")
        idx = e.child_by_field_name("index")
        return arg is not None and _is_path(arg) and idx is not None and (
            idx.type in ("identifier", "number_literal")
        )
    return False


# The node types collect() and fill_actions() look at: one walk of a body
# finds them for both (see SourceFile.node_index).
_INDEXED = frozenset({
    "init_declarator", "declaration", "assignment_expression", "update_expression",
    "pointer_expression", "call_expression",
})


def collect(src: SourceFile, fn: Node, name: str) -> FunctionInfo:
    """Aliases and flag variables of one function."""
    params, ptypes = parameters(src, fn)
    body = fn.child_by_field_name("body")
    assigns: dict[str, list[Node | None]] = {}
    locals_: set[str] = set()
    addr_taken: set[str] = set()
    local_types: dict[str, str] = {}
    for n in src.node_index(body, _INDEXED).nodes if body is not None else ():
        t = n.type
        if t == "init_declarator":
            v = _declarator_name(src, n.child_by_field_name("declarator"))
            if v is not None:
                locals_.add(v)
                assigns.setdefault(v, []).append(n.child_by_field_name("value"))
        elif t == "declaration":
            ty = n.child_by_field_name("type")
            for d in n.children_by_field_name("declarator"):
                v = _declarator_name(src, d)
                if v is not None:
                    locals_.add(v)
                    if ty is not None:
                        local_types[v] = squash(src.text(ty))
        elif t == "assignment_expression":
            left = _strip(n.child_by_field_name("left"))
            if left.type == "identifier" or _local_field(src, left) is not None:
                op = n.child_by_field_name("operator")
                rhs = n.child_by_field_name("right") if op is not None and op.type == "=" else None
                assigns.setdefault(squash(src.text(left)), []).append(rhs)
        elif t == "update_expression":
            arg = _strip(n.child_by_field_name("argument"))
            if arg.type == "identifier":
                assigns.setdefault(src.text(arg), []).append(None)
        elif t == "pointer_expression":
            op = n.child_by_field_name("operator")
            arg = n.child_by_field_name("argument")
            if op is not None and op.type == "&" and arg is not None and arg.type == "identifier":
                addr_taken.add(src.text(arg))
    aliases: dict[str, str] = {}
    for v, rhss in assigns.items():
        single = len(rhss) == 1 and rhss[0] is not None
        if v in locals_ and v not in addr_taken and single and _is_path(rhss[0]):
            aliases[v] = squash(src.text(rhss[0]))
    # Resolve chains once (a = b->c; x = a->d) and drop self-references.
    for v in list(aliases):
        val = aliases[v]
        for _ in range(4):
            head = val.lstrip("&*").split("->")[0].split(".")[0].split("[")[0]
            if head in aliases and head != v:
                val = val.replace(head, aliases[head], 1)
            else:
                break
        ids = re.findall(r"(?<![.>])\b[A-Za-z_]\w*", val)
        if ids and ids[0] == v:
            del aliases[v]
        else:
            aliases[v] = val
    # buf.start of a local struct buf is local storage, unless some code
    # writes it through a pointer (a callee given &buf).
    for v in [v for v in assigns if "." in v]:
        head, fld = v.split(".", 1)
        if head not in locals_ or re.search(
            rb"->\s*" + re.escape(fld.encode()) + rb"\s*=[^=]", src.raw
        ):
            del assigns[v]
    info = FunctionInfo(name, params, ptypes, aliases, set(), set(), locals_, local_types)
    # Parameters count: spin_lock_if(bool cond, ...) tests one.
    info.tracked = {v for v, rhss in assigns.items() if v not in aliases} | set(params)
    return info


def _local_field(src: SourceFile, e: Node) -> str | None:
    """``buf.start``: a field of a struct variable (not through a pointer)."""
    if e.type != "field_expression":
        return None
    op = e.child_by_field_name("operator")
    arg = e.child_by_field_name("argument")
    fld = e.child_by_field_name("field")
    if op is None or op.type != "." or arg is None or arg.type != "identifier" or fld is None:
        return None
    return src.text(arg) + "." + src.text(fld)


def _tracked_name(src: SourceFile, e: Node, tracked: set[str]) -> str | None:
    e = _strip(e)
    v = src.text(e) if e.type == "identifier" else _local_field(src, e)
    return v if v is not None and v in tracked else None


# -- per-node actions -------------------------------------------------------------


def _identifiers(src: SourceFile, n: Node) -> set[str]:
    return {src.text(x) for x in walk(n) if x.type == "identifier"}


def _var_of(e: Node) -> Node:
    """``(v = f(x))`` tests v."""
    e = _strip(e)
    if e.type == "assignment_expression":
        left = e.child_by_field_name("left")
        if left is not None and _strip(left).type == "identifier":
            return _strip(left)
    return e


def var_test(src: SourceFile, c: Node, tracked: set[str]) -> VarTest | None:
    c = _var_of(c)
    v = _tracked_name(src, c, tracked) if c.type == "field_expression" else None
    if v is not None:
        return VarTest(v, "truthy")
    if c.type == "identifier" and src.text(c) in tracked:
        return VarTest(src.text(c), "truthy")
    if c.type == "binary_expression":
        op = c.child_by_field_name("operator")
        left = _var_of(c.child_by_field_name("left"))
        right = _var_of(c.child_by_field_name("right"))
        if left.type != "identifier" or src.text(left) not in tracked:
            left, right = right, left
        if left.type != "identifier" or src.text(left) not in tracked:
            return None
        v = src.text(left)
        rc = value_class(src, right)
        optype = op.type if op is not None else ""
        if rc == ZERO and optype == "==":
            return VarTest(v, "eqzero")
        if rc == ZERO and optype == "!=":
            return VarTest(v, "truthy")
        if rc == ZERO and optype == "<" and left == _var_of(c.child_by_field_name("left")):
            return VarTest(v, "lt0")
    if c.type == "call_expression" and call_name(src, c) == "IS_ERR":
        args = call_args(c)
        if len(args) == 1 and _strip(args[0]).type == "identifier":
            v = src.text(_strip(args[0]))
            if v in tracked:
                return VarTest(v, "iserr")
    return None


def fill_actions(
    src: SourceFile, cfg: Cfg, info: FunctionInfo, resolver: Resolver,
    object_macros: frozenset[str] = frozenset(),
    fv: values.FileValues | None = None,
    may_resolve: Callable[[str], bool] | None = None,
) -> None:
    """Compute, once per function, what every CFG node does.

    ``may_resolve(name)`` False promises the resolver would return None for
    any call of ``name``: most calls are skipped before their argument texts
    are computed."""
    fv = fv or values.FileValues()
    info.value_rules = fv.rules
    cond_texts: dict[str, int] = {}
    canon: dict[int, tuple[str, bool]] = {}  # node id -> canon_cond(), used again below
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            canon[node.id] = canon_cond(src, node.ast)
            t = canon[node.id][0]
            cond_texts[t] = cond_texts.get(t, 0) + 1
    info.repeated_conds = {t for t, n in cond_texts.items() if n > 1}
    # for ( try = 0; try < 3; try++ ) ... if ( try == 3 ): leaving the loop
    # by its condition makes the later test true.
    exit_facts: dict[int, str] = {}
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            bound = _counted_exit(src, node.ast)
            if bound is not None and bound in cond_texts:
                exit_facts[node.id] = bound
                info.repeated_conds.add(bound)
    # A case label and a later if on the same value are a repeated fact.
    info.switch_facts = _switch_facts(src, cfg, set(cond_texts))
    info.repeated_conds |= {t for edges in info.switch_facts.values()
                            for facts in edges for t, _ in facts}
    # Pointer comparisons their origins may decide (buf.start == emerg_buf).
    eqs = _pointer_tests(src, cfg, info, fv)
    info.repeated_conds |= set(eqs)
    repeated_ids = {t: _ids_of_text(t) for t in info.repeated_conds}
    info.acts = [[] for _ in cfg.nodes]
    info.branches = [None for _ in cfg.nodes]
    flag_vars = _flag_vars(src, cfg, info)
    info.tracked &= flag_vars | {v for sides in eqs.values() for v in sides if v[0] != "@"}

    loop_vars = _loop_vars(src, cfg)

    def key(e: Effect) -> Effect:
        k = apply_aliases(e.key, info.aliases)
        if loop_vars and "[" in k:
            # The lock of "each element": one collective lock (see Engine).
            k = re.sub(r"\[([A-Za-z_]\w*)\]",
                       lambda m: "[*]" if m.group(1) in loop_vars else m.group(0), k)
        return e if k == e.key else replace(e, key=k)

    def resolve_call(call: Node, name: str | None) -> Resolved | None:
        """``name``: call_name() of ``call``, which the caller needs too."""
        if name is None or (may_resolve is not None and not may_resolve(name)):
            return None
        target = _assigned_lvalue(src, call)
        if target is not None:
            target = apply_aliases(target, info.aliases)
        r = resolver(name, [src.text(a) for a in call_args(call)], target)
        if r is None:
            return None
        return Resolved(tuple(key(e) for e in r.effects), r.conditional, r.guard)

    index = (
        src.node_index(cfg.body, _INDEXED) if cfg.body is not None and not object_macros else None
    )
    for node in cfg.nodes:
        ast = node.ast
        if ast is None:
            continue
        skip: Node | None = None
        if node.kind is Kind.COND:
            c = _strip(ast)
            br = Branch()
            if c.type == "call_expression":
                r = resolve_call(c, call_name(src, c))
                if r is not None and r.conditional is not None:
                    skip = c
                    line, col = src.line_of(c.start_byte), src.col_of(c.start_byte)
                    br = Branch(try_op=r, try_line=line, try_col=col)
            if br.try_op is None:
                vt = var_test(src, c, info.tracked)
                if vt is not None:
                    br = Branch(var_test=vt)
                else:
                    t, neg = canon[node.id]
                    if t in info.repeated_conds and _in_if(ast):
                        br = Branch(text=t, negated=neg, eq=eqs.get(t))
                    else:
                        eq = strict_order_fact(src, ast)
                        if eq is not None and eq in info.repeated_conds:
                            br = Branch(strict_ne=eq)
            if node.id in exit_facts:
                br = replace(br, on_false=exit_facts[node.id])
            if br != Branch():
                info.branches[node.id] = br
        events: list[tuple[int, int, Act]] = []
        # Object macros are identifiers, which the body's index leaves out.
        for n in index.under(ast) if index is not None else walk(ast):
            t = n.type
            if t == "identifier" and object_macros and n.parent is not None and (
                n.parent.type == "expression_statement"
            ) and src.text(n) in object_macros:
                r = resolver(src.text(n), [], None)
                if r is not None:
                    line, col = src.line_of(n.start_byte), src.col_of(n.start_byte)
                    for e in r.effects:
                        events.append((n.end_byte, -n.start_byte, OpAct(key(e), line, col)))
                continue
            if t == "call_expression" and n is not skip and n != skip:
                name = call_name(src, n)
                r = resolve_call(n, name)
                if r is None:
                    if name in _IRQ_CALLS:
                        events.append((n.end_byte, -n.start_byte, IrqAct(_IRQ_CALLS[name])))
                        continue
                    # ..._unlock(x), unlock_...(x): not get_gfn_query_unlocked().
                    if name is not None and _UNLOCK_NAME.search(name.lower()):
                        args = tuple(apply_aliases(squash(src.text(a)), info.aliases)
                                     for a in call_args(n))
                        if args:
                            events.append((n.end_byte, -n.start_byte, GuessReleaseAct(
                                args, name, src.line_of(n.start_byte),
                                src.col_of(n.start_byte))))
                    continue
                line, col = src.line_of(n.start_byte), src.col_of(n.start_byte)
                if r.guard is not None:
                    args = call_args(n)
                    g = _strip(args[r.guard]) if r.guard < len(args) else None
                    gc = value_class(src, g)
                    if gc == ZERO:
                        continue  # locked=0: the helper takes nothing
                    if gc is not None:
                        for e in r.effects:
                            events.append((n.end_byte, -n.start_byte, OpAct(e, line, col)))
                        continue
                    var = src.text(g) if g is not None and g.type == "identifier" else ""
                    events.append((n.end_byte, -n.start_byte, TryAssignAct(
                        var, Resolved(r.effects, "nz"), line, col, guard=True)))
                    continue
                if r.conditional is not None:
                    # A trylock whose result is not a condition or stored in a
                    # tracked variable: the lock may or may not be held after.
                    target = _assigned_var(src, n)
                    if target is not None:
                        events.append(
                            (n.end_byte + 1, 0, TryAssignAct(target, r, line, col))
                        )
                        continue
                    events.append((n.end_byte, -n.start_byte, TryAssignAct("", r, line, col)))
                    continue
                for e in r.effects:
                    events.append((n.end_byte, -n.start_byte, OpAct(e, line, col)))
            elif t in ("assignment_expression", "init_declarator", "update_expression"):
                act = _assign_act(src, n, info, repeated_ids, fv)
                if act is not None:
                    events.extend((n.end_byte, -n.start_byte, a) for a in act)
                rv = _target_var(src, n)
                if rv is not None and rv not in info.aliases:
                    # Before the right-hand side's effects: a helper returning
                    # a locked object locks the new value, not the old.
                    rhs = n.child_by_field_name("value" if t == "init_declarator" else "right")
                    at = rhs.start_byte if rhs is not None else n.end_byte
                    events.append((at, 1 << 40, RebindAct(rv)))
        if not events:
            # Most nodes do nothing: their acts stay [].
            taken = info.branches[node.id]
            if taken is not None and taken.try_op is not None:
                info.relevant = True
            continue
        events.sort(key=lambda x: (x[0], x[1]))
        # A TryAssign to a var replaces that var's plain assignment; a var
        # that receives the object a helper just locked is not NULL.
        acts: list[Act] = []
        try_vars = {a.var for _, _, a in events if isinstance(a, TryAssignAct) and a.var}
        locked_vars = {
            m.group(1) for _, _, a in events if isinstance(a, OpAct)
            and a.effect.action == "acquire" and (m := _HEAD_RE.match(a.effect.key))
        }
        for _, _, a in events:
            if isinstance(a, AssignAct) and a.var in try_vars:
                continue
            if isinstance(a, AssignAct) and a.cls is None and a.var in locked_vars:
                a = AssignAct(a.var, NZ)
            acts.append(a)
        info.acts[node.id] = acts
        if any(isinstance(a, OpAct | TryAssignAct) for a in acts) or (
            info.branches[node.id] is not None and info.branches[node.id].try_op is not None
        ):
            info.relevant = True
    _keep_lock_guards(cfg, info)


def _switch_facts(
    src: SourceFile, cfg: Cfg, tested: set[str]
) -> dict[int, list[tuple[tuple[str, str], ...]]]:
    """``switch ( space ) { case XENMAPSPACE_gmfn: ...`` makes the later
    ``if ( space == XENMAPSPACE_gmfn )`` true on that case's edge and false
    on the others' (case labels are distinct constants)."""
    out: dict[int, list[tuple[tuple[str, str], ...]]] = {}
    for nid, labels in cfg.case_values.items():
        ast = cfg.nodes[nid].ast
        if ast is None:
            continue
        x = squash(src.text(_strip(ast)))
        names = {id(v): "==".join(sorted((x, squash(src.text(v))))) for v in labels
                 if v is not None}
        if not set(names.values()) & tested:
            continue
        edges = []
        for v in labels:
            mine = names[id(v)] if v is not None else None
            edges.append(tuple(sorted(
                (t, "T" if t == mine else "F") for t in set(names.values()) & tested
            )))
        out[nid] = edges
    return out


# Compiled once: tried on every call that resolves to nothing.
_UNLOCK_NAME = re.compile(r"(?:^|_)unlock(?:_|$)")

_GUARDED = ("if_statement", "while_statement", "for_statement", "do_statement",
            "conditional_expression")


def _keep_lock_guards(cfg: Cfg, info: FunctionInfo) -> None:
    """Forget flag tracking that cannot matter: path-sensitivity pays only
    for conditions that guard a lock operation (``if ( locked ) unlock``)
    or test a trylock's result.  Tracking every flag blows up the states."""
    op_starts = sorted(
        cfg.nodes[i].ast.start_byte  # type: ignore[union-attr]
        for i, acts in enumerate(info.acts)
        if cfg.nodes[i].ast is not None and any(isinstance(a, OpAct | TryAssignAct) for a in acts)
    )
    try_vars = {
        a.var for acts in info.acts for a in acts if isinstance(a, TryAssignAct) and a.var
    }
    heads: set[str] = set()
    for acts in info.acts:
        for a in acts:
            effs = (a.effect,) if isinstance(a, OpAct) else (
                a.resolved.effects if isinstance(a, TryAssignAct) else ())
            for e in effs:
                heads.update(key_vars(e.key))

    def guards(ast: Node) -> bool:
        st = ast.parent
        while st is not None and st.type not in _GUARDED:
            st = st.parent
        if st is None:
            return False
        lo = bisect.bisect_left(op_starts, st.start_byte)
        return lo < len(op_starts) and op_starts[lo] < st.end_byte

    keep_vars: set[str] = set(try_vars)
    keep_texts: set[str] = {b.on_false for b in info.branches if b is not None and b.on_false}
    for i, br in enumerate(info.branches):
        if br is None or br.try_op is not None:
            continue
        ast = cfg.nodes[i].ast
        if ast is None or not guards(ast):
            continue
        if br.var_test is not None:
            keep_vars.add(br.var_test.var)
        elif br.text is not None:
            keep_texts.add(br.text)
            if br.eq is not None:
                keep_vars.update(v for v in br.eq if v[0] != "@")
    for i, br in enumerate(info.branches):
        if br is None or br.try_op is not None:
            continue
        if (br.var_test is not None and br.var_test.var not in keep_vars) or (
            br.text is not None and br.text not in keep_texts
        ):
            info.branches[i] = None
    for i, acts in enumerate(info.acts):
        if not acts:
            continue
        new: list[Act] = []
        for a in acts:
            if isinstance(a, AssignAct) and a.var not in keep_vars:
                continue
            if isinstance(a, RebindAct) and a.var not in heads:
                continue
            if isinstance(a, KillCondAct):
                texts = tuple(t for t in a.texts if t in keep_texts)
                if not texts:
                    continue
                a = KillCondAct(texts, a.value)
            new.append(a)
        info.acts[i] = new
    info.tracked = keep_vars
    for nid, edges in list(info.switch_facts.items()):
        kept = [tuple(kv for kv in e if kv[0] in keep_texts) for e in edges]
        if any(kept):
            info.switch_facts[nid] = kept
        else:
            del info.switch_facts[nid]


_HEAD_RE = re.compile(r"^\*?\(?([A-Za-z_]\w*)")


def _loop_vars(src: SourceFile, cfg: Cfg) -> set[str]:
    """Variables a for loop steps (its update clause)."""
    out: set[str] = set()
    seen: set[int] = set()
    for node in cfg.nodes:
        ast = node.ast
        p = ast.parent if ast is not None else None
        if p is not None and p.type == "for_statement" and p.id not in seen:
            seen.add(p.id)
            upd = p.child_by_field_name("update")
            if upd is not None:
                out.update(x for x in re.findall(r"[A-Za-z_]\w*", src.text(upd)))
    return out


def key_vars(key: str) -> set[str]:
    """Variables a lock key depends on: its head and any subscript index
    (``d->arch.nested_p2m[i]->lock`` depends on d and i)."""
    return set(re.findall(r"(?<![.>\w])[A-Za-z_]\w*", key))


def _target_var(src: SourceFile, n: Node) -> str | None:
    if n.type == "init_declarator":
        return _declarator_name(src, n.child_by_field_name("declarator"))
    field_ = "left" if n.type == "assignment_expression" else "argument"
    t = n.child_by_field_name(field_)
    if t is None:
        return None
    t = _strip(t)
    return src.text(t) if t.type == "identifier" else None


def strict_order_fact(src: SourceFile, c: Node) -> str | None:
    """``a < b`` or ``a > b``: the equality fact (as canon_cond names it) it rules out."""
    c = _strip(c)
    op = c.child_by_field_name("operator") if c.type == "binary_expression" else None
    if op is None or op.type not in ("<", ">"):
        return None
    lo, hi = sorted((squash(src.text(c.child_by_field_name("left"))),
                     squash(src.text(c.child_by_field_name("right")))))
    return f"{lo}=={hi}"


def canon_cond(src: SourceFile, c: Node) -> tuple[str, bool]:
    """A condition as a fact name: ``q == old_q``, ``old_q==q`` and
    ``q != old_q`` (negated) are one fact."""
    c = _strip(c)
    if c.type == "binary_expression":
        op = c.child_by_field_name("operator")
        if op is not None and op.type in ("==", "!="):
            a = squash(src.text(c.child_by_field_name("left")))
            b = squash(src.text(c.child_by_field_name("right")))
            lo, hi = sorted((a, b))
            return f"{lo}=={hi}", op.type == "!="
    return squash(src.text(c)), False


def _counted_exit(src: SourceFile, c: Node) -> str | None:
    """``v < K`` of a for loop stepping v by one: the fact ``v == K``."""
    c = _strip(c)
    p = c.parent
    if c.type != "binary_expression" or p is None or p.type != "for_statement":
        return None
    op = c.child_by_field_name("operator")
    left, right = c.child_by_field_name("left"), c.child_by_field_name("right")
    upd = p.child_by_field_name("update")
    if op is None or op.type != "<" or left is None or right is None or upd is None:
        return None
    v = src.text(left)
    if left.type != "identifier" or squash(src.text(upd)) not in (v + "++", "++" + v):
        return None
    if right.type != "number_literal" and not (right.type == "identifier"
                                                and src.text(right).isupper()):
        return None
    lo, hi = sorted((v, squash(src.text(right))))
    return f"{lo}=={hi}"


def _in_if(ast: Node) -> bool:
    """Is this condition an if's (not a loop's, whose value changes)?"""
    st = ast.parent
    while st is not None and st.type not in _GUARDED:
        st = st.parent
    return st is not None and st.type == "if_statement"


def _ids_of_text(t: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]\w*", t))


def _pointer_tests(
    src: SourceFile, cfg: Cfg, info: FunctionInfo, fv: values.FileValues
) -> dict[str, tuple[str, str]]:
    """``a == b`` / ``a != b`` conditions of ifs where each side is a
    variable that may be tracked or a constant address, and at least one is
    a variable: fact text -> the two sides."""
    out: dict[str, tuple[str, str]] = {}
    for node in cfg.nodes:
        c = _strip(node.ast) if node.kind is Kind.COND and node.ast is not None else None
        if c is None or c.type != "binary_expression" or not _in_if(node.ast):
            continue
        op = c.child_by_field_name("operator")
        if op is None or op.type not in ("==", "!="):
            continue
        sides = []
        for e in (c.child_by_field_name("left"), c.child_by_field_name("right")):
            e = _strip(e)
            v = _tracked_name(src, e, info.tracked) or values.constant_origin(src, e, fv)
            sides.append(v)
        a, b = sides
        if a is None or b is None or (a[0] == "@" and b[0] == "@"):
            continue
        out[canon_cond(src, c)[0]] = (a, b)
    return out


def _flag_vars(src: SourceFile, cfg: Cfg, info: FunctionInfo) -> set[str]:
    """Variables tested by some condition: only these are worth tracking."""
    found: set[str] = set()
    for node in cfg.nodes:
        if node.kind is Kind.COND and node.ast is not None:
            vt = var_test(src, node.ast, info.tracked)
            if vt is not None:
                found.add(vt.var)
    return found


def _assigned_lvalue(src: SourceFile, call: Node) -> str | None:
    """Where ``call``'s result is stored: ``v``, ``*lock``, ``p->l``."""
    p = call.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is not None and p.type == "assignment_expression":
        left = p.child_by_field_name("left")
        op = p.child_by_field_name("operator")
        if left is not None and op is not None and op.type == "=" and _is_path(left):
            return squash(src.text(left))
    return _assigned_var(src, call)


def _assigned_var(src: SourceFile, call: Node) -> str | None:
    """``v = call(...)`` or ``int v = call(...)``: the variable v."""
    p = call.parent
    while p is not None and p.type == "parenthesized_expression":
        p = p.parent
    if p is None:
        return None
    if p.type == "assignment_expression":
        left = _strip(p.child_by_field_name("left"))
        op = p.child_by_field_name("operator")
        if left.type == "identifier" and op is not None and op.type == "=":
            return src.text(left)
    if p.type == "init_declarator":
        return _declarator_name(src, p.child_by_field_name("declarator"))
    return None


def _assign_act(
    src: SourceFile, n: Node, info: FunctionInfo, repeated_ids: dict[str, set[str]],
    fv: values.FileValues,
) -> list[Act] | None:
    if n.type == "init_declarator":
        var = _declarator_name(src, n.child_by_field_name("declarator"))
        rhs = n.child_by_field_name("value")
    elif n.type == "assignment_expression":
        left = _strip(n.child_by_field_name("left"))
        var = src.text(left) if left.type == "identifier" else (
            _tracked_name(src, left, info.tracked))
        op = n.child_by_field_name("operator")
        rhs = n.child_by_field_name("right") if op is not None and op.type == "=" else None
        if var is None:
            # p->flag = x: a repeated condition reading p->flag is stale
            # (but not one comparing the pointer p itself).
            lhs = squash(src.text(left))
            texts = tuple(t for t in repeated_ids if lhs in t)
            return [KillCondAct(texts)] if texts else None
    else:
        arg = _strip(n.child_by_field_name("argument"))
        var = src.text(arg) if arg.type == "identifier" else None
        rhs = None
    if var is None:
        return None
    acts: list[Act] = []
    if var in info.tracked:
        acts.append(AssignAct(var, value_class(src, rhs) or values.origin(src, rhs, fv)))
    texts = tuple(t for t, ids in repeated_ids.items() if var in ids)
    if texts:
        acts.append(KillCondAct(texts))
    if rhs is not None and _strip(rhs).type == "identifier":
        # old_q = q: now "old_q == q" holds.
        lo, hi = sorted((var, src.text(_strip(rhs))))
        if f"{lo}=={hi}" in repeated_ids:
            acts.append(KillCondAct((f"{lo}=={hi}",), value="T"))
    return acts or None


def lock_key_of(text: str, info: FunctionInfo) -> str:
    return apply_aliases(lock_key(text), info.aliases)
