"""Locks a function requires its caller to hold: what it asserts held at
its entry (``ASSERT(spin_is_locked(&d->lock))``, ``ASSERT(paging_locked_by_me(d))``,
``BUG_ON(!rw_is_locked(l))``), and what it inherits from a callee it calls
at its entry without taking the lock first.

A predicate means "held" when the lock table says it is a query of a lock
(``spin_is_locked``, ``rw_is_write_locked``...), when it is a macro or an
inline returning such a predicate, or when it is ``X_locked_by_me(args)``
(also ``X_is_locked``/``X_locked``) and ``X_lock(args)`` takes a lock: the
predicate asks about that lock.  The requirement is kept only when the
assertion runs on every path from the entry, before any lock is taken:
a top-level statement of the body with only straight-line statements
before it.  Requirements are named through the function's parameters
(``$0->arch.paging.lock``), as summaries are (templates.py).

The lint (xenpatch.lint.precond) checks them at call sites where the
caller's path shows the lock is known not held.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.functions import INDEXED, FunctionInfo, collect, strip_parens
from xenpatch.analysis.lockkeys import apply_aliases
from xenpatch.analysis.locktable import Effect, resolve, substitute
from xenpatch.analysis.templates import instantiate, template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_args, call_name
from xenpatch.c.source import SourceFile
from xenpatch.graphs import once_cut

# What a held-lock predicate's name may end in, after the name of the
# function that takes that lock's stem: paging_locked_by_me / paging_lock.
_HELD_NAME = re.compile(r"^([A-Za-z_]\w*?)_(?:locked_by_me|is_locked|locked)$")
# The statements after which an assertion no longer runs on every path, or
# no longer before whatever the function does to its locks.
_BRANCHY = frozenset({"return_statement", "if_statement", "goto_statement",
                      "switch_statement", "labeled_statement", "for_statement",
                      "while_statement", "do_statement", "compound_statement"})
_STRAIGHT = frozenset({"expression_statement", "declaration", "comment"})


@dataclass(frozen=True)
class Requirement:
    """A lock the function needs held when it is called."""

    key: str  # template ($0->lock) or a global's name
    kind: str
    via: str  # the predicate asserted, or the callee it was inherited from
    line: int  # the assertion or the call, in the requiring function
    func: str  # the function whose assertion it is, in the end


class Preconditions:
    """The requirements of a file's functions (and its headers' inlines),
    computed on demand."""

    def __init__(self, fa: FileAnalysis) -> None:
        self.fa = fa
        self.memo: dict[str, tuple[Requirement, ...]] = {}
        self.busy: set[str] = set()

    # -- predicates --------------------------------------------------------

    def predicate(self, name: str, args: list[str], depth: int = 0) -> list[Effect]:
        """The locks ``name(args)`` asserts held, as effects with keys in
        the caller's terms; [] if it is not a held-lock predicate."""
        fa = self.fa
        if depth > 4:
            return []
        table = fa.table
        effs = resolve(table, name, args)
        if effs is not None:
            return [e for e in effs if e.action == "query" and "$" not in e.key]
        w = fa.macro_calls.get(name)
        if w is not None:
            got = self.predicate(w.target, [substitute(a, args) for a in w.args], depth + 1)
            if got:
                return got
        inner = self._returned_call(name)
        if inner is not None:
            unit, call = inner
            params = _params(unit)
            sub = [_subst_params(unit.src.text(a), params, args) for a in call_args(call)]
            got = self.predicate(call_name(unit.src, call) or "", sub, depth + 1)
            if got:
                return got
        m = _HELD_NAME.match(name)
        if m is None:
            return []
        taken = resolve(table, m.group(1) + "_lock", args)
        if taken is None:
            return []
        return [e for e in taken if e.action == "acquire" and "$" not in e.key]

    def _returned_call(self, name: str) -> tuple[FunctionUnit, Node] | None:
        """``{ return CALL; }``: the function (of the file or an inline)
        and that call, when its whole body is that."""
        fa = self.fa
        f = fa.fns.get(name)
        if f is None and name in fa.headers.inlines:
            f = fa.header_fn(name)
        if f is None:
            return None
        body = f.node.child_by_field_id(fid.BODY)
        stmts = [c for c in body.named_children if c.type != "comment"] if body else []
        if len(stmts) != 1 or stmts[0].type != "return_statement" or not stmts[0].named_children:
            return None
        e = strip_parens(stmts[0].named_children[0])
        return (f, e) if e.type == "call_expression" else None

    # -- requirements ------------------------------------------------------

    def of(self, name: str) -> tuple[Requirement, ...]:
        """What ``name`` (a function of the file or a header inline)
        requires held at its entry."""
        got = self.memo.get(name)
        if got is not None:
            return got
        if name in self.busy:
            return ()
        fa = self.fa
        f = fa.fns.get(name)
        if f is None and name in fa.headers.inlines:
            f = fa.header_fn(name)
        if f is None:
            self.memo[name] = ()
            return ()
        g = f
        return once_cut(self.memo, self.busy, name, lambda: self._compute(g), ())

    def _compute(self, f: FunctionUnit) -> tuple[Requirement, ...]:
        src = f.src
        info: FunctionInfo | None = None
        reqs: dict[str, Requirement] = {}
        taken: set[str] = set()  # locks the straight-line prefix takes
        for call, name in prefix_calls(f):
            args = [src.text(a) for a in call_args(call)]
            line = src.line_of(call.start_byte)
            if name in ("ASSERT", "BUG_ON") and call_args(call):
                if info is None:
                    info = collect(src, f.node, f.name)
                for e in self._asserted(src, call_args(call)[0], name == "BUG_ON"):
                    t = _templ(e.key, info)
                    if t is not None and e.key not in taken:
                        reqs.setdefault(t, Requirement(t, e.kind, e.via, line, f.name))
                continue
            if self._takes(name, args, taken):
                continue
            if name == f.name or not self._maybe_requires(name):
                continue
            for r in self.of(name):
                e = instantiate(Effect("query", r.kind, "", "any", r.key, None, name),
                                args)
                if "$" in e.key:
                    continue
                if info is None:
                    info = collect(src, f.node, f.name)
                key = apply_aliases(e.key, info.aliases)
                t = _templ(key, info)
                # The prefix's takes as the requirement is named: through the
                # same aliases (spin_lock(&s->lock) with s = &d->arch.vacpi
                # takes what the callee's d->arch.vacpi.lock asks for).
                if t is not None and key not in {apply_aliases(k, info.aliases) for k in taken}:
                    reqs.setdefault(t, Requirement(t, r.kind, name, line, r.func))
        return tuple(reqs[k] for k in sorted(reqs))

    def _maybe_requires(self, name: str) -> bool:
        """Cheap: could ``name`` assert anything (its text names ASSERT or
        BUG_ON, or it calls a function of the file that might)?"""
        fa = self.fa
        f = fa.fns.get(name)
        if f is not None:
            return True
        text = fa.headers.inlines.get(name)
        return text is not None and (b"ASSERT" in text or b"BUG_ON" in text)

    def _takes(self, name: str, args: list[str], taken: set[str]) -> bool:
        """Does the call take a lock (recorded in ``taken``)?"""
        effs = resolve(self.fa.table, name, args)
        if effs is None:
            return False
        for e in effs:
            if e.action in ("acquire", "try"):
                taken.add(e.key)
        return True

    def _asserted(self, src: SourceFile, e: Node, negated: bool) -> list[Effect]:
        """The held-lock predicates an assertion's condition conjoins
        (BUG_ON's: the negated ones)."""
        e = strip_parens(e)
        if e.type == "binary_expression":
            op = e.child_by_field_id(fid.OPERATOR)
            if op is not None and op.type == ("||" if negated else "&&"):
                left, right = e.child_by_field_id(fid.LEFT), e.child_by_field_id(fid.RIGHT)
                return [*(self._asserted(src, left, negated) if left else []),
                        *(self._asserted(src, right, negated) if right else [])]
            return []
        if negated:
            if e.type != "unary_expression" or not src.text(e).lstrip().startswith("!"):
                return []
            arg = e.child_by_field_id(fid.ARGUMENT)
            return self._asserted(src, arg, False) if arg is not None else []
        if e.type != "call_expression":
            return []
        name = call_name(src, e)
        if name is None:
            return []
        args = [src.text(a) for a in call_args(e)]
        return [Effect("query", x.kind, x.mode, x.flavour, x.key, x.owner, name)
                for x in self.predicate(name, args)]


