"""One function of a C file (or a header's inline) and what the analysis
has learnt of it so far: its CFG, per-node facts, summary, and the record
of the dataflow run that made the summary.  FileAnalysis fills the fields
on demand; lint and the runtime's lock programs read them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tree_sitter import Node

from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import RecordingObserver, Result
from xenpatch.c.cfg import Cfg
from xenpatch.c.source import SourceFile


# eq=False: a unit is itself (hashable by identity), never equal to another
# function's unit with the same fields.
@dataclass(eq=False)
class FunctionUnit:
    src: SourceFile
    node: Node
    name: str
    # No class attribute (a factory's default): a unit whose preparation is
    # deferred (defer()) has neither in its __dict__, and reading one makes
    # them (__getattr__); every other read finds them in the instance.
    cfg: Cfg | None = field(default_factory=lambda: None)
    info: FunctionInfo | None = field(default_factory=lambda: None)
    summary: Summary | None = None
    summarised: bool = False
    called: bool = False  # some other function of the file calls it
    skip: str | None = None  # why it could not be analysed
    quiet: bool | None = None  # no lock effect possible (see FileAnalysis.is_quiet)
    # The summary's run, with its observer calls (the lint replays them).
    run_record: tuple[Result, RecordingObserver] | None = None
    # This CPU's IRQ state on entry, when every caller agrees on it
    # ("on"/"off", irqentry.py); None: unknown, as for any function.
    entry_irq: str | None = None
    # The dataflow runs over its CFG and facts by entry state, kept with
    # the fill they are of (kept.run_engine); None: not kept.
    runs: dict[Any, Any] | None = None
    # The CFG nodes where check_lock() is off because of how the function
    # is entered (analysis/unarmed.py): it arms the check itself, or only
    # code running with it off calls it.  Set by the lint per run.
    unarmed: frozenset[int] = frozenset()

    @cached_property
    def is_static(self) -> bool:
        # Of its definition's text alone (node never changes): asked ~60k
        # times a whole-tree lint of Xen 4.17, worked out once per unit.
        return any(
            c.type == "storage_class_specifier" and self.src.text(c) == "static"
            for c in self.node.children
        )

    def defer(self, prepare: Callable[[FunctionUnit], None], collected: FunctionInfo) -> None:
        """Leave the CFG and facts of this unit (not prepared yet) to be made
        by ``prepare(self)`` when first read, as they would have been now:
        a reader finds what it would have found.  ``collected``: collect()'s
        facts of its text, which its fill would not change (text_facts())."""
        assert self.__dict__.get("cfg") is None and self.__dict__.get("info") is None
        del self.__dict__["cfg"], self.__dict__["info"]
        # Weakly: the analysis holds its units, and a cycle back to it would
        # keep each file's analysis alive until the collector runs (rarely
        # in a tree's workers, lint/collector.py), not until its lint ends.
        self.__dict__["_deferred"] = weakref.WeakMethod(prepare)  # type: ignore[arg-type]
        self.__dict__["_collected"] = collected

    @property
    def deferred(self) -> bool:
        """Is its preparation deferred (defer())?  FileAnalysis defers only
        a function that can neither lock nor move IRQs (analysis/inert.py)."""
        return "_deferred" in self.__dict__

    def text_facts(self) -> FunctionInfo | None:
        """Its parameters, locals and aliases (collect()'s, which a fill does
        not change): info's, or a deferred unit's without preparing it."""
        got = self.__dict__.get("_collected") if "_deferred" in self.__dict__ else None
        return got if got is not None else self.info

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute the instance lacks: a deferred
        # unit's cfg or info.
        ref = self.__dict__.pop("_deferred", None) if name in ("cfg", "info") else None
        if ref is None:
            raise AttributeError(name)
        self.cfg = self.info = None
        prepare = ref()
        if prepare is not None:  # else its analysis is gone: never prepared
            prepare(self)
        return self.__dict__[name]

