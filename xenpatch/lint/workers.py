"""What one task of a lint run does, in this process or a pool's worker:
a file's first pass, its second with the other files' summaries, a file's
summaries of some names.  The configuration is loaded once per process.

Callers reach these through the module (``workers.one``), so that what
runs in a forked worker is what this module holds when it forks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.fieldtexts import stores_any
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import entrysettle, irqcalls, irqwitness
from xenpatch.lint.findings import FileResult
from xenpatch.lint.inputs import read as _read
from xenpatch.lint.takers import may_meet
from xenpatch.lint.treeexports import TreeExports, shipped

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig

# The checker itself (the C front end, the analysis) is imported only when a
# file is linted: a run whose results the cache holds does without.


_CONFIG: LintConfig | None = None


def config() -> LintConfig:
    """The configuration this process loaded for the run (init())."""
    assert _CONFIG is not None
    return _CONFIG


def init(rules: Path | None) -> None:
    global _CONFIG
    from xenpatch.lint.config import LintConfig

    _CONFIG = LintConfig.load(rules)


def loaded(rules: Path | None) -> LintConfig:
    if _CONFIG is None:
        init(rules)
    assert _CONFIG is not None
    return _CONFIG


def one(item: tuple[Path, str], raw: bytes | None = None,
         external: Mapping[str, Summary] | None = None) -> FileResult:
    """The file linted (``external``: with those other files' summaries)."""
    from xenpatch.lint.filelint import lint_file

    assert _CONFIG is not None
    if raw is None:
        return lint_file(item[0], item[1], _CONFIG, external)
    return lint_file(item[0], item[1], _CONFIG, external, raw=raw)


def again(
    item: tuple[Path, str], own: frozenset[str], exports: dict[str, Summary] | TreeExports,
    raw: bytes | None = None, held: frozenset[str] = frozenset(),
    only: frozenset[str] | None = None, later: bool = True,
) -> FileResult | None:
    """The file linted again with the other files' summaries, if it calls
    one of those functions; None if the first pass stands.  ``held``: the
    first pass's held_calls (a helper that only takes locks matters only
    where one may be held).  ``only``: a later round's (lint/rounds.py),
    where the file matters only if it may call one of these holding a lock
    (with ``held``), or at all (without: for its summaries).  ``later``:
    may a later round lint the file again (rounds.asked_later())?  If not,
    the parse its first pass kept (reuse.py) is let go of here whether
    this pass takes it or not: the kept parses are most of a worker's
    memory (~120 of Xen 4.17's ~200 MB), a quarter of them of files no
    lint takes again."""
    got = _again(item, own, exports, raw, held, only)
    if not later:
        from xenpatch.lint import reuse

        reuse.drop(item[1], item[0])
    return got


def _again(item: tuple[Path, str], own: frozenset[str],
           exports: dict[str, Summary] | TreeExports, raw: bytes | None,
           held: frozenset[str], only: frozenset[str] | None) -> FileResult | None:
    from xenpatch.lint.filelint import lint_file
    from xenpatch.lint.irqdemandcheck import may_break_demand
    from xenpatch.lint.reaching import calls_any, reached_from

    assert _CONFIG is not None
    tree = shipped(exports).for_path(item[0])
    text = raw
    if text is None:
        try:
            text = item[0].read_bytes()
        except OSError:
            return None
    if only is not None:
        # As the second pass's takers: only a lock the file names.
        hit = any(n not in tree.takers or may_meet(tree.takers[n], text)
                  for n in (reached_from(item[0], held) & only) - own) if held else \
            calls_any(item[0], only - own, raw=text)
        # Without ``held``: for its summaries alone (rounds.py), not its
        # findings; a later round may lint it again for those.
        return lint_file(item[0], item[1], _CONFIG, tree.summaries, raw=raw,
                         findings_only=True, exports_only=not held,
                         again=not held) if hit else None
    names = tree.others - own if not own.isdisjoint(tree.others) else tree.others
    meet: set[str] = set()
    if held and tree.takers:
        under = reached_from(item[0], held)
        meet = {n for n in under & tree.takers.keys()
                if n not in own and may_meet(tree.takers[n], text)}
    # What reaches the tree's helpers is derived once (the few files with
    # take-only helpers to meet derive their own).
    called = calls_any(item[0], names | meet, raw=text) if meet else \
        calls_any(item[0], names, raw=text, among=tree.others)
    # A field whose calls agree on the IRQ state matters to the files
    # storing a function in it only.
    # A function demanding an IRQ state (XL018), where the file may know it.
    if not called and tree.demanding:
        called = may_break_demand(text, _CONFIG, tree.demanding - own)
    if not called and not stores_any(text, tree.fields) and \
            not irqcalls.defines_any(text, tree.called) and \
            not irqwitness.wanted(tree.summaries, item[1]) and \
            not entrysettle.settled_for(tree.summaries, item[0]):  # lint/entrysettle.py
        return None
    # Its exports stay its first pass's (passmaps.second), and no later pass asks
    # where it calls holding a lock.  A file calling under a lock may be
    # linted in the later rounds (rounds.later_rounds()) with much the same
    # summaries: its parse and fills stay kept for it (reuse.py).
    return lint_file(item[0], item[1], _CONFIG, tree.summaries, raw=raw, findings_only=True,
                     again=bool(held))


def task(t: tuple[Any, ...]) -> Any:
    """One task of the lazy run's first map (see _lazily)."""
    return summaries(t[1], t[2]) if t[0] == "summaries" else one(t[1], t[2])


def task_path(t: tuple[Any, ...]) -> Path:
    return t[1] if t[0] == "summaries" else t[1][0]


def summaries(path: Path, names: frozenset[str],
               ) -> tuple[bool, dict[str, Summary], str | None]:
    """A file's summaries of ``names`` for its callers: (all of them?,
    summaries, the content hash of the text they are of)."""
    from xenpatch.lint.calleesummaries import summaries_of_text
    from xenpatch.lint.treecache import content_hash

    assert _CONFIG is not None
    raw = _read(path)
    if raw is None:
        return True, {}, None
    complete, got = summaries_of_text(path, raw, _CONFIG, names)
    return complete, got, content_hash(raw)


def summaries_with(path: Path, raw: bytes, names: frozenset[str],
                    external: Mapping[str, Summary]) -> dict[str, Summary]:
    """A file's summaries of ``names`` as its lint with the other files'
    summaries ``external`` exports them (a second round's)."""
    from xenpatch.lint.partial import exports_of

    assert _CONFIG is not None
    return exports_of(path, raw, _CONFIG, names, external)


def first(item: tuple[Path, str], raw: bytes | None,
           index: bool) -> tuple[FileResult, tuple[str, list[str] | None] | None]:
    """The first pass of a file; for a file read here, also the content
    hash of what was read and, with ``index``, its name index entry (its
    external names), from the same read."""
    if raw is not None:
        return one(item, raw), None
    from xenpatch.lint.treecache import content_hash

    try:
        text = item[0].read_bytes()
    except OSError:
        return one(item), None
    if not index:
        return one(item, text), (content_hash(text), None)
    from xenpatch.lint import nameindex

    return one(item, text), (content_hash(text), nameindex.external_names(text))

