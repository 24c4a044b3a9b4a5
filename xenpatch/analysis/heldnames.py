"""Which held lock a name means on a path, as the pointers it is named
through move: primed when its pointer is pointed elsewhere, renamed
through a pointer the path found equal, and the held lock a helper's
release may name through another path (a back-pointer, an accessor).

Each function maps a state to a state (or finds a held lock in it); the
engine (dataflow.py) calls them at assignments, stores and releases.
"""

from __future__ import annotations

from dataclasses import replace

from xenpatch.analysis.equalities import equal_names
from xenpatch.analysis.lockkeys import apply_aliases, key_vars, last_field, may_name
from xenpatch.analysis.locktable import Effect, is_recursive
from xenpatch.analysis.pathstate import Held, State

# "~e->owner->lock" -> "v->lock": a name that may, or may not, still name
# the held lock renamed from it (renamed()).
_MAY_NAME = "~"


def rebound(s: State, var: str, aliases: dict[str, str]) -> State:
    """Before ``var = ...``: the locks reached through ``var`` keep being
    held, under a primed name (after ``irq = next(...)`` the old irq's lock
    is not the new one's), or under the name through a pointer the path
    found equal to var's (``v == e->owner`` before ``e = NULL``), which
    stays right (a jump back to where the function took it as ``v->lock``
    holds it so)."""
    for h in list(s.held):
        if h.entry or h.key.endswith("'") or var not in key_vars(h.key):
            continue
        other = next((k for k in equal_names(h.key, s.facts, aliases)
                      if var not in key_vars(k) and s.get(k) is None), None) if s.facts else None
        if other is not None:
            s = s.with_held(None, h.key).with_held(replace(h, key=other), other)
            continue
        # One primed name per lock expression keeps the states finite: a
        # loop that leaks the lock of each element leaks "x->lock'".
        s = s.with_held(None, h.key)
        if s.get(h.key + "'") is None:
            s = s.with_held(replace(h, key=h.key + "'"), h.key + "'")
    return s


def renamed(s: State, path: str, aliases: dict[str, str]) -> State:
    """Before ``path = ...`` (a field stored into): the locks named through
    it that the path found equal to another pointer take that other name;
    the others keep theirs (what the store does to them, nothing here
    says)."""
    if not s.facts:
        return s
    prefix = apply_aliases(path + "->@", aliases)[:-1]
    for h in list(s.held):
        if h.entry or h.key.endswith("'") or not h.key.startswith(prefix):
            continue
        other = next((k for k in equal_names(h.key, s.facts, aliases)
                      if not k.startswith(prefix) and s.get(k) is None), None)
        if other is not None:
            # Past the store the old name may name it or not (the value
            # stored may be the same pointer): a release through it is
            # unknown (stale_name()), as a helper's through a back-pointer.
            s = s.with_held(None, h.key).with_held(replace(h, key=other), other)
            s = s.with_fact(_MAY_NAME + h.key, other)
    return s


def stale_name(s: State, e: Effect) -> Held | None:
    """The held lock a release through a field stored into since (renamed())
    may or may not name."""
    k = s.fact(_MAY_NAME + e.key)
    h = s.get(k) if k is not None else None
    return h if h is not None and not h.unknown else None


def named_otherwise(s: State, e: Effect) -> Held | None:
    """The held lock a helper's release names in a way the caller cannot
    match syntactically, if exactly one held lock fits.

    Two shapes come up in Xen: a back-pointer (the caller holds
    ``pdev->vpci->lock`` and the helper, given ``msix = pdev->vpci->msix``,
    drops ``msix->pdev->vpci->lock``) and an accessor call (the caller holds
    ``p2m->lock``; ``put_gfn(p2m->domain)`` drops
    ``p2m_get_hostp2m(p2m->domain)->lock``).  Neither is provably the held
    lock, but neither is provably another: with a single held lock of that
    field and kind, reporting a release of a lock not held would be noise.
    """
    fits = [h for h in s.held if h.kind == e.kind and _same_type(h, e)
            and may_name(e.key, h.key.rstrip("'"))]
    return fits[0] if len(fits) == 1 else None


def may_be_named(s: State, e: Effect) -> list[Held]:
    """Held locks of the kind and field a helper's release names through
    another path: nothing proves they differ."""
    f = last_field(e.key)
    return [h for h in s.held if h.kind == e.kind and not h.unknown and _same_type(h, e)
            and last_field(h.key.rstrip("'")) == f]


def _same_type(h: Held, e: Effect) -> bool:
    """Could the held lock and the one the effect names be one object?  Not
    a recursive lock and a plain one (rspinlock_t against spinlock_t; the
    p2m's recursive mm lock against a grant table's spinlock)."""
    return is_recursive(h.flavour) == is_recursive(e.flavour)
