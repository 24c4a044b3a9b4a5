"""The locks a function's caller holds on entry: those it releases before
it ever takes them, on some path, and never takes first on any path
(dataflow.Engine starts its runs holding them).  A release that may name,
under another spelling, a lock the function takes itself is not one."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator

from xenpatch.analysis.equalities import other_names
from xenpatch.analysis.events import OpAct, TryAssignAct
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.lockkeys import last_field, may_name
from xenpatch.analysis.locktable import Effect, is_recursive
from xenpatch.c.cfg import Cfg


def entry_held_keys(cfg: Cfg, info: FunctionInfo) -> frozenset[str]:
    """Locks the function releases before (ever) taking them, on some path,
    and never takes first on any path: the caller holds them on entry."""
    keys_at: list[list[tuple[str, str]]] = []
    none: list[tuple[str, str]] = []  # shared by the many nodes without acts: only read
    for acts in info.acts:
        if not acts:
            keys_at.append(none)
            continue
        ks: list[tuple[str, str]] = []
        for a in acts:
            if isinstance(a, OpAct) and a.effect.action in ("acquire", "release", "try"):
                ks.append((a.effect.key, a.effect.action))
            elif isinstance(a, TryAssignAct):
                # A helper that drops the caller's lock on failure releases it.
                ks.extend((e.key, _first_use(e)) for e in a.resolved.effects)
        keys_at.append(ks)
    branch_keys: dict[int, list[tuple[str, str]]] = {}
    for i, b in enumerate(info.branches):
        if b is not None and b.try_op is not None:
            branch_keys[i] = [(e.key, _first_use(e)) for e in b.try_op.effects]
    # Only a key released somewhere can be released first: the others are
    # left out of the sets (each key's flow is its own), and a function
    # that releases nothing skips the flow.
    released = {k for ks in (*keys_at, *branch_keys.values()) for k, a in ks if a == "release"}
    if not released:
        return frozenset()
    # May-be-untouched sets, forward, union at joins.
    untouched: dict[int, frozenset[str]] = {cfg.entry: frozenset(released)}
    acquire_first: set[str] = set()
    release_first: set[str] = set()
    work = deque([cfg.entry])
    while work:
        n = work.popleft()
        out = untouched[n]
        if keys_at[n] or n in branch_keys:  # most nodes touch no lock
            cur = set(out)
            for k, action in keys_at[n]:
                if k in cur:
                    (release_first if action == "release" else acquire_first).add(k)
                    cur.discard(k)
            for k, action in branch_keys.get(n, []):
                if k in cur:
                    (release_first if action == "release" else acquire_first).add(k)
            out = frozenset(cur)
        for s in cfg.nodes[n].succ:
            old = untouched.get(s)
            new = out if old is None else old | out
            if new != old:
                untouched[s] = new
                work.append(s)
    # A helper's release that may name, under another spelling, a lock this
    # function takes is that lock (see heldnames.named_otherwise) or unknown
    # (heldnames.may_be_named), not one the caller holds.  The same spelling is the
    # flow's to judge, as for the function's own release and take: a
    # caller's lock dropped through one helper and taken again through
    # another (memmap_unlock(d) ... memmap_lock(d)) is handed back.
    taken = _taken_types(info)

    def named_otherwise(k: str) -> bool:
        e = first_entry_release(info, k)
        return e is not None and names_indirectly(e) and any(
            t != k and (may_name(k, t) or last_field(k) == last_field(t))
            and is_recursive(e.flavour) in rec for t, rec in taken.items())

    def taken_otherwise(k: str) -> bool:
        # (c ? a : b)->lock, or p->lock after "p = q", with q->lock taken here.
        return bool(info.var_equalities or "?" in k) and not taken.keys().isdisjoint(
            other_names(k, info.aliases, info.var_equalities))

    return frozenset(k for k in release_first - acquire_first
                     if not named_otherwise(k) and not taken_otherwise(k))


def _effects(info: FunctionInfo) -> Iterator[Effect]:
    """Every lock effect of the function's acts, then of its branches'
    trylocks, in node order."""
    for acts in info.acts:
        for a in acts:
            if isinstance(a, OpAct):
                yield a.effect
            elif isinstance(a, TryAssignAct):
                yield from a.resolved.effects
    for br in info.branches:
        if br is not None and br.try_op is not None:
            yield from br.try_op.effects


def _taken_types(info: FunctionInfo) -> dict[str, set[bool]]:
    """The locks the function takes, each with whether it is taken as a
    recursive lock (a recursive and a plain lock are never one object)."""
    out: dict[str, set[bool]] = {}
    for e in _effects(info):
        if e.action in ("acquire", "try"):
            out.setdefault(e.key, set()).add(is_recursive(e.flavour))
    return out


def _first_use(e: Effect) -> str:
    return "release" if e.action == "release" else "try"


# A call in a lock key: the lock is reached through what a function returns.
_ACCESSOR = re.compile(r"[A-Za-z_]\w*\(")


def names_indirectly(e: Effect) -> bool:
    """Does the effect name its lock in a way the caller did not write, so
    that it may be a held lock under another name?  A helper's summary
    does, and so does a key reached through an accessor's result, whoever
    spelt it: put_gfn(p2m->domain, g) releases
    ``p2m_get_hostp2m(p2m->domain)->lock`` whether put_gfn is an inline
    (4.18+) or a macro over the table's __put_gfn (4.16), and only the
    accessor's body could tell whether that is the ``p2m->lock`` held."""
    return e.inferred or _ACCESSOR.search(e.key) is not None


def first_entry_release(info: FunctionInfo, key: str) -> Effect | None:
    """The first release of ``key`` among the function's acts (its effect)."""
    return next((e for e in _effects(info) if e.key == key and e.action == "release"), None)
