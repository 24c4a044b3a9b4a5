"""Branch facts the held-lock run does not keep, checked along one path.

The run keeps only the conditions that decide a lock operation
(conditions.keep_lock_guards): tracking every flag would multiply its
states.  So a witness path it gives may test one value twice with outcomes
that contradict each other where neither test guards a lock -- ``if (
a.cmd != GET ) ...`` false, then ``switch ( a.cmd ) case NOTIFY:`` -- and a
reader shown that path rightly doubts the finding.  This module says
whether a path is such a one (``Agreement.contradicts``) and finds, in the
run's own transitions, one that is not (witnesspaths.py).

What is tracked, and only while nothing may have changed it: tests of a
local or a parameter, or of a field reached from one (``x``, ``!x``,
``x == C``, ``x != C``, ``x < N``, ``a.b``, ``p->f != NULL``, ``x == y``),
the case a ``switch`` on one takes, and what an assignment gives it (``rc
= 0``, ``addr = start``).  C is a constant: a number N, or a name the
function uses as a ``case`` label or spells in capitals.  Two constants
differ when both are numbers of different value or both are labels of one
switch (C wants a switch's labels distinct); what numbers say of one value
is decided exactly (a property test checks it against brute force).  A
fact is forgotten where the value may change: an assignment to it, to
what contains it or to what it contains, or to what it was compared with;
its address taken (a call given ``&x`` or ``x`` itself, which a macro may
assign); and for a value reached through a pointer (``p->f``) any call or
any store through a pointer.  A variable whose address is kept anywhere
(not only handed to a call) is not tracked at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tree_sitter import Node

from xenpatch.analysis.functions import FunctionInfo, strip_parens
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.patterns import FN_DEFINE
from xenpatch.c.source import SourceFile, directives, walk

# An expression tracked: a variable, or fields reached from one.
_TERM = re.compile(r"[A-Za-z_]\w*(?:(?:\.|->)[A-Za-z_]\w*)*")
_CAPS = re.compile(r"[A-Z_][A-Z0-9_]*")
_NUMBER = re.compile(r"-?(0[xX][0-9a-fA-F]+|\d+)[uUlL]*")
_NULLS = frozenset({"NULL", "0"})
# Declared types (blanks squashed, as FunctionInfo keeps them) whose values
# do not wrap at the numbers a test names: signed integers.
_SIGNED = re.compile(r"(signed)?(int|long|short|longlong|longint|char)|s(8|16|32|64)"
                     r"|int(8|16|32|64)_t|bool|bool_t|_Bool")
# A number any integer type holds as written.
_SMALL = range(0, 128)
# The file's kept facts (SourceFile.derived): _file_names().
_FILE_NAMES = "sidefacts: file names"


@dataclass(frozen=True, slots=True)
class Known:
    """What a path has shown of one value."""

    eq: str | None = None  # the constant it equals
    ne: frozenset[str] = frozenset()  # constants it does not equal
    truth: bool | None = None  # non-zero?
    lo: int | None = None  # bounds a test of it against a number set
    hi: int | None = None


# Per tracked expression, what the path has shown; sorted, hashable.
Side = tuple[tuple[str, Known], ...]


@dataclass(frozen=True, slots=True)
class _Test:
    term: str
    op: str  # "truth", "==", "!=", or "<", "<=", ">", ">=" against a number
    const: str | None
    negated: bool


def _root(term: str) -> str:
    m = re.match(r"[A-Za-z_]\w*", term)
    return m.group(0) if m else term


def _related(a: str, b: str) -> bool:
    """Does a store to a change b (or the other way round): one is the
    other or contains it (``a`` and ``a.cmd``)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return long_.startswith(short) and long_[len(short)] in ".-"


