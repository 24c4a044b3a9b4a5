"""What a CFG node does: the typed events the file analysis computes per
node (actions.py) and the dataflow applies (dataflow.py).

``OpAct`` is a lock operation (with its ``Effect``); the others move the
facts the dataflow keeps about flag variables and repeated conditions.  A
condition node has a ``Branch`` instead: what its outcome is known by, or
teaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xenpatch.analysis.locktable import Effect
from xenpatch.analysis.values import VarTest

# A resolver maps (callee name, argument texts) to effects, or None.
# (callee, argument texts, variable the result is assigned to) -> effects
Resolver = Callable[[str, list[str], "str | None"], "Resolved | None"]

# The action of a lock an assertion says is held (fileanalysis._asserted_held).
ASSERTED = "asserted"


@dataclass(frozen=True)
class Resolved:
    """What a call does: fixed effects, or (try-like) effects on success."""

    effects: tuple[Effect, ...]
    conditional: str | None = None  # None, or the success class: "nz" / "zero"
    # The effects happen iff this argument is true (spin_lock_if(cond, l)).
    guard: int | None = None
    # (v, class on success, class on failure) of each ``&v`` the call
    # writes as a try-like helper's summary says (Summary.outs).
    outs: tuple[tuple[str, str, str], ...] = ()
    # The effects happen exactly when this fact of the path holds: a
    # summary's test bound to the call (guardtests.bind()).
    test: str | None = None


@dataclass(frozen=True)
class OpAct:
    effect: Effect
    line: int
    col: int


@dataclass(frozen=True)
class AssignAct:
    var: str
    cls: str | None  # None: unknown value, forget what was known
    # An integer literal assigned: its value; a named constant: its name.
    exact: int | str | None = None
    # "x<F" of a sentinel assigned x: where the path knows it, v is below
    # the bound F (its exact value "<F").
    bound: str | None = None


@dataclass(frozen=True)
class UpdateAct:
    """``v |= K``, ``v += K``, ``v++``...: v's new value from its old one,
    where the path knows it exactly (a flag word built from constants)."""

    var: str
    op: str  # "|", "&", "^", "+", "-"
    k: int


@dataclass(frozen=True)
class TryAssignAct:
    var: str
    resolved: Resolved
    line: int
    col: int
    # The call only tests var (a guard argument): keep what is known of it.
    guard: bool = False
    # var is a summary's bound test (guardtests.py), not a variable.
    tested: bool = False
    # The call is one arm of ``v = c ? call() : other``: the other arm
    # leaves the lock alone and v unknown.
    arm: bool = False
    # What the call's result is ("call:F" of an accessor the value rules
    # name, values.py): on success, that known non-NULL.
    origin: str | None = None


@dataclass(frozen=True)
class KillCondAct:
    """Forget what is known of repeated conditions (or, with value, set it)."""

    texts: tuple[str, ...]
    value: str | None = None
    # The assignment of one variable of the texts (None: anything of them
    # may have changed), and the integer it now holds where the right side
    # is a literal: a test made while it held that value is still known
    # under that value (analysis/counters.py).
    var: str | None = None
    exact: str | None = None
    step: int | None = None  # v += step (v++: 1), from what v held


@dataclass(frozen=True)
class RebindAct:
    """``v = ...``: locks named through v now belong to v's old value."""

    var: str


@dataclass(frozen=True)
class RenameAct:
    """``e->owner = ...``: a lock named through ``e->owner`` that the path
    found equal to another pointer (``v == e->owner``) keeps that other
    name, which the store leaves right."""

    path: str


@dataclass(frozen=True)
class FreeAct:
    """``xfree(v)`` (or a helper that frees its argument on every path):
    the object is gone, and the locks inside it with it."""

    var: str


@dataclass(frozen=True)
class StoreAct:
    """``obj->field = v``: the pointer v kept in an object that outlives
    the function (a transitive grant's domain in its active entry), so a
    reference held through *v may be handed on there."""

    var: str
    via: str  # the assignment's text, for -v
    line: int
    path: str = ""  # where v is kept: the assignment's left side, squashed


