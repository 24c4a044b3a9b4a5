"""Helpers that only take locks (take-only summaries): what the second pass
over a tree (run._again) and the one-lint of a cold single file (once.py)
both ask of them.  A leaf: neither of those modules is imported here."""

from __future__ import annotations

from xenpatch.analysis.locktable import Summary


def takes_only(s: Summary) -> bool:
    return all(e.action == "take" for e in s.effects)


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