class Agreement:
    """The facts of one function's branches, ready to follow along paths."""

    def __init__(self, src: SourceFile, cfg: Cfg, info: FunctionInfo) -> None:
        self.cfg = cfg
        self._vars = set(info.locals) | set(info.params)
        self._types = {**info.param_types, **info.local_types}
        labels = tuple(frozenset(_text(src, v) for v in vals if v is not None)
                       for vals in cfg.case_values.values())
        self._case_names = frozenset().union(*labels) if labels else frozenset()
        self._functions, enumerators = _file_names(src)
        values = {k: v for k, v in info.exacts.items() if isinstance(v, int)}
        values.update(enumerators)
        self._consts = Consts(labels, values)
        self._kept_addr = self._addresses_kept(src, cfg)
        self._tests: dict[int, _Test | None] = {}
        self._kills: dict[int, tuple[frozenset[str], bool, bool]] = {}
        # Node -> the tracked expressions it sets to a number or to another
        # (``rc = 0;``, ``addr = start;``).
        self._given: dict[int, tuple[tuple[str, str], ...]] = {}
        self._src = src

    # -- what each node says and does ------------------------------------------

    def _addresses_kept(self, src: SourceFile, cfg: Cfg) -> frozenset[str]:
        out: set[str] = set()
        for node in cfg.nodes:
            if node.ast is None:
                continue
            for x in walk(node.ast):
                if x.type == "pointer_expression" and x.child_by_field_id(
                        fid.OPERATOR) is not None and src.text(
                        x.child_by_field_id(fid.OPERATOR)) == "&":
                    up = x.parent
                    while up is not None and up.type == "parenthesized_expression":
                        up = up.parent
                    if up is None or up.type != "argument_list":
                        arg = x.child_by_field_id(fid.ARGUMENT)
                        if arg is not None:
                            out.add(_root(_text(src, arg)))
        return frozenset(out)

    def _const(self, text: str) -> bool:
        return bool(_NUMBER.fullmatch(text)) or text in self._case_names or \
            bool(_CAPS.fullmatch(text)) or text == "NULL" or text in self._consts.values

    def _term(self, text: str) -> bool:
        return bool(_TERM.fullmatch(text)) and _root(text) in self._vars \
            and _root(text) not in self._kept_addr and not self._const(text)

    def _holds_number(self, term: str, number: int) -> bool:
        """Is ``term == number`` what C compares?  Any integer holds a
        small one; a larger or negative one only a signed integer, whose
        declared type the function shows (an unsigned one wraps it)."""
        if number in _SMALL:
            return True
        t = self._types.get(term)
        return t is not None and "unsigned" not in t and bool(_SIGNED.fullmatch(t))

    def test(self, n: int) -> _Test | None:
        if n in self._tests:
            return self._tests[n]
        node = self.cfg.nodes[n]
        got = None
        if node.kind is Kind.COND and node.ast is not None:
            got = self._parse(node.ast)
        self._tests[n] = got
        return got

    def _parse(self, ast: Node, negated: bool = False) -> _Test | None:
        src = self._src
        e = strip_parens(ast)
        if e.type == "unary_expression":
            bang = e.child_by_field_id(fid.OPERATOR)
            arg = e.child_by_field_id(fid.ARGUMENT)
            if bang is not None and arg is not None and src.text(bang) == "!":
                return self._parse(arg, not negated)
            return None
        if e.type == "binary_expression":
            op_n = e.child_by_field_id(fid.OPERATOR)
            left, right = e.child_by_field_id(fid.LEFT), e.child_by_field_id(fid.RIGHT)
            if op_n is None or left is None or right is None:
                return None
            op = src.text(op_n)
            if op not in ("==", "!=", "<", "<=", ">", ">="):
                return None
            lt, rt = _text(src, strip_parens(left)), _text(src, strip_parens(right))
            if op in ("==", "!=") and lt != rt and self._term(lt) and self._term(rt):
                # Two variables: one fact, kept under the first name.
                return _pair(lt, op, rt, negated)
            if self._term(rt) and self._const(lt):
                lt, rt = rt, lt
            if not (self._term(lt) and self._const(rt)):
                return None
            v = self._consts.num(rt)
            if v is not None and not self._holds_number(lt, v):
                return None
            if op not in ("==", "!="):
                if v is None:
                    return None
                if lt != _text(src, strip_parens(left)):
                    # "C < x" is "x > C".
                    op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
                return _Test(lt, op, rt, negated)
            if rt in _NULLS:
                # x == NULL: x is zero
                return _Test(lt, "truth", None, negated != (op == "=="))
            return _Test(lt, op, rt, negated)
        t = _text(src, e)
        if self._term(t):
            return _Test(t, "truth", None, negated)
        return None

    def kills(self, n: int) -> tuple[frozenset[str], bool, bool]:
        """What node n may change: the expressions stored to (or whose
        address or self is handed to a call), whether it calls, whether it
        stores through a pointer."""
        got = self._kills.get(n)
        if got is not None:
            return got
        src = self._src
        node = self.cfg.nodes[n]
        stored: set[str] = set()
        given: dict[str, str] = {}
        calls = False
        through = False
        ast = node.ast
        if ast is not None and not (node.kind is Kind.SWITCH and n in self.cfg.pp_conds):
            for x in walk(ast):
                if x.type in ("assignment_expression", "update_expression"):
                    lv = x.child_by_field_id(fid.LEFT) or x.child_by_field_id(fid.ARGUMENT)
                    if lv is not None:
                        t = _text(src, strip_parens(lv))
                        if _TERM.fullmatch(t) and "->" not in t:
                            stored.add(t)
                        else:
                            # Through a pointer: whatever else it may alias.
                            through = True
                            stored.add(_root(t.lstrip("*(&")))
                        right = x.child_by_field_id(fid.RIGHT)
                        op = x.child_by_field_id(fid.OPERATOR)
                        if _TERM.fullmatch(t) and right is not None and op is not None \
                                and src.text(op) == "=":
                            r = _text(src, strip_parens(right))
                            if _NUMBER.fullmatch(r) or (r != t and self._term(r)):
                                given[t] = r
                elif x.type == "declaration":
                    # "int x;" (an initialised one is its init_declarator's)
                    for c in x.children_by_field_name("declarator"):
                        if c.type == "identifier":
                            stored.add(_text(src, c))
                elif x.type == "init_declarator":
                    d = x.child_by_field_id(fid.DECLARATOR)
                    if d is not None:
                        m = re.search(r"[A-Za-z_]\w*", _text(src, d))
                        if m:
                            stored.add(m.group(0))
                            v = x.child_by_field_id(fid.VALUE)
                            r = _text(src, strip_parens(v)) if v is not None else ""
                            if d.type == "identifier" and (
                                    _NUMBER.fullmatch(r) or (r != m.group(0) and self._term(r))):
                                given[m.group(0)] = r
                elif x.type == "call_expression":
                    calls = True
                    args = x.child_by_field_id(fid.ARGUMENTS)
                    callee = x.child_by_field_id(fid.FUNCTION)
                    # A function gets copies; a macro may assign what it is
                    # given.  Only the file's own functions are known not
                    # to be macros.
                    by_value = callee is not None and src.text(callee) in self._functions
                    for a in (args.named_children if args is not None else ()):
                        t = _text(src, strip_parens(a))
                        if t.startswith("&") or not by_value:
                            t = t.lstrip("&")
                            if _TERM.fullmatch(t):
                                stored.add(t)
        got = (frozenset(stored), calls, through)
        self._kills[n] = got
        # Only a node storing nothing else: its order among them is unknown.
        self._given[n] = tuple(given.items()) if len(given) == len(stored) else ()
        return got

    # -- following a path -------------------------------------------------------

    def advance(self, side: Side, n: int, succ: int) -> Side | None:
        """The facts after leaving node n for succ; None if the edge
        contradicts them."""
        stored, calls, through = self.kills(n)
        if side and (stored or calls or through):
            side = tuple((t, k) for t, k in side if not any(
                any(_related(s, x) for s in stored) or ("->" in x and (calls or through))
                for x in _names(t, k)))
        for t, c in self._given.get(n, ()):
            v = self._consts.num(c)
            if self._term(t) and (v is None or self._holds_number(t, v)):
                side = _learn(side, _pair(t, "==", c), True, self._consts) or side
        node = self.cfg.nodes[n]
        if node.kind is Kind.COND and len(node.succ) == 2 and node.succ[0] != node.succ[1]:
            test = self.test(n)
            if test is None:
                return side
            outcome = (succ == node.succ[0]) != test.negated
            return _learn(side, test, outcome, self._consts)
        if node.kind is Kind.SWITCH and n in self.cfg.case_values and node.ast is not None:
            inner = strip_parens(node.ast)
            term = _text(self._src, inner)
            if not self._term(term) or node.succ.count(succ) != 1:
                return side
            vals = self.cfg.case_values[n]
            texts = [None if lab is None else _text(self._src, lab) for lab in vals]
            if any(lt is not None and (num := self._consts.num(lt)) is not None
                   and not self._holds_number(term, num) for lt in texts):
                return side  # a label the switched value may hold wrapped
            here = texts[node.succ.index(succ)]
            if here is not None:
                return _learn(side, _Test(term, "==", here, False), True, self._consts)
            # The default: none of the labels.
            now: Side | None = side
            for other in texts:
                if other is not None and now is not None:
                    now = _learn(now, _Test(term, "!=", other, False), True, self._consts)
            return now
        return side

    def contradicts(self, nodes: list[int]) -> bool:
        side: Side | None = ()
        for a, b in zip(nodes, nodes[1:], strict=False):
            side = self.advance(side, a, b)  # type: ignore[arg-type]
            if side is None:
                return True
        return False


