"""Functions of a file that can neither lock nor move IRQs, read without
their fill.

XL017's callee records (lint/irqwitness.py) ask, of every function a
lock-relevant one calls, its CFG and calls: a function naming no lock
(sidtab_insert() allocating through another file's allocator) is most of
them.  Its fill (FileAnalysis.prepare()) would ask only questions answered
"nothing" and hold no lock op and no IRQ move, which is all those records
read of it besides collect()'s facts: a stand-in with its CFG and those
facts serves them, and the function's own preparation is deferred to its
first reader (FunctionUnit.defer()), who gets what preparing it at once
would have given.
"""

from __future__ import annotations

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.functions import collected
from xenpatch.analysis.kept import built_cfg
from xenpatch.analysis.unit import FunctionUnit


def inert(fa: FileAnalysis, f: FunctionUnit) -> bool:
    """Is ``f`` a function of the file whose text names nothing its fill
    could make a lock op or an IRQ move of: no name relevant() found
    relevant (the lock API, the file's and other files' helpers, the
    header inlines and macros reaching one) and no call of the IRQ API?
    Its fill then asks only questions answered "nothing" (an assertion on
    the IRQ state is no move).  Known once relevant() has run (False
    before)."""
    if f.src is not fa.src or f.name in fa.relevant_names:
        return False
    ids = fa.names_read(f)
    if ids is None or not ids.isdisjoint(fa.relevant_bytes()):
        return False
    irq = fa.config.memo(("irq call names",),
                         lambda: frozenset(n.encode() for n in fa.config.irq.calls))
    return ids.isdisjoint(irq)


def without_acts(fa: FileAnalysis, f: FunctionUnit) -> FunctionUnit | None:
    """For an inert() function not prepared yet: a unit of the same
    function with its CFG and collect()'s facts, every node's acts empty
    -- what its fill would hold of lock ops and IRQ moves (none) and of
    its parameters, locals and aliases (collect()'s) -- for a reader of
    those alone.  f's own preparation is deferred to its first reader.
    None otherwise (prepare() it)."""
    if not f.deferred and (f.cfg is not None or not inert(fa, f)):
        return None
    cfg = built_cfg(f.src, f.node, f.name, fa.cfg_config)
    if not cfg.complete:
        return None  # prepare() says why (f.skip)
    info = collected(f.src, f.node, f.name)
    info.acts = [[] for _ in cfg.nodes]
    info.branches = [None for _ in cfg.nodes]
    if not f.deferred:
        # Its params and locals are collect()'s (FunctionUnit.text_facts()).
        f.defer(fa.prepare, info)
    return FunctionUnit(f.src, f.node, f.name, cfg=cfg, info=info)