def prefix_calls(f: FunctionUnit) -> Iterator[tuple[Node, str]]:
    """The named calls of the body's straight-line prefix, in text order:
    what runs on every path from the entry before anything branches (the
    top-level statements up to the first that is not an expression or a
    declaration).  XL015's requirements and the IRQ demands
    (irqdemand.py) are read from these."""
    body = f.node.child_by_field_id(fid.BODY)
    if body is None:
        return
    src = f.src
    # The body's node index (functions.collect() made it): its nodes under
    # a statement are walk()'s of those types, in the same order.
    index = src.node_index(body, INDEXED)
    for stmt in body.named_children:
        if stmt.type in _BRANCHY or stmt.type not in _STRAIGHT:
            return
        for call in (n for n in index.under(stmt) if n.type == "call_expression"):
            name = call_name(src, call)
            if name is not None:
                yield call, name


def _templ(key: str, info: FunctionInfo) -> str | None:
    t = template(apply_aliases(key, info.aliases), info)
    # A requirement on a local's lock means nothing to the caller.
    return t


def _params(f: FunctionUnit) -> list[str]:
    return collect(f.src, f.node, f.name).params


def _subst_params(text: str, params: list[str], args: list[str]) -> str:
    index = {p: i for i, p in enumerate(params)}

    def one(m: re.Match[str]) -> str:
        i = index.get(m.group(0))
        return "(" + args[i] + ")" if i is not None and i < len(args) else m.group(0)

    return re.sub(r"(?<![.>\w])[A-Za-z_]\w*", one, text)