@dataclass(frozen=True)
class Consts:
    """What the function's constants are known to be: the labels of each
    switch (distinct, as C wants them) and the values of named constants
    (the tree's integer macros, the file's enumerators)."""

    labels: tuple[frozenset[str], ...] = ()
    values: Mapping[str, int] = field(default_factory=dict)

    def num(self, t: str) -> int | None:
        if _is_number(t):
            return _value(t)
        return self.values.get(t)


def _learn(side: Side, test: _Test, outcome: bool, consts: Consts) -> Side | None:
    cur = dict(side)
    k = cur.get(test.term, Known())
    c = test.const
    if test.op == "truth":
        if k.truth is not None and k.truth != outcome:
            return None
        k = Known(k.eq, k.ne, outcome, k.lo, k.hi)
    elif test.op in ("==", "!="):
        assert c is not None
        if outcome == (test.op == "=="):
            if k.eq is not None and _distinct(k.eq, c, consts):
                return None
            k = Known(c, k.ne, k.truth, k.lo, k.hi)
        else:
            k = Known(k.eq, k.ne | {c}, k.truth, k.lo, k.hi)
    else:
        v = consts.num(c) if c is not None else None
        assert v is not None
        # The bounds each outcome sets (integers: "x < v" is "x <= v - 1").
        lo, hi = {
            ("<", True): (None, v - 1), ("<", False): (v, None),
            ("<=", True): (None, v), ("<=", False): (v + 1, None),
            (">", True): (v + 1, None), (">", False): (None, v),
            (">=", True): (v, None), (">=", False): (None, v - 1),
        }[(test.op, outcome)]
        k = Known(k.eq, k.ne, k.truth,
                  k.lo if lo is None else lo if k.lo is None else max(k.lo, lo),
                  k.hi if hi is None else hi if k.hi is None else min(k.hi, hi))
    if not _consistent(k, consts):
        return None
    cur[test.term] = k
    return tuple(sorted(cur.items(), key=lambda kv: kv[0]))