@dataclass(frozen=True)
class DerefAct:
    """``v->f`` evaluated unconditionally: v is not NULL past this node, and
    a path on which it was NULL ends there (the access faults)."""

    var: str


@dataclass(frozen=True)
class IrqAct:
    """A move of this CPU's IRQ state (see irqstate.py).  ``flavour``:
    "irqsave" for local_irq_restore(), "irq" for local_irq_enable(), which
    settle a swapped release (Engine.release); "" for the others."""

    flavour: str
    # off / on / save / restore / read (the CPU-level calls), lock_off /
    # lock_on / lock_save / lock_restore (after a lock op's _irq/_irqsave
    # effect), forget, assert_on / assert_off, unsaved (function entry).
    op: str = ""
    var: str | None = None  # the flags variable (unsaved: names, space-separated)
    key: str | None = None  # the lock whose op this is ("-": a CPU-level call)
    via: str = ""
    line: int = 0
    col: int = 0


Act = (OpAct | AssignAct | UpdateAct | TryAssignAct | KillCondAct | RebindAct | RenameAct | IrqAct
       | DerefAct | FreeAct | StoreAct)


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
    # ``text`` is ``x<y`` and this is ``y<x``: both cannot hold (d->id >
    # currd->id, then d->id < currd->id with neither changed).
    excludes: str | None = None
    # A loop's condition that the function tests more than once (``i < n``
    # of two loops): no fact of it is kept from round to round, but its
    # test while its variables hold literals is (analysis/counters.py);
    # ``negated`` says how it reads, as for ``text``.
    counted: str | None = None
    # ``v op K`` with K an integer (v++/v--/--v allowed): decided where v
    # holds a literal (analysis/counters.py): (v, op, K, what a post
    # increment or decrement in the test adds to v after reading it).
    bound_test: tuple[str, str, int, int] | None = None

    def ordered(self, fact: Callable[[str], str | None]) -> list[Taught]:
        """For ``a < b`` (``strict_ne``), with the path's facts read by
        ``fact``: the edges a path may take (0 true, 1 false) and the facts
        each teaches.  ``a == b`` known: a < b is false."""
        assert self.strict_ne is not None
        if fact(self.strict_ne) == "T":
            return [(1, ())]
        return [(0, ((self.strict_ne, "F"),)), (1, ())]

    def repeated(self, fact: Callable[[str], str | None]) -> list[Taught]:
        """For the repeated condition ``text``, with the path's facts read
        by ``fact``: the edges a path may take (0 true, 1 false) and the
        facts each teaches.  An earlier test of the same condition on the
        path decides it; so does ``y<x`` (or ``x==y``) for ``x<y``, and
        where ``x<y`` holds, ``y<x`` and ``x==y`` do not.  The lint's
        dataflow and the difftest's program walker both branch so."""
        assert self.text is not None
        yes, no = ("F", "T") if self.negated else ("T", "F")
        v = fact(self.text)
        if v is None and self.excludes is not None and (
                fact(self.excludes) == "T"
                or (self.strict_ne is not None and fact(self.strict_ne) == "T")):
            v = "F"
        if v is not None:
            return [(i, ()) for i, val in ((0, yes), (1, no)) if v == val]
        on_t: tuple[tuple[str, str], ...] = ((self.text, yes),)
        on_f: tuple[tuple[str, str], ...] = ((self.text, no),)
        if self.excludes is not None:
            ruled = ((self.excludes, "F"),) + (((self.strict_ne, "F"),) if self.strict_ne
                                               else ())
            on_t, on_f = (on_t + ruled, on_f) if yes == "T" else (on_t, on_f + ruled)
        return [(0, on_t), (1, on_f)]


# An edge a path may take (0: true, 1: false) and the facts it teaches
# (repeated condition text, "T" or "F").
Taught = tuple[int, tuple[tuple[str, str], ...]]
