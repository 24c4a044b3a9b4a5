"""Which variables a loop macro steps (``for_each_possible_cpu(cpu)``).

The masking turns a loop macro's head into ``while (args)``
(c/masking/view.py), so the for loop it expands to, and the variable its
update clause steps, are out of the parser's sight.  A lock indexed by
that variable (``arr[cpu].lock``, ``per_cpu(v, cpu)->lock``) is the lock of
each element in turn, as under a plain ``for`` (conditions.loop_vars()),
and the dataflow names it collectively (``[*]``) only when it knows the
variable is stepped.

Which of a macro's arguments it steps is read from its own ``#define``
(LoopSteps): a parameter assigned in the update clause of the ``for`` it
expands to (in the condition of a ``while``), or passed where a nested loop
macro steps its argument (``for_each_possible_cpu(cpu)`` ->
``for_each_cpu(cpu, ...)`` -> ``for ((cpu) = ...; ...; (cpu) = ...)``).  A
name defined several ways (``#if NR_CPUS > 1``) steps what every definition
steps; one with a definition that is no loop head steps nothing.

Where no definition can be read (a macro of a header outside the tree's
include directories, a file with none), a macro of ONE argument that is a
bare variable steps it: the variable a one-argument loop names is the one
it iterates with, there being nothing else to iterate (for_each_domain(d),
for_each_online_cpu(cpu)).  With several arguments nothing is stepped:
position says nothing (for_each_cpu(cpu, mask) steps its first,
for_each_vcpu(d, v) its second).  A wrong "stepped" only names collectively
the locks indexed by that variable; a take and release in one round, and a
round leaving its element's lock held, are still seen (the collective lock
is held from the take to the release, and a way out of the loop between
them leaves it held).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path

from tree_sitter import Node

from xenpatch.analysis.headertexts import tree_texts
from xenpatch.analysis.lockkeys import balanced_parens
from xenpatch.c import fields as fid
from xenpatch.c.brackets import closing
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.source import SourceFile, directives

_CONTINUED = re.compile(rb"\\\r?\n")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_PARAM = re.compile(r"[A-Za-z_]\w*")
_HEAD = re.compile(r"(for|while)\s*\(")
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")

# One definition: its parameters and its body.
Definition = tuple[tuple[str, ...], str]


def loop_definitions(texts: Iterable[bytes]) -> dict[str, list[Definition]]:
    """Every function-like ``#define`` of some texts: name -> (parameters,
    body) of each (a variadic one's parameters are left empty)."""
    out: dict[str, list[Definition]] = {}
    for raw in texts:
        if b"define" not in raw:
            continue
        for m in directives(FN_DEFINE, raw):
            body = m.group(3)
            if b"\\" in body:
                body = _CONTINUED.sub(b" ", body)
            text = body.decode(errors="replace")
            if "/" in text:
                text = _COMMENT.sub(" ", text)
            params = tuple(p.strip() for p in m.group(2).decode(errors="replace").split(","))
            if not all(_PARAM.fullmatch(p) for p in params):
                params = ()  # variadic, or no parameters: steps none by name
            out.setdefault(m.group(1).decode(), []).append((params, text.strip()))
    return out


class LoopSteps:
    """Which parameters the loop macros of some definitions step, each
    name's worked out when first asked for; ``base``: the definitions
    these complete (a file's own over its tree's)."""

    def __init__(self, defs: Mapping[str, list[Definition]],
                 base: LoopSteps | None = None) -> None:
        self.defs = defs
        self.base = base
        self._memo: dict[str, frozenset[int] | None] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LoopSteps) and (
            self is other or (self.base is other.base and self.defs == other.defs))

    __hash__ = None  # type: ignore[assignment]

    def definitions(self, name: str) -> list[Definition] | None:
        got = self.defs.get(name)
        if got is None and self.base is not None:
            return self.base.definitions(name)
        return got

    def get(self, name: str) -> frozenset[int] | None:
        """The indices of the parameters ``name`` steps (empty: defined,
        but no loop head stepping any, by some definition); None: no
        definition."""
        if self.base is not None and name not in self.defs:
            return self.base.get(name)
        got = self._steps(name)
        return frozenset() if got is None and self.definitions(name) else got

    def _steps(self, name: str) -> frozenset[int] | None:
        """None: not a loop macro by its definitions (or it has none)."""
        if name in self._memo:
            return self._memo[name]
        self._memo[name] = None  # a macro naming itself is no loop we know
        got: frozenset[int] | None = None
        for params, body in self.definitions(name) or ():
            one = _definition_steps(params, body, self._steps)
            if one is None:
                got = None
                break
            got = one if got is None else got & one
        self._memo[name] = got
        return got