def _consistent(k: Known, consts: Consts) -> bool:
    """Can one integer be all that k says?  Exact for what numbers say; a
    named constant whose value is not known only meets its own name."""
    if k.eq is not None and k.eq in k.ne:
        return False
    if k.lo is not None and k.hi is not None and k.lo > k.hi:
        return False
    banned = {v for n in k.ne if (v := consts.num(n)) is not None}

    def fits(v: int) -> bool:
        return (k.lo is None or v >= k.lo) and (k.hi is None or v <= k.hi) \
            and v not in banned and (k.truth is None or (v != 0) == k.truth)

    if k.eq is not None and (v := consts.num(k.eq)) is not None:
        return fits(v)
    if k.truth is False:
        return fits(0)
    if k.lo is not None and k.hi is not None and k.hi - k.lo <= 64:
        return any(fits(v) for v in range(k.lo, k.hi + 1))
    # Unbounded on a side: finitely many values are ruled out.
    return True


def _pair(a: str, op: str, b: str, negated: bool = False) -> _Test:
    """``a == b`` of two variables (or a variable and a constant) as the
    fact of the name sorting first, so that both spellings meet."""
    if not _is_number(b) and b < a:
        a, b = b, a
    return _Test(a, op, b, negated)


def _names(t: str, k: Known) -> list[str]:
    """The expressions a fact rests on: its own and those it is compared
    with (a store to either forgets it)."""
    return [t, *(x for x in (k.eq, *k.ne) if x is not None and _TERM.fullmatch(x))]


