"""Locks named through two pointers a path has found equal, or through a
``?:`` whose condition the path knows.

After ``if ( a != b )`` the fall-through edge knows ``a == b`` (the
repeated-condition fact ``?a==b`` is ``T`` there, and an assignment to
either side clears it), so the lock taken as ``a->lock`` is the one a later
``spin_unlock(&b->lock)`` drops:

    spin_lock(&old->lock);
    if ( old != q ) { spin_unlock(&old->lock); spin_lock(&q->lock); }
    ...
    spin_unlock(&q->lock);            /* old->lock when old == q */

The same holds after ``a = b`` (until either is assigned again), and a
release through ``(c ? a : b)->lock`` on a path that knows ``c`` is one
through that arm (``__put_gfn(ap2m_active ? hostp2m : p2m, gfn)``).

Keys are compared after the function's aliases are applied (``src =
e->on`` makes ``src->lock`` the key ``e->on->lock``), so each side's
prefix is computed the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tree_sitter import Node

from xenpatch.analysis.conditions import canon_cond, in_if
from xenpatch.analysis.functions import required, strip_parens
from xenpatch.analysis.lockkeys import apply_aliases, split_arms, squash
from xenpatch.analysis.values import arg_truth
from xenpatch.c import fields as fid
from xenpatch.c.cfg import Cfg, Kind
from xenpatch.c.source import SourceFile

Facts = tuple[tuple[str, str], ...]
_SIDE = re.compile(r"[A-Za-z_]\w*")
_PATH = re.compile(r"[A-Za-z_]\w*(?:(?:->|\.)[A-Za-z_]\w*)+")


def _prefixes(var: str, aliases: dict[str, str]) -> tuple[str, str]:
    """How a key reached through ``var`` starts (``var->``, after aliases),
    and the key of ``*var`` itself."""
    return apply_aliases(var + "->@", aliases)[:-1], apply_aliases("*" + var, aliases)


def chosen_arm(key: str, fact: Callable[[str], str | None],
               aliases: dict[str, str]) -> str | None:
    """The key ``(c?a:b)->lock`` names on a path whose facts say what
    ``c`` is: ``a->lock`` or ``b->lock``; None if unknown."""
    arms = split_arms(key)
    if arms is None:
        return None
    c, a, b, rest = arms
    truth = arg_truth(c, fact(c))
    if truth is None:
        return None
    return apply_aliases(squash((a if truth else b) + rest), aliases)


def equal_names(key: str, facts: Iterable[tuple[str, str]],
                aliases: dict[str, str]) -> list[str]:
    """Other keys of the lock ``key`` on a path whose facts say two pointer
    variables are equal."""
    out: list[str] = []
    for name, value in facts:
        if value != "T" or not name.startswith("?") or "==" not in name:
            continue
        sides = name[1:].split("==")
        # Two variables, or a variable and a field path (v == e->owner).
        if len(sides) != 2 or not all(_SIDE.fullmatch(x) or _PATH.fullmatch(x)
                                      for x in sides):
            continue
        for x, y in (sides, sides[::-1]):
            (px, sx), (py, sy) = _prefixes(x, aliases), _prefixes(y, aliases)
            if px != py and key.startswith(px):
                out.append(py + key[len(px):])
            elif key == sx and sx != sy:
                out.append(sy)
    return out


def kept_in_object(text: str, stores: frozenset[tuple[str, str]]) -> str | None:
    """The variable ``v`` of a fact ``v==p->f`` (either order) where the
    function itself hands ``v`` on by the store ``p->f = v`` on some path
    (``stores``: its (field path, variable) pairs, assignments.py's
    stored_pointer()).  Where the fact holds, the object already keeps
    ``v`` there as the store would leave it (a transitive grant's domain
    its active entry holds from an earlier pin).  Equality with a field
    the function never stores into says nothing of a hand-off: ``d ==
    current->domain`` after a lookup is no reason to keep ``d`` locked."""
    sides = text.split("==")
    if len(sides) != 2:
        return None
    for v, p in (sides, sides[::-1]):
        if (p, v) in stores:
            return v
    return None


def variable_comparisons(src: SourceFile, cfg: Cfg, names: set[str]) -> set[str]:
    """``a == b`` / ``a != b`` of two of ``names`` (the function's
    variables) in an if, as condition facts: the engine keeps them on each
    edge (where they guard a lock operation) for equal_names()."""
    out: set[str] = set()
    for node in cfg.nodes:
        if node.kind is not Kind.COND or node.ast is None:
            continue
        c = strip_parens(node.ast)
        if c.type != "binary_expression":
            continue
        op = c.child_by_field_id(fid.OPERATOR)
        # Whether it is an if's, last: that walks up the tree.
        if op is None or op.type not in ("==", "!=") or not in_if(node.ast):
            continue
        sides = [strip_parens(required(c, f)) for f in ("left", "right")]
        if any(x.type == "identifier" for x in sides) and all(
                _pointer_of(src, x, names) for x in sides):
            out.add(canon_cond(src, c)[0])
    return out


def _pointer_of(src: SourceFile, x: Node, names: set[str]) -> bool:
    """A variable of ``names``, or a field path from one (``e->owner``, no
    call or index): what a lock may be named through."""
    while x.type == "field_expression":
        x = strip_parens(required(x, "argument"))
    return x.type == "identifier" and src.text(x) in names


def named_here(key: str, facts: Facts, aliases: dict[str, str],
               held: Callable[[str], object]) -> str | None:
    """The key a release of ``key`` means on a path with these facts, when
    the path says more than its text: the arm of ``(c ? a : b)->lock`` its
    ``c`` picks, or the held lock of a pointer it found equal to the one
    named.  None when it says nothing more."""
    arm = chosen_arm(key, dict(facts).get, aliases)
    if arm is not None and held(arm):
        return arm
    for k in equal_names(arm or key, facts, aliases):
        if held(k):
            return k
    return arm


def other_names(key: str, aliases: dict[str, str], equalities: Iterable[str]) -> set[str]:
    """Every other key ``key`` may name on some path: each arm of a
    ``(c ? a : b)->lock`` and the key through a variable compared with, or
    copied to or from, its own.  A lock the function releases under one of
    these names and takes under another is not its caller's."""
    out: set[str] = set()
    arms = split_arms(key)
    if arms is not None:
        out |= {apply_aliases(squash(x + arms[3]), aliases) for x in arms[1:3]}
    facts = [("?" + t, "T") for t in equalities]
    for k in [key, *out]:
        out.update(equal_names(k, facts, aliases))
    return out
