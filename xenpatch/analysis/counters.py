"""Repeated conditions known under a variable's literal value.

``for ( i = 0; i < n; i++ ) take(); ... for ( i = 0; i < n; i++ ) put();``:
each loop's first test is ``0 < n`` with ``n`` unchanged, so both loops run
or neither does.  The plain repeated-condition fact of ``i < n`` cannot say
so (the second ``i = 0`` makes it stale), so a path that runs one loop and
not the other reported a leak or a release of a lock not held (2012's
``set_gdt()``: one gfn reference per page taken in one loop, put in
another).

An assignment of a literal to a variable of a repeated condition binds the
variable to that value on the path (a ``=`` fact).  A test of the condition
while a binding holds is also remembered under it (a ``?@`` fact), and a
later test under the same binding follows it.  Assigning that variable
again only moves its binding; assigning another variable of the condition
(or anything an unknown write may reach) forgets what was known under any
binding.  An update (``i++``) moves the binding for the first few rounds (ROUNDS),
then unbinds: each loop is unrolled that far at most, so the state count
stays bounded, and two loops over the same bound run as many rounds as
each other as far as a recursive lock's count is known.
"""

from __future__ import annotations

from xenpatch.analysis.events import KillCondAct
from xenpatch.analysis.pathstate import State

# How far a bound variable is followed by steps: the rounds a recursive
# lock's count is known for (dataflow.RECURSION_CAP) and one more, whose
# test ends the loop.  Past them a round's test is the plain one.
ROUNDS = 4
BOUND = "="  # "=" + var + "@" + text: the literal var holds (the text's variable)
KEYED = "?@"  # "?@" + text + "@" + bindings: the text's outcome under them


def _binding_prefix(text: str) -> str:
    return "@" + text


def assigned(s: State, act: KillCondAct) -> State:
    """The state after ``act``'s assignment, for the conditions it names."""
    for t in act.texts:
        if not s.facts:
            break
        mine = KEYED + t + "@"
        if act.var is None:
            drop = [k for k, _ in s.facts if k.startswith(mine) or (
                k.startswith(BOUND) and k.endswith(_binding_prefix(t)))]
        else:
            # Known under a binding of this variable: still known under it.
            # Under another's: that variable is the same, but this one moved.
            keep = mine + act.var + "="
            drop = [k for k, _ in s.facts if k.startswith(mine) and not k.startswith(keep)]
        for k in drop:
            s = s.with_fact(k, None)
    if act.var is not None:
        for t in act.texts:
            k = BOUND + act.var + _binding_prefix(t)
            s = s.with_fact(k, act.exact if act.step is None else _stepped(s.fact(k), act.step))
    return s


def _stepped(value: str | None, step: int) -> str | None:
    """The binding after ``v += step``: kept for the first rounds only."""
    if value is None:
        return None
    new = int(value) + step
    return str(new) if abs(new) <= ROUNDS else None


def keyed(s: State, text: str) -> str | None:
    """The repeated-condition text (a fact's key less its "?") of ``text``'s
    outcome under the variables bound on this path (None: none is)."""
    if not s.facts:
        return None
    suffix = _binding_prefix(text)
    bound = sorted(
        f"{k[len(BOUND):-len(suffix)]}={v}" for k, v in s.facts
        if k.startswith(BOUND) and k.endswith(suffix))
    if not bound:
        return None
    return KEYED[1:] + text + "@" + ",".join(bound)
