"""Helpers that only take locks (take-only summaries): what the second pass
over a tree (workers.again), the one-lint of a cold single file (once.py) and
the later rounds (rounds.py, lazyrounds.py: can what a summary adds change
a file's lint?) ask of them.  A leaf: none of those modules is imported
here."""

from __future__ import annotations

from xenpatch.analysis.locktable import Summary


def takes_only(s: Summary) -> bool:
    return all(e.action == "take" for e in s.effects)


def lock_names(s: Summary) -> frozenset[str] | None:
    """The names a caller holding one of the summary's locks must use (the
    lock's field or global, bare or with leading underscores); None: a lock
    it is handed, which may be any."""
    from xenpatch.analysis.lockkeys import last_field

    out: set[str] = set()
    for e in s.effects:
        name = last_field(e.key).lstrip("_")
        if "$" in name or not name:
            return None
        out |= {name, "_" + name, "__" + name}
    return frozenset(out)


def take_names(s: Summary) -> frozenset[str] | None:
    """For effects that are takes only, the names a file must use for them
    to change its lint (lock_names()); None: anything else, or a lock the
    helper is handed."""
    return lock_names(s) if takes_only(s) else None


def meets(names: frozenset[str] | None, ids: frozenset[str]) -> bool:
    """Could effects of these take_names(), a callee's, change the lint of a
    file naming ``ids``: any but takes of locks it never names (the later
    rounds' test: rounds.py, lazyrounds.py)."""
    return names is None or not names.isdisjoint(ids)


def change_meets(s: Summary, old: Summary | None, ids: frozenset[str]) -> bool:
    """Could what summary ``s`` adds to ``old`` change the lint of a file
    naming ``ids``?"""
    return meets(take_names(added(s, old)), ids)


def added(s: Summary, old: Summary | None) -> Summary:
    """The effects ``s`` has that ``old`` has not."""
    return Summary(tuple(e for e in s.effects if old is None or e not in old.effects), None)


def may_meet(s: Summary, text: bytes) -> bool:
    """Can a call of a helper with this summary change what the file's lint
    says?  One that only takes locks (printk() takes console_lock) matters
    only to a caller that may hold one of them: the file must name that
    lock's field (or global) somewhere, where it takes or releases it, or
    through a wrapper named after it (pcidevs_lock() takes _pcidevs_lock).
    A lock the helper is handed itself ("*$0") may be any."""
    from xenpatch.analysis.lockkeys import last_field

    for e in s.effects:
        name = last_field(e.key).lstrip("_")
        if e.action != "take" or "$" in name or not name or name.encode() in text:
            return True
    return False
