"""Value classes of the flag tracking: what a constant is (value_class:
zero, positive, negative, non-zero), what a test of a variable decides
(VarTest), where a pointer came from, and which of those classes are
provably different pointers.

Xen's emergency-buffer idiom needs it (``avc_audit()``):

    buf = xmalloc_bytes(N);
    if ( !buf ) { spin_lock(&emerg_lock); buf = emerg_buf; }
    ...
    if ( buf == emerg_buf ) spin_unlock(&emerg_lock);

A fresh allocation is never a file-scope object, so the unlock runs exactly
on the paths that took the lock.  Accessors the rules declare distinct
(``p2m_get_altp2m()`` never returns the host p2m) work the same way.

Sets the rules name ([[values.sets]]) work the same way: the system
domains are a set whose members some globals point at (``dom_io``), a test
says whether a domain is one (``is_system_domain()``) and a lookup never
returns one (``rcu_lock_domain_by_id()`` finds only domains of the domain
list), so that after

    d = op == IO ? dom_io : rcu_lock_domain_by_id(id);
    ...
    if ( d != dom_io ) rcu_unlock_domain(d);

the unlock runs exactly on the paths that took the reference.

Exact values (the flag tracking's "=v" facts, VarTest.eval_exact): an
integer, a constant's name, or "!K" (known not K).  A macro whose body is
an integer literal is its value (exact_macros()): before frame numbers were
boxed, ``#define INVALID_MFN (~0UL)`` was a plain integer's sentinel, and a
helper holding a lock exactly when its result is not K is try-like with
success "!K" (outcomes()).  "Is K" never means "is zero": 0 is a valid
frame.

Classes: ``alloc`` (an allocator's result, maybe NULL), ``alloc+`` (the
same, known non-NULL), ``@G`` (the address of file-scope object G),
``call:F`` (what accessor F returned; ``call:F+`` known non-NULL),
``val:G`` (the value of G, a global the rules name as a set's member).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from tree_sitter import Node

from xenpatch.c import fields as fid
from xenpatch.c.cfg import call_name
from xenpatch.c.source import SourceFile, directives
from xenpatch.errors import XenpatchError

if TYPE_CHECKING:
    from xenpatch.analysis.loopmacros import LoopSteps

# Classes of a constant (and of what a test teaches of a variable):
# 0/false/NULL, >0/true, -E.../ERR_PTR, and "not zero".
ZERO, POS, NEG, NZ = "zero", "pos", "neg", "nz"
ALLOC, ALLOC_NZ = "alloc", "alloc+"
# The value of a global a set's rules name as a member (dom_io).
FIXED = "val:"


@dataclass(frozen=True)
class ValueSet:
    """Objects an API keeps apart: what ``test`` is true on exactly, the
    globals that always point at a member (set once, never NULL), and the
    accessors whose result (when not NULL) never is one."""

    name: str
    test: str | None
    members: frozenset[str]
    never: frozenset[str]


class ValueRulesError(XenpatchError, ValueError):
    pass


@dataclass(frozen=True)
class ValueRules:
    allocators: frozenset[str] = frozenset()
    # Groups of accessors whose results are never the same object.
    distinct: tuple[frozenset[str], ...] = ()
    # Functions that free the object their first argument points to.
    deallocators: frozenset[str] = frozenset()
    sets: tuple[ValueSet, ...] = ()
    # Named constant -> the named bounds it is at or above ([[values.floors]]).
    floors: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @staticmethod
    def from_toml(data: dict, where: str) -> ValueRules:
        allocators = data.get("allocators", [])
        distinct = data.get("distinct", [])
        if not isinstance(allocators, list) or not all(isinstance(a, str) for a in allocators):
            raise ValueRulesError(f"{where}: [values] allocators must be a list of names")
        if not isinstance(distinct, list) or not all(
            isinstance(g, list) and len(g) >= 2 and all(isinstance(n, str) for n in g)
            for g in distinct
        ):
            raise ValueRulesError(f"{where}: [values] distinct must be a list of name lists")
        deallocators = data.get("deallocators", [])
        if not isinstance(deallocators, list) or not all(isinstance(a, str) for a in deallocators):
            raise ValueRulesError(f"{where}: [values] deallocators must be a list of names")
        return ValueRules(frozenset(allocators), tuple(frozenset(g) for g in distinct),
                          frozenset(deallocators), _sets(data.get("sets", []), where),
                          _floors(data.get("floors", []), where))

    def accessor(self, name: str) -> bool:
        return any(name in g for g in self.distinct) or any(name in s.never for s in self.sets)

    def member(self, name: str) -> bool:
        """Is ``name`` a global the rules say always points at a set's member?"""
        return any(name in s.members for s in self.sets)

    @property
    def tests(self) -> frozenset[str]:
        return frozenset(s.test for s in self.sets if s.test is not None)


