"""A file's functions entered while check_lock() is off (analysis/
unarmed.py), marked on their units before any IRQ check reads their
unchecked nodes, with the facts the whole-tree run settles them by
(lint/unarmedsettle.py)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.unarmed import Apis, Closure, Need, closure, entered_unchecked
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint import unarmedkeys
from xenpatch.lint.config import LintConfig
from xenpatch.lint.irqentries import fn_refs


class Marked:
    """The file's closure, and which takes may yet be found unchecked by
    the tree (maybe())."""

    def __init__(self, fa: FileAnalysis, config: LintConfig, mark: bool = True) -> None:
        self.fa, self.mark = fa, mark
        self.apis = Apis(config.irqsafe_unchecked, config.irqsafe_enables, fa.prepare)
        self.api = frozenset(fa.table.names()) | frozenset(config.irq.calls) | \
            config.irqsafe_unchecked | config.irqsafe_enables
        if not mark:
            return
        for g in fa.order:
            g.unarmed = frozenset()
        outside = unarmedkeys.outside_of(fa.external, fa.tree_path)
        # A function is entered with the check off only from a call after a
        # disable or before an arming enable of the file's, or from the
        # tree's callers settled so: else none is, and the closure waits
        # for a witness to ask it (maybe()).
        if not outside and not any(n.encode() in fa.src.raw for n in
                                   self.apis.disables | self.apis.enables):
            return
        entered = entered_unchecked(self.closure, outside)
        for g in fa.order:
            if g.name in entered or self.apis.arming(g):
                g.unarmed = self.apis.unarmed(g)

    @cached_property
    def closure(self) -> Closure:
        # (The calls' conditions are worked out for facts_of() only: the
        # tree asks them of the files a chain up from a witness reaches.)
        return closure(self.fa.order, fn_refs(self.fa), self.fa.src.raw, self.apis,
                       calls=not self.mark)

    def maybe(self, f: FunctionUnit, node: int) -> bool:
        """Is a take at CFG ``node`` of f one the tree may find unchecked:
        f's entry waits on other files' callers, and no enable of f's
        precedes it?"""
        need = self.closure.own.get(f.name)
        return bool(need) and node not in f.unarmed and node not in self.apis.after(f)[1]

    def exports(self, witnesses: Mapping[str, Summary]) -> dict[str, Summary]:
        """The first-pass facts: the conditions of the functions
        ``witnesses`` (irqwitness.exports()) name first (the calls' are
        the tree's to ask, facts_of(), of the few files a chain up from
        them reaches)."""
        from xenpatch.lint.irqrecords import witnesses_of

        named = {ws[0].fn for s in witnesses.values() if (ws := witnesses_of(s))}
        return unarmedkeys.exports({n: s for n in named
                                      if (s := self.closure.own.get(n)) is not None})

    @property
    def calls(self) -> dict[str, Need]:
        """The conditions of its calls of other files' functions (not of
        the lock and IRQ APIs')."""
        return {n: s for n, s in self.closure.calls.items() if n not in self.api}


def mark(fa: FileAnalysis, config: LintConfig) -> Marked | None:
    """The file's functions' ``unarmed`` nodes set (reset where none)."""
    if not config.irqsafe_unchecked and not config.irqsafe_enables:
        return None
    return Marked(fa, config)


__all__ = ["Marked", "mark"]
