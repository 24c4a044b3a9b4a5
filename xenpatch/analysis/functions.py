"""Per-function facts the lock dataflow needs beyond the CFG: parameter
names and types, simple aliases (``gt = d->grant_table``), the variables
worth tracking as lock flags, and (filled in by actions.py) what each CFG
node does.

Everything here is syntactic.  Aliases are deliberately narrow: a local
assigned exactly once from a plain access path, whose address is never
taken, stands for that path everywhere in the function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from xenpatch.analysis import values
from xenpatch.analysis.events import Act, Branch
from xenpatch.analysis.lockkeys import KEY_HEAD, squash
from xenpatch.c import fields as fid
from xenpatch.c.source import SourceFile


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
    # SWITCH node on a tracked variable -> (it, each successor's case value;
    # None: the default): switches.switch_vars().
    switch_vars: dict[int, tuple[str, tuple[int | None, ...]]] = field(default_factory=dict)
    relevant: bool = False  # any lock effect at all
    value_rules: values.ValueRules = field(default_factory=values.ValueRules)
    # Tracked variables that guard a lock operation (the others are tracked
    # for what a NULL argument does): only these make a guard parameter.
    guard_vars: set[str] = field(default_factory=set)
    # Variables tracked only because a callee's take is on their say
    # (Effect.when): with a plain take instead, nothing else would track
    # them (lint/once.py asks whether such a take changed any path).
    when_only: set[str] = field(default_factory=set)
    # Locals whose every assignment is a constant of one class ("int ret =
    # -EBUSY;" returned later): what a "return ret;" returns.
    const_locals: dict[str, str] = field(default_factory=dict)
    consts: Mapping[str, str] = field(default_factory=dict)  # FileValues.consts
    eqs: frozenset[str] = frozenset()  # FileValues.eqs
    exacts: Mapping[str, int | str] = field(default_factory=dict)  # FileValues.exacts
    masks: Any = None  # FileValues.masks (analysis/flagbits.Masks)
    # Locals assigned once from an accessor the rules declare, its
    # arguments the caller's (parameters the body never assigns, or
    # globals): local -> the call's text ("p2m" -> "p2m_get_hostp2m(d)"),
    # how a summary names a lock reached through the local (templates.py).
    accessed: dict[str, str] = field(default_factory=dict)
    # Each local's assigned right-hand sides (None: not a plain "="), until
    # fill_actions() has classified them.
    assigned: dict[str, list[Node | None]] = field(default_factory=dict)
    # "a==b" facts of two variables compared or copied one to the other
    # (analysis/equalities.py): kept where a lock is reached through either.
    var_equalities: set[str] = field(default_factory=set)
    # "v==NAME" of a local assigned a named constant (conditions.sentinels):
    # a later test of v against it is decided by what v was last given.
    sentinels: set[str] = field(default_factory=set)
    # Sentinel v -> the "x<F" tests that bound what v may be assigned
    # (x the assigned path, F a bound of a constant v is compared with).
    bounds: dict[str, frozenset[str]] = field(default_factory=dict)
    # Locals assigned once from one element of a collection (&C[i], an
    # element accessor macro): analysis/collective.py's Element.
    elements: Mapping[str, Any] = field(default_factory=dict)
    # The collective element a loop's element local names (eachkeys.py:
    # "per_cpu(v)[*]->") -> that local's declared type: a lock of each
    # element has the shape the local's lock has.
    element_types: Mapping[str, str] = field(default_factory=dict)
    # The value rules' accessors that the file defines as a path macro
    # (p2m_get_hostp2m(d): &(d)->arch.p2m on Arm): their calls are kept
    # (values.py reads them), their results named by the path in lock keys
    # (pathmacros.head_expanded()).  Set in the file's own functions only.
    accessor_paths: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


def shape_fn(info: FunctionInfo) -> Callable[[str], tuple[str, str]]:
    """A lock key's shape: the declared type of its head and the rest
    (``("structdomain", "->page_alloc_lock")``), so that locks of one
    struct field compare equal across functions and variable names."""

    def shape(key: str) -> tuple[str, str]:
        if info.element_types and "[*]" in key:
            for prefix, elem in info.element_types.items():
                if key.startswith(prefix):
                    return (re.sub(r"^(const|volatile)", "", elem), "->" + key[len(prefix):])
        m = KEY_HEAD.match(key)
        if m is None:
            return ("", key)
        head = m.group(2)
        t = info.param_types.get(head) or info.local_types.get(head)
        if t is None:
            return ("", key)
        t = re.sub(r"^(const|volatile)", "", t)
        return (t, key[m.end() :])

    return shape


def declarator_name(src: SourceFile, d: Node | None) -> str | None:
    while d is not None and d.type not in ("identifier",):
        d = d.child_by_field_id(fid.DECLARATOR)
    return src.text(d) if d is not None else None


def parameters(src: SourceFile, fn: Node) -> tuple[list[str], dict[str, str]]:
    decl = fn.child_by_field_id(fid.DECLARATOR)
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_id(fid.DECLARATOR)
    names: list[str] = []
    types: dict[str, str] = {}
    if decl is None:
        return names, types
    plist = decl.child_by_field_id(fid.PARAMETERS)
    for p in plist.named_children if plist is not None else []:
        if p.type != "parameter_declaration":
            continue
        name = declarator_name(src, p.child_by_field_id(fid.DECLARATOR))
        if name is None:
            continue
        names.append(name)
        t = p.child_by_field_id(fid.TYPE)
        types[name] = squash(src.text(t)) if t is not None else ""
    return names, types


def strip_parens(e: Node) -> Node:
    while e.type == "parenthesized_expression" and e.named_child_count == 1:
        e = e.named_children[0]
    return e


# Branch hints that are the identity on their argument.
_HINTS = frozenset(("likely", "unlikely"))


def unhinted(src: SourceFile, e: Node) -> Node:
    """``e`` without parentheses and ``likely()``/``unlikely()``."""
    e = strip_parens(e)
    while e.type == "call_expression":
        fn = e.child_by_field_id(fid.FUNCTION)
        args = e.child_by_field_id(fid.ARGUMENTS)
        if fn is None or args is None or src.text(fn) not in _HINTS or \
                args.named_child_count != 1:
            break
        e = strip_parens(args.named_children[0])
    return e


def required(n: Node, name: str) -> Node:
    """A field the grammar always gives a node of this type (an
    assignment's left side, a binary expression's operands)."""
    c = n.child_by_field_id(fid.ID[name])
    assert c is not None, f"{n.type} at byte {n.start_byte} has no {name}"
    return c


def is_path(e: Node) -> bool:
    """A plain access path: x, x->y.z, &x->y, x[i]; no calls or arithmetic."""
    e = strip_parens(e)
    if e.type == "identifier":
        return True
    if e.type == "field_expression":
        arg = e.child_by_field_id(fid.ARGUMENT)
        return arg is not None and is_path(arg)
    if e.type == "pointer_expression":
        arg = e.child_by_field_id(fid.ARGUMENT)
        return arg is not None and is_path(arg)
    if e.type == "subscript_expression":
        arg = e.child_by_field_id(fid.ARGUMENT)
        idx = e.child_by_field_id(fid.INDEX)
        return arg is not None and is_path(arg) and idx is not None and (
            idx.type in ("identifier", "number_literal")
        )
    return False


# The node types collect() and fill_actions() look at: one walk of a body
# finds them for both (see SourceFile.node_index).
INDEXED = frozenset({
    "init_declarator", "declaration", "assignment_expression", "update_expression",
    "pointer_expression", "call_expression", "field_expression",
})


def collect(src: SourceFile, fn: Node, name: str) -> FunctionInfo:
    """Aliases and flag variables of one function."""
    params, ptypes = parameters(src, fn)
    body = fn.child_by_field_id(fid.BODY)
    assigns: dict[str, list[Node | None]] = {}
    locals_: set[str] = set()
    addr_taken: set[str] = set()
    # &v handed to a call (which may write v: a helper's out-parameter),
    # and &v kept anywhere else (a pointer that may write v later).
    passed: set[str] = set()
    kept: set[str] = set()
    local_types: dict[str, str] = {}
    for n in src.node_index(body, INDEXED).nodes if body is not None else ():
        t = n.type
        if t == "init_declarator":
            v = declarator_name(src, n.child_by_field_id(fid.DECLARATOR))
            if v is not None:
                locals_.add(v)
                assigns.setdefault(v, []).append(n.child_by_field_id(fid.VALUE))
        elif t == "declaration":
            ty = n.child_by_field_id(fid.TYPE)
            for d in n.children_by_field_name("declarator"):
                v = declarator_name(src, d)
                if v is not None:
                    locals_.add(v)
                    if ty is not None:
                        local_types[v] = squash(src.text(ty))
        elif t == "assignment_expression":
            left = strip_parens(required(n, "left"))
            if (o := out_param(src, left)) is not None and o[1:] in params:
                # *gfn = INVALID_GFN: what the caller finds in its variable
                # after the call (summaries.out_facts).
                op = n.child_by_field_id(fid.OPERATOR)
                rhs = n.child_by_field_id(fid.RIGHT) if op is not None and op.type == "=" else None
                assigns.setdefault(o, []).append(rhs)
            elif left.type == "identifier" or local_field(src, left) is not None:
                op = n.child_by_field_id(fid.OPERATOR)
                rhs = n.child_by_field_id(fid.RIGHT) if op is not None and op.type == "=" else None
                assigns.setdefault(squash(src.text(left)), []).append(rhs)
        elif t == "update_expression":
            arg = strip_parens(required(n, "argument"))
            if arg.type == "identifier":
                assigns.setdefault(src.text(arg), []).append(None)
        elif t == "pointer_expression":
            op = n.child_by_field_id(fid.OPERATOR)
            target = n.child_by_field_id(fid.ARGUMENT)
            if op is not None and op.type == "&" and target is not None \
                    and target.type == "identifier":
                addr_taken.add(src.text(target))
                p = n.parent
                (passed if p is not None and p.type == "argument_list" else kept).add(
                    src.text(target))
    aliases: dict[str, str] = {}
    for v, rhss in assigns.items():
        rhs = rhss[0] if len(rhss) == 1 else None
        if v in locals_ and v not in addr_taken and rhs is not None and is_path(rhs):
            aliases[v] = squash(src.text(rhs))
    # Resolve chains once (a = b->c; x = a->d) and drop self-references.
    for v in list(aliases):
        val = _resolved(v, aliases[v], aliases)
        if val is None:
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
    info.assigned = {v: r for v, r in assigns.items() if v in locals_ and v not in addr_taken}
    # a = b of two variables: "a==b" holds until either is assigned or
    # handed on as &a (fill_actions clears it); not for one whose address
    # is kept, which anything may write later.
    names = (locals_ | set(params)) - kept
    for v, rhss in assigns.items():
        for r in rhss if v in names else ():
            r = strip_parens(r) if r is not None else None
            o = src.text(r) if r is not None and r.type == "identifier" else None
            if o is not None and o in names and o != v:
                info.var_equalities.add("==".join(sorted((v, o))))
    # Parameters count: spin_lock_if(bool cond, ...) tests one.
    # So do locals a call fills in: what it leaves there may be known
    # (summaries.out_facts), and is forgotten at each call given &v.
    info.tracked = {v for v, rhss in assigns.items() if v not in aliases} | set(params) | (
        (passed - kept) & locals_)
    return info


def _resolved(v: str, val: str, aliases: Mapping[str, str]) -> str | None:
    """``v``'s alias ``val`` with the aliases it starts from resolved (a =
    b->c; x = a->d), None where it names ``v`` itself."""
    for _ in range(4):
        head = val.lstrip("&*").split("->")[0].split(".")[0].split("[")[0]
        if head in aliases and head != v:
            val = val.replace(head, aliases[head], 1)
        else:
            break
    ids = re.findall(r"(?<![.>])\b[A-Za-z_]\w*", val)
    return None if ids and ids[0] == v else val


def with_path_macros(src: SourceFile, info: FunctionInfo,
                     paths: Mapping[str, tuple[str, str, str]],
                     keep: Callable[[str], bool]) -> None:
    """``info`` with each local assigned once from a macro whose body is an
    access path of its parameter (``hd = dom_iommu(d)``: pathmacros.py)
    made an alias of the macro's expansion (``&d->iommu``), as a local
    assigned that path is (collect()).  ``keep``: the macros to expand (not
    the accessors the value rules name, which values.py reads as calls)."""
    from xenpatch.analysis.pathmacros import expand

    for v, rhss in info.assigned.items():
        if v in info.aliases or len(rhss) != 1 or rhss[0] is None:
            continue
        rhs = strip_parens(rhss[0])
        if rhs.type != "call_expression":
            continue
        fn = rhs.child_by_field_id(fid.FUNCTION)
        args = rhs.child_by_field_id(fid.ARGUMENTS)
        if fn is None or fn.type != "identifier" or args is None or \
                args.named_child_count != 1:
            continue
        macro = paths.get(src.text(fn))
        arg = args.named_children[0]
        if macro is None or not keep(src.text(fn)) or not is_path(arg):
            continue
        # The path it is given must name the same object all along: none of
        # its variables assigned again (as an accessor's arguments).
        if set(re.findall(r"[A-Za-z_]\w*", src.text(arg))) & (
                set(info.assigned) - set(info.aliases)):
            continue
        val = _resolved(v, squash(expand(macro, squash(src.text(arg)))), info.aliases)
        if val is not None:
            info.aliases[v] = val
            info.tracked.discard(v)


def collected(src: SourceFile, fn: Node, name: str) -> FunctionInfo:
    """collect()'s facts, worked out once per function while ``src`` is
    kept (a tree's second pass over a file, a header inline analysed for
    many files), each caller getting its own copy: fill_actions() fills
    the copy in."""
    key = ("collect", fn.start_byte, fn.end_byte, name)
    got = src.derived.get(key)
    if got is None:
        got = src.derived[key] = collect(src, fn, name)
    return fresh_copy(got)


def fresh_copy(info: FunctionInfo) -> FunctionInfo:
    """``info`` with every container of its own (their items are not
    changed in place: strings, nodes, tuples; the lists of ``assigned``
    are copied too)."""
    # By name, every field at once: a field added to FunctionInfo is copied
    # as it is (shared) unless named here.  Its __dict__ copied, not
    # dataclasses.replace(), which runs __init__ over every field (a
    # tenth of fill_actions() on a whole tree; FunctionInfo has no
    # __post_init__ nor init=False field for it to run).
    out = object.__new__(FunctionInfo)
    out.__dict__.update(
        info.__dict__, params=list(info.params), param_types=dict(info.param_types),
        aliases=dict(info.aliases), tracked=set(info.tracked),
        repeated_conds=set(info.repeated_conds), locals=set(info.locals),
        local_types=dict(info.local_types), acts=[list(a) for a in info.acts],
        branches=list(info.branches), switch_facts=dict(info.switch_facts),
        switch_vars=dict(info.switch_vars),
        guard_vars=set(info.guard_vars), when_only=set(info.when_only),
        const_locals=dict(info.const_locals),
        assigned={v: list(r) for v, r in info.assigned.items()},
        var_equalities=set(info.var_equalities), sentinels=set(info.sentinels),
        bounds=dict(info.bounds), accessed=dict(info.accessed))
    return out


def local_field(src: SourceFile, e: Node) -> str | None:
    """``buf.start``: a field of a struct variable (not through a pointer)."""
    if e.type != "field_expression":
        return None
    op = e.child_by_field_id(fid.OPERATOR)
    arg = e.child_by_field_id(fid.ARGUMENT)
    fld = e.child_by_field_id(fid.FIELD)
    if op is None or op.type != "." or arg is None or arg.type != "identifier" or fld is None:
        return None
    return src.text(arg) + "." + src.text(fld)


def tracked_name(src: SourceFile, e: Node, tracked: set[str]) -> str | None:
    e = strip_parens(e)
    v = src.text(e) if e.type == "identifier" else (local_field(src, e) or out_param(src, e))
    return v if v is not None and v in tracked else None


def out_param(src: SourceFile, e: Node) -> str | None:
    """``*p``: what a pointer parameter points to, which a helper may write
    for its caller (the name is only tracked for parameters)."""
    if e.type != "pointer_expression":
        return None
    op = e.child_by_field_id(fid.OPERATOR)
    arg = e.child_by_field_id(fid.ARGUMENT)
    arg = strip_parens(arg) if arg is not None else None
    if op is None or op.type != "*" or arg is None or arg.type != "identifier":
        return None
    return "*" + src.text(arg)
