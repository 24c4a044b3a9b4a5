"""Some functions' summaries of one C file, as its full lint exports them,
from an analysis of only what those summaries need: the lazy cross-file
summaries ask this of the files defining what a linted file calls.

The full lint (filelint.lint_functions()) prepares every relevant function
first, in file order (each question a fill asks of a callee marks it
called, FunctionUnit.called), then walks them in order again: a function
whose facts hold no lock of its own exports its (first definition's)
summary, one that does the summary of its own run, and a function that
could not be analysed (skipped) exports none.  A name defined twice (under
#ifdef) is exported by the last of its definitions that exports one.
exports_of() does the same two walks over the file cut down to what the
asked names reach (excerpt.py), the second walk for the asked names only,
so the answer is the full lint's, name for name (tests/lint/test_partial*.py
compare them):

- a function the excerpt keeps is analysed as in the whole file (its
  callees are kept too), and its summaries are of one order of questions
  (the file analysis enters each call cycle at its first definition);
- what a cut-away function could change is whether an asked function is
  called (helper_summary() reads it, through designed_helper()).  Where
  that matters (the summary with it set differs from the one without) and
  a cut-away body may name the function (through the file's macros and its
  headers' inlines), the file is analysed whole instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.headers import HeaderIndex, header_index, macro_functions
from xenpatch.analysis.irqdemand import export_demands
from xenpatch.analysis.kept import kept_summary, run_engine
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.source import SourceError, mentions_any
from xenpatch.lint import nameindex
from xenpatch.lint.excerpt import Excerpt, _bodies, _scan, excerpt, file_reach, reached
from xenpatch.lint.reaching import reaching_names

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig


# A callee file's functions written out by its macros, kept for the last
# texts asked: the lazy plan asks a file for its summaries of one round,
# then of the next (lazyrounds.py); the list is shared, never changed.
_made = functools.lru_cache(maxsize=64)(macro_functions)


def exports_of(path: Path, raw: bytes, config: LintConfig,
               names: frozenset[str],
               external: Mapping[str, Summary] | None = None) -> dict[str, Summary]:
    """What ``lint_file(path, external=external).exports`` holds of
    ``names`` (``raw``: the file's text; ``external``: other files'
    summaries, as a second pass gives them: then a file naming no lock
    operation is still parsed, lint_file() parsing it for them)."""
    from xenpatch.lint.filelint import _seed_names

    headers = header_index(path)
    if not mentions_any(raw, _seed_names(config, headers)) and not (
            external and mentions_any(raw, reaching_names(headers, frozenset(external)))):
        return {}  # not parsed by the lint (as filelint._lint_text()): no summaries
    where = str(path).replace("\\", "/")
    if any(where == p or where.endswith("/" + p) for p in config.implementation):
        return {}  # the lock API's own: none either
    got = _from_excerpt(path, raw, config, names, headers, external)
    if got is not None:
        return got
    fa = _analysis(path, raw, config, headers, external)
    return {} if fa is None else _exports(fa, names, _prepared(fa))


def _analysis(path: Path, text: bytes, config: LintConfig, headers: HeaderIndex,
              external: Mapping[str, Summary] | None = None) -> FileAnalysis | None:
    from xenpatch.lint.filelint import _parse

    try:
        src = _parse(str(path), text, config, path)
    except SourceError:
        return None
    return FileAnalysis(config, src, headers, external)


def _from_excerpt(path: Path, raw: bytes, config: LintConfig, names: frozenset[str],
                  headers: HeaderIndex,
                  external: Mapping[str, Summary] | None = None) -> dict[str, Summary] | None:
    """exports_of() over the excerpt; None where it cannot tell (no
    excerpt, one that does not parse as the text scan took it, or a
    cut-away function that may decide a summary)."""
    reach = file_reach(headers, raw, _made(raw))
    part = excerpt(raw, names, reach)
    if part is None:
        return None
    fa = _analysis(path, part.text, config, headers, external)
    if fa is None or not part.parsed_as_cut(fa.order):
        return None
    if _order_may_matter(fa, raw, part, reach):
        return None
    rel = _prepared(fa)
    if _cut_may_decide(fa, raw, part, names, reach):
        return None
    return _exports(fa, names, rel, _lines_of(raw, part))


def _prepared(fa: FileAnalysis) -> list[FunctionUnit]:
    """The relevant functions, each prepared as the full lint's first walk
    prepares it (the questions asked in the same order)."""
    rel = fa.relevant()
    for f in rel:
        if not fa.is_quiet(f):
            fa.prepare(f)
    return rel


def _order_may_matter(fa: FileAnalysis, raw: bytes, part: Excerpt,
                      reach: nameindex.Reach) -> bool:
    """May the cut-away functions change the order the kept ones are
    summarised in, where that order matters: a name the file defines
    twice whose definitions reach it again (the analysis tells a
    function under way by its name, so one definition being prepared
    hides the other's summary from what it calls: which of them a caller
    asks for first decides what the other sees), and which a cut-away
    body may reach too?"""
    counts: dict[str, int] = {}
    for f in fa.order:
        counts[f.name] = counts.get(f.name, 0) + 1
    twice = {n for n, k in counts.items() if k > 1}
    if not twice:
        return False
    defs = nameindex.definitions(raw)
    scanned = _scan(raw)
    if scanned is None:
        return True
    bodies = _bodies(raw, defs, scanned[0])

    def from_texts(texts: list[bytes]) -> set[str]:
        ids: set[str] = set()
        for t in texts:
            ids |= nameindex.identifiers(t)
        return reached(raw, (), reach, defs, bodies, frozenset(ids))[1]

    # Whether a definition reaches its name again first: a few bodies,
    # where what the cut-away ones reach is most of the file.
    again = {n for n in twice if n in from_texts(
        [raw[d.brace:(bodies[i] or (d.brace, len(raw)))[1]]
         for i, d in enumerate(defs) if d.name == n])}
    return bool(again) and not again.isdisjoint(from_texts([raw[s:e] for s, e in part.cut]))


def _cut_may_decide(fa: FileAnalysis, raw: bytes, part: Excerpt, names: frozenset[str],
                    reach: nameindex.Reach) -> bool:
    """May a cut-away function change an asked name's summary: is one not
    called by what is kept, whose summary would differ if it were, named
    by a cut-away body?"""
    open_to: set[str] = set()
    for n in names:
        f = fa.fns.get(n)
        if f is None or f.called or f.cfg is None or f.info is None or f.skip is not None \
                or not f.info.relevant:
            # Called already, or exporting nothing, or what takes_summary()
            # says (which reads no caller).
            continue
        res = f.run_record[0] if f.run_record is not None else run_engine(f, None)
        if res is None:
            continue
        alone = kept_summary(f, res)
        f.called = True
        try:
            called = kept_summary(f, res)
        finally:
            f.called = False
        if alone != called:
            open_to.add(n)
    if not open_to:
        return False
    ids: set[str] = set()
    for s, e in part.cut:
        ids |= nameindex.identifiers(raw[s:e])
    return not reach.closure(ids).isdisjoint(open_to)


def _lines_of(raw: bytes, part: Excerpt) -> Callable[[int], int]:
    """The file's line of a line of the excerpt (outside an emptied body):
    the text after each emptied body is the file's from that body's "}"
    to the next emptied body's "{"."""
    text = part.text
    closes: list[tuple[int, int]] = []  # ("}" in the excerpt, "}" in the file)
    for i, (_, close) in enumerate(part.cut):
        nxt = part.emptied[i + 1] - (part.cut[i + 1][0] - close) if i + 1 < len(part.cut) \
            else len(text) - (len(raw) - close)
        closes.append((nxt, close))

    def line(n: int) -> int:
        x = 0
        for _ in range(n - 1):
            x = text.find(b"\n", x) + 1
        orig = x
        for at, close in reversed(closes):
            if at <= x:
                orig = close + (x - at)
                break
        return raw.count(b"\n", 0, orig) + 1

    return line


def _exports(fa: FileAnalysis, names: frozenset[str], rel: list[FunctionUnit],
             lines: Callable[[int], int] | None = None) -> dict[str, Summary]:
    """The full lint's second walk (filelint.lint_functions()), for the
    exports of ``names``: the other functions' runs there change none of
    these (their questions were all asked in the first walk)."""
    from xenpatch.lint.filelint import export_lockless, export_run

    out: dict[str, Summary] = {}
    for f in rel:
        if f.name not in names:
            continue
        if f.quiet and f.cfg is None:
            continue
        if f.skip is not None or f.cfg is None or f.info is None:
            continue
        if not f.info.relevant:
            export_lockless(fa, f, out)
            continue
        res = f.run_record[0] if f.run_record is not None else run_engine(f, None)
        if res is not None:
            export_run(fa, f, res, out)
    export_demands(fa, out, names, lines)  # as the full lint's (irqdemand.py)
    return out
