"""The keys a whole-tree run settles check_lock()'s state of entry by
(lint/unarmedsettle.py): a file's first pass asks (``NEED + NAME``, the
condition for entering its function NAME with the check off), the tree
answers (``UNARMED + NAME|FILE``).  A leaf: the file's lint
(unarmedfile.py) and the tree's settle both read them."""

from __future__ import annotations

from collections.abc import Mapping

from xenpatch.analysis.extmemo import of_mapping
from xenpatch.analysis.irqentry import LOCKS_KEY
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.unarmed import Need, decode, encode

NEED = LOCKS_KEY + "need:"
UNARMED = LOCKS_KEY + "unarmed:"


def need_summary(need: frozenset[str]) -> Summary:
    return Summary((Effect("irqarm", "spin", "", "plain", "", None, encode(need),
                           inferred=True),), None)


def need_of(s: Summary) -> frozenset[str]:
    return decode(s.effects[0].via) if s.effects else frozenset()


def exports(own: Mapping[str, Need]) -> dict[str, Summary]:
    """A file's first-pass facts: the conditions of its functions named in
    ``own`` (those its witnesses name), where the tree decides them."""
    return {NEED + n: need_summary(s) for n, s in own.items() if s}


def outside_of(external: Mapping[str, Summary], me: str) -> frozenset[str]:
    """The names of the file at ``me`` (its path under xen/) whose callers
    in other files the tree settled as off."""
    return of_mapping(external, "unarmed outside", lambda: _outside_per_file(external)).get(
        me, frozenset())


def _outside_per_file(external: Mapping[str, Summary]) -> dict[str, frozenset[str]]:
    """outside_of() of every file, from one scan of ``external``: a key is
    UNARMED + NAME|FILE (the name may hold no "|": a function's)."""
    out: dict[str, set[str]] = {}
    for k in external:
        if k.startswith(UNARMED) and "|" in k:
            name, _, who = k[len(UNARMED):].rpartition("|")
            out.setdefault(who, set()).add(name)
    return {who: frozenset(ns) for who, ns in out.items()}


__all__ = ["NEED", "UNARMED", "exports", "need_of", "need_summary", "outside_of"]
