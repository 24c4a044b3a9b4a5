"""What a take on some paths tests on its way (issue 9, item 5): the
conditions of the branches that decide whether a node is reached, as
predicates on the function's values, and whether a caller's path to a call
may contradict its callee's take.

A predicate is the text of what a branch tests: a call (``is_persistent(
pool)``), a field (``pool->persistent``), a parameter or a global, with the
outcome the path needs (``+``, ``-``, or ``?`` when a compound condition
leaves it open).  In a summary the parameters are ``${i}`` (bound to a
call's arguments like a key's, templates.instantiate), and what names a
local no caller can see is ``?``: such a predicate can never be shown equal
to another, only to test the same thing (its head: the function called, the
field read).

Two conditions are independent when no predicate of one has the head of a
predicate of the other: put_page() frees on the last reference, and
free_domheap_pages() takes the heap lock for a page that is not a Xen heap
page.  A head both test, on the same text with the same outcome, agrees; on
another text, or another or an open outcome, the two may exclude each other
(a caller delists only a pool that is not persistent, its callee locks for
one that is): the composition is dropped.

Whether a caller may meet a call its callee makes on some paths only
(blind_to_caller(), XL017 across files: init_one_irq_desc() allocates
only for a descriptor not yet initialised) is read per deciding branch,
from what its condition reads:

- a condition that changes what it tests (``--p->refs``, ``atomic_dec_and_test(
  &p->refcnt)``: a put frees on the last reference only): the caller's own
  use of the object (the reference it holds) decides, which nothing here
  reads -- not blind;
- a local of the callee's, or a parameter it assigns (a lookup's result,
  ``cur && sid == cur->sid``): state the callee computes, which no
  caller's argument decides -- both outcomes are possible from any
  caller;
- a pointer parameter only through what it points to (``p->field``,
  ``*p``, ``p[i]``, passed to a call: ``is_initialised(p)``): the object's
  state, which the caller does not know either, unless its own path to
  the call tests it too (may_exclude());
- otherwise (a parameter's own value: ``!p``, ``size > 16``, ``switch
  (cmd)``; or only globals and constants): the argument, or state the
  caller may well know, decides.  No such path is blind: nothing binds
  it here, and a take it leads to is not the caller's.

The path is blind to its caller when every deciding branch is of the
second or third kind, or a NULL test of a pointer parameter the path passes
(``if ( !s ) return -EINVAL;``): that one a call site binds, when it
has dereferenced its argument before the call on every path (its
``&s->lock`` is held there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tree_sitter import Node

from xenpatch.analysis.lockkeys import squash
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile

Cond = tuple[str, bool | None]

# Branch-prediction hints: their argument is the condition itself.
_HINTS = frozenset(("likely", "unlikely"))
_CONST = re.compile(r"[A-Z_][A-Z0-9_]*|true|false|NULL|\d\w*")
_ZERO = re.compile(r"0+[uUlL]*|NULL|false")
_ATOMS = ("call_expression", "field_expression", "identifier", "subscript_expression",
          "pointer_expression")


def decided_conds(src: SourceFile, cfg: Cfg, node: int, deciders: Deciders) -> list[Cond]:
    """The predicates of the branches that decide whether ``node`` is
    reached (one successor reaches it, another does not), in the
    function's own names (squashed text).  ``deciders``: the CFG's."""
    return branch_conds(src, cfg, deciding_branches(cfg, node, deciders))


def branch_conds(src: SourceFile, cfg: Cfg,
                 branches: list[tuple[int, bool | None]]) -> list[Cond]:
    """decided_conds() of deciding_branches() found already."""
    out: list[Cond] = []
    for c, pol in branches:
        ast = cfg.nodes[c].ast
        if ast is not None:
            out.extend(atoms(src, ast, pol))
    return out


class Deciders:
    """What deciding_branches() reads of one CFG, found once for the many
    nodes asked of it: each node's predecessors, and the branch nodes (a
    condition or a switch with two successors or more)."""

    __slots__ = ("preds", "branches")

    def __init__(self, cfg: Cfg) -> None:
        preds: list[list[int]] = [[] for _ in cfg.nodes]
        for n in cfg.nodes:
            for x in n.succ:
                preds[x].append(n.id)
        self.preds = preds
        self.branches = [n for n in cfg.nodes if n.ast is not None and len(n.succ) >= 2
                         and n.kind in (Kind.COND, Kind.SWITCH)]


def deciding_branches(cfg: Cfg, node: int, deciders: Deciders
                      ) -> list[tuple[int, bool | None]]:
    """The branch nodes that decide whether ``node`` is reached (one
    successor reaches it, another does not), each with the outcome the
    path needs (None: a switch, or a branch of more successors); in the
    order of their ids (every user reads them as a set)."""
    preds = deciders.preds
    reach = {node}
    todo = [node]
    while todo:
        for m in preds[todo.pop()]:
            if m not in reach:
                reach.add(m)
                todo.append(m)
    out: list[tuple[int, bool | None]] = []
    for n in deciders.branches:
        c = n.id
        if c == node or c not in reach:
            continue
        on = [x in reach for x in n.succ]
        if all(on):
            continue
        out.append((c, on[0] if n.kind is Kind.COND and len(n.succ) == 2 else None))
    return out


def pointer_params(src: SourceFile, fn: Node) -> frozenset[str]:
    """The parameters of function definition ``fn`` declared as pointers
    or arrays (``struct irq_desc *desc``; a typedef'd pointer is not seen)."""
    decl = fn.child_by_field_id(fid.DECLARATOR)
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_id(fid.DECLARATOR)
    plist = decl.child_by_field_id(fid.PARAMETERS) if decl is not None else None
    out: set[str] = set()
    for p in plist.named_children if plist is not None else []:
        d = p.child_by_field_id(fid.DECLARATOR)
        pointer = False
        while d is not None and d.type != "identifier":
            pointer = pointer or d.type in ("pointer_declarator", "array_declarator")
            d = d.child_by_field_id(fid.DECLARATOR)
        if d is not None and pointer:
            out.add(src.text(d))
    return frozenset(out)


_DEREF_BASE = {"field_expression": "argument", "subscript_expression": "argument",
               "pointer_expression": "argument"}


def _object_use(e: Node, root: Node) -> bool:
    """Is identifier ``e`` (under ``root``) read for what it points to: the
    base of ``->``/``.``/``[]``/``*``, or inside a call's arguments?"""
    child, up = e, e.parent
    while up is not None and child.id != root.id:
        if up.type == "argument_list":
            return True
        field = _DEREF_BASE.get(up.type)
        base = up.child_by_field_id(fid.ID[field]) if field is not None else None
        if base is not None and base.id == child.id and \
                not (up.type == "pointer_expression" and _op(up) == "&"):
            return True
        child, up = up, up.parent
    return False


def _op(e: Node) -> str:
    """A pointer_expression's operator (``*`` or ``&``)."""
    op = e.child_by_field_id(fid.OPERATOR)
    return op.type if op is not None else ""


def _branch_blind(src: SourceFile, e: Node, params: frozenset[str], pointers: frozenset[str],
                  hidden: frozenset[str]) -> bool:
    """Does condition ``e`` read only what no caller's argument decides
    (module doc)?"""
    if _writes(e):
        return False
    object_use = False
    ids = [(n, src.text(n)) for n in _walk_ids(e)]
    if any(name in hidden for _, name in ids):
        return True  # the callee's own state decides, whatever else is read
    for n, name in ids:
        if name not in params:
            continue
        if name not in pointers or not _object_use(n, e):
            return False  # the argument's own value decides
        object_use = True
    return object_use


def _writes(e: Node) -> bool:
    """Does condition ``e`` change what it tests: an update or assignment
    (``--e->refs``), or a call given a field's address (``atomic_dec_and_test(
    &p->refcnt)``, ``test_and_clear_bit(n, &p->flags)``)?"""
    todo = [e]
    while todo:
        n = todo.pop()
        if n.type in ("update_expression", "assignment_expression"):
            return True
        if n.type == "pointer_expression" and _op(n) == "&":
            arg = n.child_by_field_id(fid.ARGUMENT)
            if arg is not None and arg.type in ("field_expression", "subscript_expression"):
                return True
        todo.extend(n.named_children)
    return False


def _walk_ids(e: Node) -> list[Node]:
    """The identifiers ``e`` reads as values (not a call's function name)."""
    out: list[Node] = []
    todo = [e]
    while todo:
        n = todo.pop()
        if n.type == "identifier":
            up = n.parent
            fn = up.child_by_field_id(fid.FUNCTION) if up is not None and \
                up.type == "call_expression" else None
            if fn is None or fn.id != n.id:
                out.append(n)
            continue
        todo.extend(n.named_children)
    return out


def blind_to_caller(src: SourceFile, cfg: Cfg, branches: list[tuple[int, bool | None]],
                    params: list[str], pointers: frozenset[str], hidden: frozenset[str],
                    memo: dict[tuple[int, bool | None, frozenset[str]], bool | int | None]
                    | None = None) -> frozenset[int] | None:
    """Is a node reached on the paths every deciding branch of which
    (``branches``: deciding_branches()) reads only what no caller's
    argument decides (module doc)?  None if
    not; else the indexes of the pointer parameters the path needs
    non-NULL (``if ( !s ) goto out;`` before the take: a call site binds
    them, irqtakes.nonnull_at()).  A node on every path has no deciding
    branch: blind, needing nothing.  ``memo``: each branch's verdict, for
    the many nodes of one function (of its ``src``, ``cfg``, ``params``
    and ``pointers``) that share branches."""
    ps = frozenset(params)
    need: set[int] = set()
    for c, pol in branches:
        if memo is None:
            got = _branch_verdict(src, cfg, c, pol, params, ps, pointers, hidden)
        else:
            key = (c, pol, hidden)
            if key in memo:
                got = memo[key]
            else:
                got = memo[key] = _branch_verdict(src, cfg, c, pol, params, ps, pointers, hidden)
        if got is None:
            return None
        if got is not True:
            need.add(got)
    return frozenset(need)


def _branch_verdict(src: SourceFile, cfg: Cfg, c: int, pol: bool | None, params: list[str],
                    ps: frozenset[str], pointers: frozenset[str], hidden: frozenset[str]
                    ) -> bool | int | None:
    """One deciding branch of blind_to_caller(): True if it reads only
    what no caller's argument decides, the index of the pointer parameter
    a NULL test of which the path passes, else None."""
    ast = cfg.nodes[c].ast
    if ast is None:
        return None
    if _branch_blind(src, ast, ps, pointers, hidden):
        return True
    got = atoms(src, ast, pol) if pol is not None else []
    if len(got) == 1 and got[0][1] is True and got[0][0] in pointers:
        return params.index(got[0][0])  # a NULL test the path passes
    return None


def atoms(src: SourceFile, e: Node, pol: bool | None) -> list[Cond]:
    """The predicates ``e`` tests, each with the outcome the path needs when
    ``e`` is ``pol`` (None: open)."""
    while True:
        if e.type == "parenthesized_expression" and e.named_child_count == 1:
            e = e.named_children[0]
        elif e.type == "unary_expression" and src.text(e).lstrip().startswith("!"):
            arg = e.child_by_field_id(fid.ARGUMENT)
            if arg is None:
                return []
            e, pol = arg, (None if pol is None else not pol)
        elif e.type == "call_expression" and _fn_name(src, e) in _HINTS:
            args = e.child_by_field_id(fid.ARGUMENTS)
            if args is None or args.named_child_count != 1:
                return []
            e = args.named_children[0]
        else:
            break
    if e.type == "binary_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        o = src.text(op) if op is not None else ""
        left, right = e.child_by_field_id(fid.LEFT), e.child_by_field_id(fid.RIGHT)
        if left is None or right is None:
            return []
        if o in ("==", "!=") and (_zero(src, left) or _zero(src, right)):
            other = right if _zero(src, left) else left
            return atoms(src, other, None if pol is None else (pol if o == "!=" else not pol))
        if o == "&&":
            p = True if pol is True else None
            return atoms(src, left, p) + atoms(src, right, p)
        if o == "||":
            p = False if pol is False else None
            return atoms(src, left, p) + atoms(src, right, p)
        return atoms(src, left, None) + atoms(src, right, None)
    if e.type in _ATOMS:
        t = squash(src.text(e))
        if e.type == "identifier" and _CONST.fullmatch(t):
            return []
        return [(t, pol)]
    out: list[Cond] = []
    for c in e.named_children:
        out.extend(atoms(src, c, None))
    return out


def _fn_name(src: SourceFile, call: Node) -> str | None:
    fn = call.child_by_field_id(fid.FUNCTION)
    return src.text(fn) if fn is not None else None


def _zero(src: SourceFile, e: Node) -> bool:
    return _ZERO.fullmatch(squash(src.text(e))) is not None


_VAR = re.compile(r"(?<![.>\w$])[A-Za-z_]\w*+(?!\s*\()")


def template_conds(conds: Iterable[Cond], params: list[str], hidden: set[str]) -> list[Cond]:
    """In a summary's terms: a parameter as ``${i}``, a name its callers
    cannot see (``hidden``: locals, parameters the body assigns) as ``?``.
    A bare hidden name is dropped: it has no head another test could
    share."""
    out: list[Cond] = []
    for t, pol in conds:
        if t in hidden or t == "?":
            continue

        def sub(m: re.Match[str]) -> str:
            v = m.group(0)
            if v in hidden:
                return "?"
            return f"${{{params.index(v)}}}" if v in params else v

        out.append((_VAR.sub(sub, t), pol))
    return out


def encode(conds: Iterable[Cond]) -> str:
    """Effect.conds: one predicate a line, its outcome first."""
    return "\n".join(sorted({("?" if p is None else "+" if p else "-") + t for t, p in conds}))


def decode(text: str | None) -> list[Cond]:
    if not text:
        return []
    return [(line[1:], None if line[0] == "?" else line[0] == "+")
            for line in text.split("\n") if line]


_INNER = re.compile(r"\$\{(\d+)\}")


def bind(text: str | None, args: list[str]) -> str | None:
    """A summary's conditions with its parameters bound to a call's
    arguments (an argument the call lacks: ``?``)."""
    if not text or "${" not in text:
        return text

    def one(line: str) -> str:
        body = _INNER.sub(lambda m: "(" + args[int(m.group(1))] + ")"
                          if int(m.group(1)) < len(args) else "?", line[1:])
        return line[0] + squash(body)

    return "\n".join(one(x) for x in text.split("\n"))


def head(t: str) -> str:
    """What a predicate asks: the function it calls, the field it reads,
    else its text."""
    m = re.fullmatch(r"([A-Za-z_]\w*)\s*\(.*\)", t, re.S)
    if m is not None:
        return m.group(1) + "()"
    m = re.search(r"(?:->|\.)\s*([A-Za-z_]\w*)$", t)
    if m is not None:
        return "." + m.group(1)
    return t.lstrip("*&")


def may_exclude(caller: Iterable[Cond], callee: Iterable[Cond]) -> bool:
    """May the caller's path to a call and the callee's path to its take
    exclude each other?  Yes when both test the same head on different
    texts (nothing here relates them), or with outcomes that differ or are
    open."""
    by_head: dict[str, list[Cond]] = {}
    for c in caller:
        by_head.setdefault(head(c[0]), []).append(c)
    for t, pol in callee:
        for u, q in by_head.get(head(t), ()):
            if "?" in t or "?" in u or t != u or pol is None or q is None or pol != q:
                return True
    return False