def _definition_steps(params: tuple[str, ...], body: str,
                      steps: Callable[[str], frozenset[int] | None]) -> frozenset[int] | None:
    head = _HEAD.match(body)
    if head is not None:
        inner = _inside(body, head.end() - 1)
        if inner is None:
            return None
        if head.group(1) == "for":
            clauses = _split(inner, ";")
            if len(clauses) != 3:
                return None
            clause = clauses[2]
        else:
            clause = inner
        return frozenset(i for i, p in enumerate(params) if _assigned(p, clause))
    call = _CALL.match(body)
    if call is None or call.group(1) in ("if", "switch"):
        return None
    inner = _inside(body, call.end() - 1)
    if inner is None:
        return None
    nested = steps(call.group(1))
    if nested is None:
        return None
    args = [_bare(a) for a in _split(inner, ",")]
    return frozenset(i for i, p in enumerate(params)
                     if any(j < len(args) and args[j] == p for j in nested))


def _inside(body: str, at: int) -> str | None:
    """The text inside the parenthesis opening at ``at``, when it closes at
    the end of the body (the body is that head and nothing more)."""
    i = closing(body, at, "(", ")")
    return body[at + 1:i] if i is not None and not body[i + 1:].strip() else None


def _split(t: str, sep: str) -> list[str]:
    """``t`` split at its top-level ``sep``."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in t:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur).strip())
    return out


def _bare(a: str) -> str:
    """An argument's text without the parentheses around it."""
    a = a.strip()
    while a.startswith("(") and a.endswith(")") and balanced_parens(a[1:-1]):
        a = a[1:-1].strip()
    return a


def _assigned(p: str, clause: str) -> bool:
    """Does ``clause`` assign the parameter ``p`` (``(p) = ...``, ``p++``)?"""
    n = re.escape(p)
    return re.search(
        rf"(?<![\w.>])(?:\(\s*{n}\s*\)|\b{n}\b)\s*(?:(?:[-+*/%&|^]|<<|>>)?=(?!=)|\+\+|--)"
        rf"|(?:\+\+|--)\s*(?:\(\s*{n}\s*\)|\b{n}\b)", clause) is not None


@cache
def tree_loops(root: Path | None, arch: str | None) -> LoopSteps:
    """The loop macros of a tree's headers, once per process."""
    return LoopSteps(loop_definitions(tree_texts(root, arch)) if root is not None
                     else {})


def file_loops(root: Path | None, arch: str | None, raw: bytes) -> LoopSteps:
    """What a C file sees: its own loop macros over its tree's."""
    tree = tree_loops(root, arch)
    own = loop_definitions((raw,)) if b"define" in raw else {}
    return LoopSteps(own, tree) if own else tree


# --- a function's loops ---------------------------------------------

_NAME = re.compile(rb"[A-Za-z_]\w*")
_WORD = re.compile(r"[A-Za-z_]\w*")


def stepping_loops(src: SourceFile, cfg: Cfg,
                   loops: LoopSteps | None) -> dict[str, list[Node]]:
    """The variables a loop of the function steps -> those loops: a for
    loop's update clause (as conditions.loop_vars()), and a loop macro's
    argument it steps (the ``while`` statement the masking made of it)."""
    out: dict[str, list[Node]] = {}
    seen: set[int] = set()
    for node in cfg.nodes:
        if node.ast is None:
            continue
        p = node.ast.parent
        if p is not None and p.type == "for_statement":
            if p.id not in seen:
                seen.add(p.id)
                upd = p.child_by_field_id(fid.UPDATE)
                for v in dict.fromkeys(_WORD.findall(src.text(upd)) if upd is not None else ()):
                    out.setdefault(v, []).append(p)
            continue
        if node.kind is not Kind.COND:
            continue
        while p is not None and p.type in ("parenthesized_expression", "comma_expression"):
            p = p.parent
        if p is None or p.type != "while_statement" or p.id in seen:
            continue
        seen.add(p.id)
        m = _NAME.match(src.raw, p.start_byte)
        if m is None or m.group() == b"while":
            continue
        cond = p.child_by_field_id(fid.CONDITION)
        if cond is None:
            continue
        args = [_bare(a) for a in _split(_bare(src.text(cond)), ",")]
        idx = loops.get(m.group().decode()) if loops is not None else None
        if idx is None:
            # No definition: a one-argument loop steps its variable (the
            # module's docstring).
            idx = frozenset((0,)) if len(args) == 1 else frozenset()
        for i in idx:
            if i < len(args) and _PARAM.fullmatch(args[i]):
                out.setdefault(args[i], []).append(p)
    return out