def _is_number(t: str) -> bool:
    if not _NUMBER.fullmatch(t):
        return False
    try:
        _value(t)
    except ValueError:
        return False  # "08": not C
    return True


def _value(t: str) -> int:
    digits = t.rstrip("uUlL")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("-")
    if re.fullmatch(r"0\d+", digits):
        return sign * int(digits, 8)
    return sign * int(digits, 0)


def _distinct(a: str, b: str, consts: Consts) -> bool:
    if a == b:
        return False
    va, vb = consts.num(a), consts.num(b)
    if va is not None and vb is not None:
        return va != vb
    return any(a in ls and b in ls for ls in consts.labels)


def _file_names(src: SourceFile) -> tuple[frozenset[str], dict[str, int]]:
    """The names the file defines or declares as functions (less those it
    also defines as macros), and the values of its enumerators (given, or
    one more than the one before; unknown after one whose value is not a
    number).  Kept on the parse: each finding of the file asks."""
    got: tuple[frozenset[str], dict[str, int]] | None = src.derived.get(_FILE_NAMES)
    if got is not None:
        return got
    functions: set[str] = set()
    values: dict[str, int] = {}
    for top in src.tree.root_node.named_children:
        declares = top.type in ("function_definition", "declaration")
        stack = [top]
        while stack:
            d = stack.pop()
            if d.type == "function_declarator" and declares:
                name = d.child_by_field_id(fid.DECLARATOR)
                if name is not None and name.type == "identifier":
                    functions.add(src.text(name))
            elif d.type == "enumerator_list":
                nxt: int | None = 0
                for e in d.named_children:
                    if e.type != "enumerator":
                        continue
                    name = e.child_by_field_id(fid.NAME)
                    val = e.child_by_field_id(fid.VALUE)
                    if val is not None:
                        t = _text(src, strip_parens(val))
                        nxt = _value(t) if _is_number(t) else None
                    if name is not None and nxt is not None:
                        values[src.text(name)] = nxt
                    nxt = None if nxt is None else nxt + 1
            if d.type not in ("compound_statement", "enumerator_list"):
                stack.extend(d.named_children)
    macros = {m.group(1).decode() for m in directives(FN_DEFINE, src.raw)}
    got = src.derived[_FILE_NAMES] = (frozenset(functions - macros), values)
    return got


def _text(src: SourceFile, n: Node) -> str:
    return "".join(src.text(n).split())