def _names(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(n, str) for n in v)


def _floors(data: object, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(data, list) or not all(
            isinstance(d, dict) and isinstance(d.get("floor"), str) and _names(d.get("names"))
            and set(d) == {"floor", "names"} for d in data):
        raise ValueRulesError(f"{where}: [[values.floors]] needs floor (a name) and names")
    out: dict[str, set[str]] = {}
    for d in data:
        for n in d["names"]:
            out.setdefault(n, set()).add(d["floor"])
    return {n: frozenset(f) for n, f in out.items()}


def _sets(data: object, where: str) -> tuple[ValueSet, ...]:
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueRulesError(f"{where}: [[values.sets]] must be tables")
    out = []
    for d in data:
        name, test = d.get("name"), d.get("test")
        members, never = d.get("members", []), d.get("never", [])
        if not isinstance(name, str) or not (test is None or isinstance(test, str)) or \
                not _names(members) or not _names(never) or set(d) - {
                    "name", "test", "members", "never"}:
            raise ValueRulesError(
                f"{where}: [[values.sets]] needs a name, and takes test (a function name), "
                "members and never (lists of names)")
        out.append(ValueSet(name, test, frozenset(members), frozenset(never)))
    return tuple(out)


class IntMacros(Protocol):
    """What a file's integer macros say of a constant expression's value
    (analysis/flagbits.Masks)."""

    def value(self, text: str, depth: int = 0) -> int | None: ...


@dataclass(frozen=True)
class FileValues:
    """The rules plus what the file declares at file scope."""

    rules: ValueRules = field(default_factory=ValueRules)
    arrays: frozenset[str] = frozenset()  # file-scope arrays: the name is an address
    objects: frozenset[str] = frozenset()  # every file-scope object: &name is an address
    # "#define NAME 0" / "-4" / "(-6)" of the file and its headers: the
    # value class of NAME ("zero", "pos", "neg"), so that a helper returning
    # FFA_RET_OK or FFA_RET_BUSY says success or failure (issue 9, item 6).
    consts: Mapping[str, str] = field(default_factory=dict)
    # Equality functions of typesafe wrappers (mfn_eq): with the type's
    # constant (a "zero" in consts: INVALID_MFN) they test a value as
    # "!v" tests a pointer (see typesafe.py).
    eqs: frozenset[str] = frozenset()
    # Object-like macros whose body is a non-zero integer literal, of the
    # tree's headers and the file: name -> exact value (exact_macros()).
    # "v == NO_PAGE" with "#define NO_PAGE (~0UL)" compares v with that
    # value, whatever v was assigned: a plain integer's sentinel.
    exacts: Mapping[str, int | str] = field(default_factory=dict)
    # Element accessor macros of the tree's headers and the file: name ->
    # (collection, "." or "->") (analysis/collective.py).
    elements: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Which arguments the loop macros the file sees step (analysis/loopmacros.py).
    # None: none read (what a loop macro steps is then its fallback's).
    loops: LoopSteps | None = None
    # The integer macros the file sees, evaluated on demand: what a
    # constant flags word says of one of its bits (analysis/flagbits.py).
    masks: IntMacros | None = None


def file_values(src: SourceFile, rules: ValueRules) -> FileValues:
    arrays: set[str] = set()
    objects: set[str] = set()
    for d in src.root.named_children:
        if d.type != "declaration":
            continue
        for declarator in d.children_by_field_name("declarator"):
            decl: Node | None = declarator
            if declarator.type == "init_declarator":
                decl = declarator.child_by_field_id(fid.DECLARATOR)
            if decl is None or decl.type in ("function_declarator", "pointer_declarator"):
                continue
            is_array = decl.type == "array_declarator"
            while decl is not None and decl.type != "identifier":
                decl = decl.child_by_field_id(fid.DECLARATOR)
            if decl is None:
                continue
            objects.add(src.text(decl))
            if is_array:
                arrays.add(src.text(decl))
    return FileValues(rules, frozenset(arrays), frozenset(objects))


# Searched for with source.directives(): a "^[ \t]*" lead would have the
# regex engine try every byte of the file.  "-5", "(0x10)", "(~0UL)".  The
# runs of blanks possessive: what follows each cannot match a blank, so no
# other split matches, and a line that is no such definition fails at once
# (tried split by split, the aligned blanks of a header's "#define X  (Y)"
# made this pattern four times slower than it is:
# tests/lint/test_directive_patterns.py).
_CONST_DEFINE = re.compile(
    rb"#[ \t]*+define[ \t]++([A-Za-z_]\w*+)[ \t]++(\(?)[ \t]*+([-~]?)[ \t]*+"
    rb"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)([uUlL]*+)[ \t]*+(\)?)[ \t]*+(?:/\*.*?\*/[ \t]*+)?$",
    re.M,
)


def _literal_defines(raw: bytes) -> list[tuple[str, str, int, str, bool]]:
    """Object-like macros whose body is an integer literal: (name, its
    operator "", "-" or "~", the literal's value, its suffix, whether its
    parentheses pair up)."""
    out = []
    for m in directives(_CONST_DEFINE, raw):
        t = m.group(4)
        v = int(t, 16) if t[:2] in (b"0x", b"0X") else int(t, 8 if t.startswith(b"0") else 10)
        out.append((m.group(1).decode(), m.group(3).decode(), v, m.group(5).decode().upper(),
                    bool(m.group(2)) == bool(m.group(6))))
    return out


def constant_macros(raw: bytes) -> dict[str, str]:
    """Object-like macros defined as an integer literal: name -> class.
    A complemented literal has none: ``~0UL`` is the largest unsigned
    long, ``~0`` is -1."""
    out: dict[str, str] = {}
    for name, op, v, _, _ in _literal_defines(raw):
        if op != "~":
            out.setdefault(name, "zero" if v == 0 else ("neg" if op else "pos"))
    return out


# Values that mean the same whatever integer type they are compared in:
# beyond, a literal is known only as itself (exact_value()).
_SMALL = 1 << 31


def exact_value(op: str, v: int, suffix: str) -> int | str:
    """The exact value of a literal as the flag tracking compares it: an
    int when its value cannot depend on the type it is converted to, else
    its canonical text ("~0:LU"), equal only to the same text (``~0UL`` and
    ``-1`` may be one value in an unsigned long, or not)."""
    if op != "~" and v < _SMALL:
        return -v if op == "-" else v
    return f"{op}{v}:{''.join(sorted(suffix))}"


def exact_macros(texts: Iterable[bytes]) -> dict[str, int | str]:
    """Object-like macros whose body is a non-zero integer literal, in
    these sources: name -> exact value (exact_value()).  A name defined
    as two different values (per configuration) has none; zero is a
    class (constant_macros()), not a sentinel."""
    out: dict[str, int | str] = {}
    bad: set[str] = set()
    for raw in texts:
        for name, op, v, suffix, paired in _literal_defines(raw):
            x = exact_value(op, v, suffix)
            if x == 0 or not paired or out.setdefault(name, x) != x:
                bad.add(name)
    return {n: x for n, x in out.items() if n not in bad}


def strip_casts(e: Node) -> Node:
    """``e`` without the parentheses and casts around its value."""
    while e.type in ("parenthesized_expression", "cast_expression"):
        inner = e.child_by_field_id(fid.VALUE) if e.type == "cast_expression" else (
            e.named_children[0] if e.named_child_count == 1 else None)
        if inner is None:
            break
        e = inner
    return e


def constant_origin(src: SourceFile, e: Node, fv: FileValues) -> str | None:
    """``@G`` for ``G`` (an array) or ``&G``; None otherwise."""
    e = strip_casts(e)
    if e.type == "identifier" and src.text(e) in fv.arrays:
        return "@" + src.text(e)
    if e.type == "pointer_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        arg = e.child_by_field_id(fid.ARGUMENT)
        if op is not None and op.type == "&" and arg is not None and arg.type == "identifier" \
                and src.text(arg) in fv.objects:
            return "@" + src.text(arg)
    return None


def fixed_value(src: SourceFile, e: Node, fv: FileValues,
                local: Container[str] = ()) -> str | None:
    """``val:G`` for ``G``, a global the rules name as a set's member (and
    no local of that name hides)."""
    e = strip_casts(e)
    if e.type == "identifier":
        name = src.text(e)
        if name not in local and fv.rules.member(name):
            return FIXED + name
    return None


def origin(src: SourceFile, e: Node | None, fv: FileValues,
           local: Container[str] = ()) -> str | None:
    """The class of a pointer assigned from ``e``, if it says where from."""
    if e is None:
        return None
    e = strip_casts(e)
    fixed = fixed_value(src, e, fv, local)
    if fixed is not None:
        return fixed
    if e.type == "call_expression":
        name = call_name(src, e)
        if name in fv.rules.allocators:
            return ALLOC
        if name is not None and fv.rules.accessor(name):
            return "call:" + name
        return None
    return constant_origin(src, e, fv)


def constant_side(x: str) -> bool:
    """A side of a pointer comparison that is a class (``@G``, ``val:G``),
    not a variable."""
    return x.startswith(("@", FIXED))


def is_origin(cls: str | None) -> bool:
    return cls is not None and (cls in (ALLOC, ALLOC_NZ) or cls.startswith(("@", "call:", FIXED)))


def truth(cls: str) -> bool | None:
    """Is a pointer of this class non-NULL?"""
    if cls == ALLOC_NZ or cls.startswith(("@", FIXED)) or (
            cls.startswith("call:") and cls.endswith("+")):
        return True
    return None


def after_test(cls: str, nonnull: bool) -> str:
    """The class once ``if ( p )`` has been decided."""
    if not nonnull:
        return ZERO
    if cls.startswith("call:"):
        return nonnull_call(cls)
    return ALLOC_NZ if cls == ALLOC else cls


def plain(cls: str | None) -> str | None:
    """What a returned value's class says to a caller, who cannot know the
    origin: a lookup's non-NULL result, or a member's global, is "nz"."""
    if cls is not None and (cls.startswith(FIXED) or (
            cls.startswith("call:") and cls.endswith("+"))):
        return NZ
    return cls


def nonnull_call(cls: str) -> str:
    """``call:F`` known not NULL."""
    return cls if cls.endswith("+") else cls + "+"


def _accessor_of(cls: str) -> str:
    return cls[5:].rstrip("+")


def member_test(cls: str | None, test: str, rules: ValueRules) -> bool | None:
    """What ``test(p)`` (a set's test) is for a pointer of this class: true
    for a member's global, false for a non-NULL result of an accessor that
    never returns a member; else not known."""
    if cls is None:
        return None
    for s in rules.sets:
        if s.test != test:
            continue
        if cls.startswith(FIXED) and cls[len(FIXED):] in s.members:
            return True
        if cls.startswith("call:") and truth(cls) and _accessor_of(cls) in s.never:
            return False
    return None


def same(a: str | None, b: str | None, rules: ValueRules) -> bool | None:
    """Are two pointers of these classes equal (True), different (False),
    or is it not known (None)?"""
    if a is None or b is None:
        return None
    if a.startswith("@") and b.startswith("@"):
        return a == b
    if a.startswith(FIXED) and b.startswith(FIXED) and a == b:
        return True  # one global, set once
    fresh = {a, b} & {ALLOC_NZ}
    if fresh and ({a, b} - {ALLOC_NZ}) and all(
        c in (ALLOC_NZ, ZERO) or c.startswith(("@", "call:", FIXED)) for c in (a, b)
    ):
        return False  # a fresh allocation is no existing object, nor NULL
    if ZERO in (a, b) and truth(b if a == ZERO else a):
        return False
    if a.startswith("call:") and b.startswith("call:") and a != b:
        fa, fb = _accessor_of(a), _accessor_of(b)
        if fa != fb and any(fa in g and fb in g for g in rules.distinct):
            return False
    for x, y in ((a, b), (b, a)):
        # A member's global is never NULL, and never what an accessor that
        # never returns a member returned.
        if x.startswith(FIXED) and y.startswith("call:") and any(
                x[len(FIXED):] in s.members and _accessor_of(y) in s.never for s in rules.sets):
            return False
    return None


# -- value classes for flag tracking ------------------------------------------


def arg_truth(arg: str, cls: str | None) -> bool | None:
    """An argument's truth at a call: a constant's (0, false, NULL; 1, true),
    else what its class on this path says (``cls``), else None."""
    if re.fullmatch(r"(?:0[xX])?0+[uUlL]*|false|NULL", arg):
        return False
    if re.fullmatch(r"(?:0[xX][0-9a-fA-F]+|[1-9]\d*)[uUlL]*|true", arg):
        return True
    if cls == ZERO:
        return False
    if cls in (NZ, POS, NEG) or (cls is not None and is_origin(cls) and truth(cls)):
        return True
    return None



def int_class(v: int) -> str:
    """The class of an integer's value."""
    return ZERO if v == 0 else (NEG if v < 0 else POS)


def value_class(src: SourceFile, e: Node | None,
                consts: Mapping[str, str] | None = None) -> str | None:
    """Class of a constant expression: 0/false/NULL, >0/true, -E.../ERR_PTR,
    or a macro ``consts`` knows the class of."""
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
        return int_class(v)
    if t in ("true", "false", "null"):
        return POS if t == "true" else ZERO
    if t == "identifier":
        name = src.text(e)
        if name in ("true",):
            return POS
        if name in ("false", "NULL"):
            return ZERO
        return consts.get(name) if consts else None
    if t == "unary_expression":
        op = e.child_by_field_id(fid.OPERATOR)
        arg = e.child_by_field_id(fid.ARGUMENT)
        if op is not None and op.type == "-" and arg is not None and (
            arg.type == "number_literal"
            or (arg.type == "identifier" and src.text(arg).isupper())
        ):
            return NEG
    if t == "call_expression" and call_name(src, e) == "ERR_PTR":
        return NEG
    if t == "cast_expression":
        return value_class(src, e.child_by_field_id(fid.VALUE), consts)
    return None


_INT = re.compile(r"-?\d+")


def equals(cls: str | None, exact: str | None, k: int | str,
           floors: Container[str] = ()) -> bool | None:
    """Does v equal the constant ``k`` (a number, or a constant's name),
    from v's exact fact (an integer's text, a constant's name, NOT + one of
    those: v is not it, "<" + a bound v is below) and its class?  None:
    either may be.  An if's ``v == K`` and a switch's case ask it alike."""
    if exact is not None:
        if exact.startswith(NOT):
            return False if exact[len(NOT):] == str(k) else None
        if exact.startswith("<") and exact[1:] in floors:
            return False  # v below a bound k is at or above
        if _INT.fullmatch(exact) and isinstance(k, int):
            return int(exact) == k
        if exact == k:
            return True
        # Two names (or a name and a number) may be one value: the class
        # says what it can (a named zero's exact fact is its name).
    if not isinstance(k, int):
        return None
    if cls == ZERO:
        return k == 0
    if (k == 0 and cls in (NZ, POS, NEG)) or (cls == NEG and k > 0) or (cls == POS and k < 0):
        return False
    return None


# An exact fact "!K": the value is not K (an integer's text or a constant's
# name, as eqk/nek name it).  As a try-like helper's success class
# (Summary.conditional), "!K": it succeeded exactly when its result is not
# K, a plain integer's sentinel (a frame number, "not NO_PAGE").
NOT = "!"
# An out-parameter's fact (Summary.outs) that is an exact one, not a class.
EXACT = "="


def outcomes(success: str) -> tuple[tuple[str | None, str | None],
                                   tuple[str | None, str | None]]:
    """A try-like helper's result as (class, exact fact), on success and on
    failure.  A sentinel's success says nothing of the truth: 0 may be a
    valid result (a frame number), and is not the sentinel."""
    if success.startswith(NOT):
        return (None, success), (None, success[len(NOT):])
    if success == ZERO:
        return (ZERO, None), (NEG, None)
    return (NZ, None), (ZERO, None)


def truth_success(success: str | None) -> bool:
    """Does the result's truth say the outcome ("nz", "zero"), so that
    ``if ( f() )`` branches on it?"""
    return success in (NZ, ZERO)


_Slot = tuple[str, str | None]


def fact_slots(var: str, value: str | None) -> tuple[_Slot, _Slot]:
    """The (class, exact) facts of v to set for an out-parameter's value (a
    class, or EXACT + an exact fact): the other slot is forgotten, v being
    written anew."""
    if value is not None and value.startswith(EXACT):
        return (var, None), (EXACT + var, value[len(EXACT):])
    return (var, value), (EXACT + var, None)


def updated(exact: str | None, op: str, k: int) -> int | None:
    """v's value after ``v op= k`` from its exact value before (None:
    not known exactly, or not an integer)."""
    if exact is None or not _INT.fullmatch(exact):
        return None
    v = int(exact)
    return {"|": v | k, "&": v & k, "^": v ^ k, "+": v + k, "-": v - k}[op]


@dataclass(frozen=True)
class VarTest:
    """A condition on a tracked variable: ``v``, ``v == 0``, ``v < 0``..."""

    var: str
    # "truthy" | "eqzero" | "lt0" | "iserr" | "iserrnull" | "eqk" | "nek" | "member"
    # | "bitand" (v & K, K a non-zero integer)
    op: str
    # The constant of "eqk"/"nek": an integer, or a named one (a macro, whose
    # value nothing here knows: only the same name is known equal).
    k: int | str | None = None
    test: str | None = None  # the set's test function of "member" (member_test())
    # Of a named k: the named bounds it is at or above (ValueRules.floors).
    floors: frozenset[str] = frozenset()
    # Of a named k: v is a local assigned that constant somewhere
    # (conditions.sentinels()), the test of a sentinel it set itself.
    assigned: bool = False

    def eval_exact(self, cls: str | None, exact: str | None) -> bool | None:
        """``v == K`` / ``v != K`` from v's exact value (an integer's text or
        a constant's name; NOT + one of those: v is not it), or its class."""
        assert self.k is not None
        if self.op == "bitand":
            # v & K: set bits from v's exact value; none of a zero v's.
            if exact is not None and _INT.fullmatch(exact) and isinstance(self.k, int):
                return int(exact) & self.k != 0
            return False if cls == ZERO else None
        eq = equals(cls, exact, self.k, self.floors)
        if eq is None:
            return None
        return eq if self.op == "eqk" else not eq

    def exact_after(self, outcome: bool, exact: str | None) -> str | None:
        """v's exact fact once ``v == K`` / ``v != K`` went this way (was
        ``exact``, which did not decide it): K, or NOT K where nothing
        more was known (a bound "<F" says more)."""
        if self.op not in ("eqk", "nek") or self.k is None:
            return exact
        if outcome == (self.op == "eqk"):
            return str(self.k)
        return NOT + str(self.k) if exact is None else exact

    def eval(self, cls: str) -> bool | None:
        if self.op == "member":
            return None  # the rules decide: member_test()
        if is_origin(cls):
            t = truth(cls)
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
        if self.op == "iserrnull":
            if cls in (NEG, ZERO):
                return True
            if cls in (POS, NZ):
                return False
        return None

    def refine(self, outcome: bool, cls: str | None = None) -> str | None:
        if cls is not None and is_origin(cls) and self.op in ("truthy", "eqzero"):
            return after_test(cls, outcome if self.op == "truthy" else not outcome)
        if self.op == "truthy":
            return NZ if outcome else ZERO
        if self.op == "eqzero":
            return ZERO if outcome else NZ
        if self.op in ("lt0", "iserr") and outcome:
            return NEG
        if self.op == "iserrnull" and not outcome:
            return NZ
        return None
