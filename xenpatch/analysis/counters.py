"""Repeated conditions known under a variable's literal value.

``for ( i = 0; i < n; i++ ) take(); ... for ( i = 0; i < n; i++ ) put();``:
each loop's first test is ``0 < n`` with ``n`` unchanged, so both loops run
or neither does.  The plain repeated-condition fact of ``i < n`` cannot say
so (the second ``i = 0`` makes it stale), so a path that runs one loop and
not the other reported a leak or a release of a lock not held (2012's
``set_gdt()``: one gfn reference per page taken in one loop, put in
another).

An assignment of a literal to a variable a condition names binds the
variable to that value on the path (a ``%n:`` fact).  A repeated condition
tested while a variable of it is bound is also remembered under that
value (a ``?@`` fact), and a later test under the same value follows it,
or follows from it where the test is an order (``i < n`` false at 0 is
false at 1).  A test of a bound variable against a literal (``i-- > 0``)
is decided.  Assigning the variable moves its binding; assigning another
variable of the condition (or anything an unknown write may reach)
forgets what was known under any binding.  A step (``i++``, ``i -= 2``)
moves the binding while the value stays within ROUNDS of its literal,
then unbinds: a loop is unrolled that far at most, and the values a path
can bind are finitely many.
"""

from __future__ import annotations

import re

from xenpatch.analysis.events import KillCondAct, Taught
from xenpatch.analysis.lockkeys import ids_of_text
from xenpatch.analysis.pathstate import State

# How far from its literal a bound variable is followed by steps: the
# rounds a recursive lock's count is known for (dataflow.RECURSION_CAP)
# and one more, whose test ends the loop.  Past them a test is the plain one.
ROUNDS = 4
# "%n:" + var: "value/literal", the value var holds and the literal it was
# last given (values.EXACT is "=").
BOUND = "%n:"
KEYED = "?@"  # "?@" + text + "@" + bindings: the text's outcome under them


def binding_text(var: str) -> str:
    """The pseudo condition text naming ``var`` that a literal test of it
    is known by: an assignment of var forgets (or moves) its binding only
    where the function's conditions name var (KillCondAct), and a test
    ``i-- > 0`` that is no repeated condition would name it nowhere."""
    return BOUND + var


def assigned(s: State, act: KillCondAct) -> State:
    """The state after ``act``'s assignment, for the conditions it names."""
    for t in act.texts:
        if not s.facts:
            break
        mine = KEYED + t + "@"
        # Known under a binding of this variable: still known under it.
        # Under another's: that variable is the same, but this one moved.
        keep = mine + act.var + "=" if act.var is not None else None
        drop = [k for k, _ in s.facts
                if k.startswith(mine) and (keep is None or not k.startswith(keep))]
        for k in drop:
            s = s.with_fact(k, None)
    if act.var is not None:
        k = BOUND + act.var
        s = s.with_fact(k, f"{act.exact}/{act.exact}" if act.step is None and act.exact is not None
                        else None if act.step is None else _stepped(s.fact(k), act.step))
    return s


def value(s: State, var: str) -> int | None:
    """The literal ``var`` holds on this path, if it is bound."""
    v = s.fact(BOUND + var) if s.facts else None
    return None if v is None else int(v.partition("/")[0])


_COMPARE = {"<": int.__lt__, "<=": int.__le__, ">": int.__gt__, ">=": int.__ge__,
            "==": int.__eq__, "!=": int.__ne__}


def decided(s: State, test: tuple[str, str, int, int]) -> bool | None:
    """``v op K`` (``test``: v, op, K, and what a post-increment or
    -decrement in the test added to v after reading it), where v is bound:
    its outcome; None where v is not."""
    var, op, k, post = test
    v = value(s, var)
    return None if v is None else _COMPARE[op](v - post, k)


def _stepped(binding: str | None, step: int) -> str | None:
    """The binding ("value/literal") after ``v += step``: kept while v is
    within ROUNDS of the literal it was given, whatever the literal (a
    loop's first rounds, and an unwind back down them), so the values a
    path can bind are finitely many."""
    if binding is None:
        return None
    v, _, lit = binding.partition("/")
    new = int(v) + step
    return f"{new}/{lit}" if abs(new - int(lit)) <= ROUNDS else None


def keyed(s: State, text: str) -> str | None:
    """The repeated-condition text (a fact's key less its "?") of ``text``'s
    outcome under the variables bound on this path (None: none is)."""
    if not s.facts:
        return None
    bound = sorted(f"{v}={x.partition('/')[0]}" for v in ids_of_text(text)
                   if (x := s.fact(BOUND + v)) is not None)
    if not bound:
        return None
    return KEYED[1:] + text + "@" + ",".join(bound)


_VAR_FIRST = re.compile(r"^(\w+)(<=|>=|<|>)(.+)$")
_VAR_LAST = re.compile(r"^(.+?)(<=|>=|<|>)(\w+)$")
# The other side of an order test read as one operand: names, numbers,
# member paths and arithmetic, nothing that binds looser than "<" (&&, ||,
# ?:, ==, the bitwise operators) and no other comparison.
_OPERAND = re.compile(r"^(?:[\w.\[\]()+*/%]|->|-(?!>))+$")


def _operand(text: str, var: str) -> bool:
    return _OPERAND.match(text) is not None and var not in ids_of_text(text)


def implied(s: State, text: str, key: str) -> str | None:
    """The outcome of the order test ``text`` under its one bound variable's
    value in ``key``, from its outcome under another value on this path:
    ``i < n`` false at i == 0 is false at i == 1 (n unchanged, or the fact
    would be gone), true at i == 2 is true at i == 1."""
    var, _, val = key.rpartition("@")[2].partition("=")
    if "," in val or not val.lstrip("-").isdigit():
        return None
    if (m := _VAR_FIRST.match(text)) and m.group(1) == var and _operand(m.group(3), var):
        rising, op = False, m.group(2)  # v < E: true for smaller v
    elif (m := _VAR_LAST.match(text)) and m.group(3) == var and _operand(m.group(1), var):
        rising, op = True, m.group(2)  # E < v: true for larger v
    else:
        return None
    if op.startswith(">"):
        rising = not rising
    b = int(val)
    prefix = KEYED + text + "@" + var + "="
    for k, outcome in s.facts:
        if not k.startswith(prefix) or not (a := k[len(prefix):]).lstrip("-").isdigit():
            continue
        a_i = int(a)
        # Where the test is true for larger values (rising): true at a,
        # true above it; false at a, false below it.  Falling, the mirror.
        if outcome == "T" and (b >= a_i if rising else b <= a_i):
            return "T"
        if outcome == "F" and (b <= a_i if rising else b >= a_i):
            return "F"
    return None


def under_bindings(s: State, taught: list[Taught] | None, text: str,
                   negated: bool) -> list[Taught] | None:
    """The edges (``taught``: None, both, teaching nothing) of a test of
    the repeated condition ``text`` made while a variable of it is bound:
    only the edge its outcome under the same values (or, for an order
    test, another value) takes, else each edge remembering its outcome
    under them too.  Unchanged where no variable of it is bound."""
    key = keyed(s, text)
    if key is None:
        return taught
    said = s.fact("?" + key)
    if said is None:
        said = implied(s, text, key)
    out: list[Taught] = []
    for i, learned in taught if taught is not None else [(0, ()), (1, ())]:
        val = ("T" if i == 0 else "F") if not negated else ("F" if i == 0 else "T")
        if said is None:
            out.append((i, (*learned, (key, val))))
        elif said == val:
            out.append((i, learned))
    return out
