"""What the analysis derives from a parse alone, kept on it (SourceFile.derived):
each function's CFG, its fill_actions() run with the questions it asked,
and the dataflow runs over that fill.  A second pass over the same parse
(a whole-tree lint, lint/reuse.py), or a header inline analysed for
another file, takes them again instead of working them out anew.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tree_sitter import Node

from xenpatch.analysis.dataflow import Engine
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.irqstate import IrqTable, entry_facts
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import Observer, RecordingObserver, Result, TooManyStates
from xenpatch.analysis.summaries import helper_summary
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.analysis.values import FileValues
from xenpatch.c.cfg import Cfg, CfgConfig, build_cfg
from xenpatch.c.source import SourceFile


@dataclass(frozen=True)
class Fill:
    """A fill_actions() run kept on its function's parse (FileAnalysis._filled)."""

    cfg: Cfg
    values: FileValues
    irq: IrqTable
    objects: frozenset[str]
    asked: tuple[tuple[Any, ...], ...]  # (who, answer, question...), in order
    info: FunctionInfo
    # Entry IRQ state -> the dataflow run over info from it (run_engine):
    # its result, its observer calls, why it failed (f.skip).
    # And ("summary", called) -> (the run, its helper_summary()).
    runs: dict[Any, Any]
    # Per CFG node, its questions and what it did (actions.NodeFill): a
    # fill of the same CFG and prelude asked other answers takes again the
    # nodes that get the same ones.
    nodes: tuple[Any, ...] = ()


def built_cfg(src: SourceFile, fn: Node, name: str, config: CfgConfig) -> Cfg:
    """build_cfg(), once per function and configuration while ``src`` is
    kept (nothing changes a CFG once built: its users share it)."""
    key = ("cfg", fn.start_byte, fn.end_byte, name)
    got = src.derived.get(key)
    if got is not None and (got[0] is config or got[0] == config):
        return got[1]  # type: ignore[no-any-return]
    cfg = build_cfg(src, fn, name, config)
    src.derived[key] = (config, cfg)
    return cfg


def run_engine(f: FunctionUnit, obs: Observer | None) -> Result | None:
    """The dataflow over f (prepared), path-sensitive unless that meets too
    many states; None (and f.skip says why) if neither run finishes.

    A run depends on f's CFG, its filled facts and its entry state only:
    one of a fill kept on the parse (FileAnalysis._filled) is kept with
    it, with the calls it made to its observer, which a later run from the
    same entry state replays (an observer only watches the run; the one
    that saw a run start over saw only what this record keeps)."""
    runs = f.runs
    if runs is None:
        return _run_engine(f, obs)
    got = runs.get(f.entry_irq)
    if got is None:
        rec = RecordingObserver()
        res = _run_engine(f, rec)
        got = runs[f.entry_irq] = (res, rec, f.skip if res is None else None)
    else:
        res = got[0]
        if got[2] is not None:
            f.skip = got[2]
    if obs is not None:
        got[1].replay(obs)
    return res


def kept_summary(f: FunctionUnit, res: Result) -> Summary | None:
    """helper_summary(f, res), kept with the run: a function of f's CFG,
    facts and text, of the run and of whether other code calls f."""
    runs = f.runs
    if runs is None:
        return helper_summary(f, res)
    key = ("summary", f.called)
    got = runs.get(key)
    if got is not None and got[0] is res:
        return got[1]  # type: ignore[no-any-return]
    s = helper_summary(f, res)
    runs[key] = (res, s)
    return s


def _run_engine(f: FunctionUnit, obs: Observer | None) -> Result | None:
    assert f.cfg is not None and f.info is not None
    entry = entry_facts(f.entry_irq)
    try:
        return Engine(f.cfg, f.info, obs, entry_facts=entry).run()
    except TooManyStates:
        if obs is not None:
            obs.restart()
        try:
            return Engine(f.cfg, f.info, obs, path_sensitive=False, entry_facts=entry).run()
        except TooManyStates:
            f.skip = "too many lock states"
            return None


def run_entered(g: FunctionUnit, entry: str | None,
                prepare: Callable[[FunctionUnit], None]) -> Result | None:
    """g's dataflow entered with IRQs in ``entry``, without checks (a
    caller's context, a way in the tree states).  The unit's own entry
    state and skip reason are put back: its file's checks run it in those
    afterwards, and a run that does not finish here says nothing of them."""
    prepare(g)
    if g.skip is not None or g.cfg is None or g.info is None:
        return None
    was, skip = g.entry_irq, g.skip
    g.entry_irq = entry
    try:
        return run_engine(g, None)
    finally:
        g.entry_irq, g.skip = was, skip

