"""Linting files in parallel with a stable order (which files: inputs.py).

One file (the pre-commit case, with the tree's summaries cached) is linted
in this process: starting a pool would cost more than the work.  Otherwise
a process pool of ``jobs`` workers each loads the configuration once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.irqentry import stores_any
from xenpatch.analysis.locktable import Summary
from xenpatch.lint import irqcalls, irqwitness, rounds
from xenpatch.lint.findings import FileResult
from xenpatch.lint.inputs import display as _display
from xenpatch.lint.inputs import read as _read
from xenpatch.lint.inputs import real_paths as _real_paths
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.inputs import tree_cache as _tree_cache
from xenpatch.lint.shipping import to_workers
from xenpatch.lint.takers import may_meet
from xenpatch.lint.treecache import TreeCache
from xenpatch.lint.treeexports import TreeExports, shipped, tree_exports

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from xenpatch.lint import forked as forked_t
    from xenpatch.lint import lazy as lazy_t
    from xenpatch.lint import lazyrounds as lazyrounds_t
    from xenpatch.lint.config import LintConfig

# The checker itself (the C front end, the analysis) is imported only when a
# file is linted: a run whose results the cache holds does without.


_CONFIG: LintConfig | None = None


def _init(rules: Path | None) -> None:
    global _CONFIG
    from xenpatch.lint.config import LintConfig

    _CONFIG = LintConfig.load(rules)


def _loaded(rules: Path | None) -> LintConfig:
    if _CONFIG is None:
        _init(rules)
    assert _CONFIG is not None
    return _CONFIG


def _one(item: tuple[Path, str], raw: bytes | None = None,
         external: Mapping[str, Summary] | None = None) -> FileResult:
    """The file linted (``external``: with those other files' summaries)."""
    from xenpatch.lint.filelint import lint_file

    assert _CONFIG is not None
    if raw is None:
        return lint_file(item[0], item[1], _CONFIG, external)
    return lint_file(item[0], item[1], _CONFIG, external, raw=raw)


def _again(
    item: tuple[Path, str], own: frozenset[str], exports: dict[str, Summary] | TreeExports,
    raw: bytes | None = None, held: frozenset[str] = frozenset(),
    only: frozenset[str] | None = None,
) -> FileResult | None:
    """The file linted again with the other files' summaries, if it calls
    one of those functions; None if the first pass stands.  ``held``: the
    first pass's held_calls (a helper that only takes locks matters only
    where one may be held).  ``only``: a later round's (lint/rounds.py),
    where the file matters only if it may call one of these holding a lock
    (with ``held``), or at all (without: for its summaries)."""
    from xenpatch.lint.filelint import lint_file
    from xenpatch.lint.irqdemandcheck import may_break_demand
    from xenpatch.lint.reaching import calls_any, reached_from

    assert _CONFIG is not None
    tree = shipped(exports)
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
        # findings; the third round's may lint it again.
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
            not irqwitness.wanted(tree.summaries, item[1]):
        return None
    # Its exports stay its first pass's (_second), and no later pass asks
    # where it calls holding a lock.  A file calling under a lock may be
    # linted in the third round (rounds.third()) with much the same
    # summaries: its parse and fills stay kept for it (reuse.py).
    return lint_file(item[0], item[1], _CONFIG, tree.summaries, raw=raw, findings_only=True,
                     again=bool(held))


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


# (what is being done, files done, files in all), called after each file.
Progress = Callable[[str, int, int], None]


def _counted(results: Iterable[FileResult | None], what: str, total: int,
             progress: Progress | None) -> Iterator[FileResult | None]:
    if progress is None:
        yield from results
        return
    progress(what, 0, total)
    for i, r in enumerate(results, 1):
        progress(what, i, total)
        yield r


def lint_files(
    files: list[tuple[Path, str]], jobs: int | None = None, rules: Path | None = None,
    tree: bool = True, progress: Progress | None = None,
    contents: Mapping[Path, bytes] | None = None,
) -> list[FileResult]:
    """Two passes: each file with its own and its headers' helpers, then the
    files that call another file's lock helper (vpci_msix_arch_print()
    drops its caller's lock when it fails) again with those summaries.
    One round: a helper known only through another file's helper stays
    unknown.

    With ``tree``, files inside a Xen tree also get the summaries of the
    tree's other files they may call, from the on-disk cache (treecache.py)
    or computed for the names needed (lazy.py): linting one file then knows
    what a full run knows.  A run over the whole tree fills the cache.

    ``contents``: the text to lint instead of what some files hold now
    (``--since``: the files at a revision, in the tree as it is)."""
    from xenpatch.c.texts import shared_reads

    with shared_reads():
        return _lint_files(files, jobs, rules, tree, progress, contents)


def _lint_files(
    files: list[tuple[Path, str]], jobs: int | None, rules: Path | None, tree: bool,
    progress: Progress | None, contents: Mapping[Path, bytes] | None,
) -> list[FileResult]:
    jobs = jobs or default_jobs()
    over = contents or {}
    real = _real_paths(p for p, _ in files)
    cache = _tree_cache(real.values(), rules) if tree else None
    rels: dict[tuple[Path, str], str | None] = {}
    if cache is not None:
        rels = {item: cache.rel(real[item[0]]) for item in files}
        if not set(cache.sources()) <= set(rels.values()):
            results = _lazily(files, rels, cache, rules, jobs, over)
            cache.save()
            results.sort(key=lambda r: r.path)
            return results
    # Big files first keeps the pool busy to the end; order is restored.
    work = sorted(files, key=lambda f: -_size(f[0]))
    raws = [over.get(item[0]) for item in work]
    # The tree's C files as they are on disk: their first passes also give
    # the name index's entries (the text is read there once, not again here).
    sources = set(cache.sources()) if cache is not None else set()
    index = [item[0] not in over and rels.get(item) in sources for item in work]
    _init(rules)
    _warm(real.values())
    from xenpatch.lint.filelint import warm_headers
    from xenpatch.lint.passes import pass_mapper

    assert _CONFIG is not None
    warm_headers((item[0] for item in work), _CONFIG)

    with pass_mapper(jobs, len(work), _loaded, rules) as mapper:
        results, read = _two_passes(work, mapper, progress, raws, index)
    if cache is not None:
        from xenpatch.lint.lazy import Plan, own_exports

        # What is kept of a file is kept under the hash of the text its
        # passes read (a file changed since the cache hashed it is read
        # again by the next run).
        for item, got in zip(work, read, strict=True):
            rel = rels[item]
            if got is not None and got[1] is not None and rel is not None \
                    and cache.hashes.get(rel) == got[0] and cache.definitions(rel) is None:
                cache.set_definitions(rel, got[1])
        as_hashed = [rels[item] if item[0] not in over and _as_hashed(cache, rels[item], r)
                     else None for item, r in zip(work, results, strict=True)]
        own_exports(zip(as_hashed, results, strict=True), cache)
        # The name index too, for the runs on a few files that follow.
        Plan(cache, lambda: _loaded(rules)).definers()
        cache.save()
    results.sort(key=lambda r: r.path)
    return results


def _as_hashed(cache: TreeCache, rel: str | None, r: FileResult) -> bool:
    """Is ``r`` a result of the text the cache hashed for ``rel``?"""
    return rel is not None and r.digest is not None and r.digest == cache.hashes.get(rel)


def _warm(real: Iterable[Path]) -> None:
    """The macro tables of the files' trees, derived whole here (and kept
    on disk, masking/tree.py) before the workers fork: each would
    otherwise derive what it needs on its own."""
    from xenpatch.c.masking import find_xen_dir, tree_table

    assert _CONFIG is not None
    for d in {p.parent for p in real}:
        xen = find_xen_dir(d)
        if xen is not None:
            tree_table(_CONFIG.macros, xen)


@contextmanager
def _mapper(jobs: int, n: int, rules: Path | None,
            loaded: bool = False) -> Iterator[Callable[..., Iterable[Any]]]:
    """``map`` in this process for one task, else over a pool of ``jobs``
    workers that each load the configuration once.  ``loaded``: this
    process has loaded it for this run already."""
    if not loaded:
        # Here, before any worker starts: a bad rule file is one error of
        # this process, not a broken pool.
        _init(rules)
    if jobs <= 1 or n <= 1:
        yield map
        return
    from concurrent.futures import ProcessPoolExecutor

    # The checker, imported here once: forked workers inherit it instead of
    # each importing it (a tenth of a second of CPU per worker).
    from xenpatch.lint import filelint  # noqa: F401

    chunk = max(1, min(8, n // (jobs * 8)))
    # Forked workers inherit the configuration (and the tree's macro table,
    # see _warm); spawned ones load it.
    with ProcessPoolExecutor(jobs, initializer=_loaded, initargs=(rules,)) as ex:
        yield lambda fn, *its: ex.map(fn, *its, chunksize=chunk)


def _lazily(files: list[tuple[Path, str]], rels: Mapping[tuple[Path, str], str | None],
            cache: TreeCache, rules: Path | None, jobs: int,
            over: Mapping[Path, bytes]) -> list[FileResult]:
    """Some files of the tree, with the summaries they need of the others.
    ``over``: files linted with other contents, for which nothing is kept."""
    from xenpatch.lint import lazy

    if len(files) == 1:
        # One file (the hook's case) in this process: workers forked for it
        # each derive again the macro kinds and header indexes this process
        # needs too, and the pool costs more CPU than the overlap saves in
        # wall time on a machine with other work (bench/lint.py, measured
        # both ways on Xen 4.17's grant_table.c).  A second CPU still helps
        # through children forked where they inherit what they need
        # (Plan.prefetch(), _halved()).
        jobs = 1
    loaded: list[LintConfig] = []

    def config() -> LintConfig:
        if not loaded:
            _init(rules)
            assert _CONFIG is not None
            loaded.append(_CONFIG)
        return loaded[0]

    plan = lazy.Plan(cache, config)
    # Each file's text, read once here: its needed names, both its passes
    # and what is kept of them are of the same text (None: unreadable, the
    # first pass says so).
    texts = {item: over[item[0]] if item[0] in over else _read(item[0]) for item in files}
    # Where what is kept about a file goes (None: nowhere).
    kept = {item: (rels[item] if item[0] not in over else None) for item in files}
    asked = {r for r in rels.values() if r is not None}
    mine = [kept[item] for item in files]
    every_file = sorted(files, key=lambda f: -_size(f[0]))
    with ExitStack() as stack:
        early: list[Future[FileResult]] | None = None
        pool: ProcessPoolExecutor | None = None
        if jobs > 1 and any(r is None or cache.file_exports(r) is None for r in mine):
            # Files not linted yet in this context (a first run): their first
            # passes need nothing of the other files, and start now in the
            # workers while this process works out which of the others'
            # summaries they need (the name index, the text scans).
            from concurrent.futures import ProcessPoolExecutor

            # The checker, imported once here: the text scans below need it
            # too, and forked workers inherit it instead of importing it each.
            from xenpatch.lint import filelint  # noqa: F401

            config()
            pool = stack.enter_context(
                ProcessPoolExecutor(jobs, initializer=_loaded, initargs=(rules,)))
            early = [pool.submit(_one, item, texts[item]) for item in every_file]
        if len(files) == 1 and early is None:
            # The name index of a tree not indexed yet (a first run) is
            # scanned in a child while this process finds the names needed
            # and parses the file (its lints here find the parse kept).
            from xenpatch.lint import reuse

            stack.enter_context(reuse.keeping())
            stack.callback(plan.close)
            plan.prefetch(_PREFETCH_LEAST)
        needs = {item: plan.needed(kept[item], item[0], texts[item]) for item in files}
        if plan.prefetching() and texts[files[0]] is not None:
            from xenpatch.lint.filelint import preparse

            preparse(files[0][0], files[0][1], texts[files[0]], config())  # type: ignore[arg-type]
        every = frozenset().union(*needs.values())
        # The other files' summaries of those names: computed where missing
        # (with workers started, each file's as soon as it is known).
        later: dict[str, Future[tuple[bool, dict[str, Summary], str | None]]] = {}
        on_pool = pool

        def start(rel: str, names: frozenset[str]) -> None:
            assert on_pool is not None
            later[rel] = on_pool.submit(_summaries, cache.root / rel, names)

        todo = plan.wanted(every, asked, None if on_pool is None else start)
        # Each file's kept result stands if its content, the context and the
        # summaries it is given are as when it was kept (its own first pass
        # gave the asked files' summaries then).
        done: dict[tuple[Path, str], FileResult] = {}
        # One file linted here is linted once, with the others' summaries
        # (see _alone): its result is kept under theirs only, its own
        # being a function of its content.
        alone = len(files) == 1 and early is None
        if early is None and not todo and (alone and mine[0] is not None or all(
                r is not None and cache.file_exports(r) is not None for r in mine)):
            exports = _exports(plan, every, asked, [] if alone else [
                cache.file_exports(r).known for r in sorted(asked)])  # type: ignore[union-attr]
            for item in files:
                rel = kept[item]
                assert rel is not None
                got = cache.result(rel, lazy.exports_key(exports, needs[item]))
                r = lazy.result_in(got, item[1]) if got is not None else None
                if r is not None and not _callers_fresh(cache, rel, texts[item]):
                    r = None  # its callers' IRQ facts may have changed
                if r is not None and got is not None and "rounds" in got:
                    from xenpatch.lint import lazyrounds

                    if not lazyrounds.fresh(got, cache.hashes):
                        r = None  # what its later round read has changed
                if r is not None:
                    done[item] = r
        rest = [item for item in files if item not in done]
        if not rest:
            return [done[item] for item in files]
        work = sorted(rest, key=lambda f: -_size(f[0]))
        raws = [texts[item] for item in work]
        jobs_todo = sorted(todo.items())

        def finish(summaries: list[tuple[bool, dict[str, Summary], str | None]],
                   first: list[FileResult], mapper: Callable[..., Iterable[Any]],
                   ) -> tuple[list[FileResult], dict[str, Summary]]:
            for (rel, names), (complete, ex, digest) in zip(jobs_todo, summaries, strict=True):
                plan.record(rel, names, ex, complete, digest)
            lazy.own_exports(((kept[item] if _as_hashed(cache, kept[item], r) else None, r)
                              for item, r in zip(work, first, strict=True)), cache)
            linted = {rels[item]: r.exports for item, r in zip(work, first, strict=True)}
            own = [linted[r] if r in linted else
                   (cache.file_exports(r) or lazy.FileExports()).known for r in sorted(asked)]
            own += [r.exports for item, r in zip(work, first, strict=True) if rels[item] is None]
            exports = _exports(plan, every, asked, own)
            second = _second(work, first, exports, mapper, raws=raws)
            return [_with_callers(item, raw, cache, r.exports, exports, b) for item, raw, r, b
                    in zip(work, raws, first, second, strict=True)], exports

        third: lazyrounds_t.Later | None = None
        if alone:
            with _mapper(jobs, len(jobs_todo), rules, bool(loaded)) as mapper:
                results, exports, third = _alone(work[0], raws[0], plan, jobs_todo, every,
                                                 asked, kept[work[0]], mapper)
        elif on_pool is not None and early is not None:
            assert work == every_file and later.keys() == todo.keys()
            results, exports = finish(
                [later[r].result() for r, _ in jobs_todo], [f.result() for f in early],
                lambda fn, *its: on_pool.map(fn, *its))
        else:
            # The other files' summaries and the files' first passes, in one
            # map: with workers, they run side by side (biggest first).
            tasks: list[tuple[Any, ...]] = [("summaries", cache.root / r, n)
                                            for r, n in jobs_todo]
            tasks += [("lint", item, raw) for item, raw in zip(work, raws, strict=True)]
            order = sorted(range(len(tasks)), key=lambda i: -_size(_task_path(tasks[i])))
            with _mapper(jobs, len(tasks), rules, bool(loaded)) as mapper:
                out = dict(zip(order, mapper(_task, [tasks[i] for i in order]), strict=True))
                results, exports = finish(
                    [out[i] for i in range(len(jobs_todo))],
                    [out[len(jobs_todo) + i] for i in range(len(work))], mapper)
    for item, r in zip(work, results, strict=True):
        rel = kept[item]
        if rel is not None and r.error is None and _as_hashed(cache, rel, r):
            kept_r = lazy.result_out(r)
            if third is not None and third.read:
                from xenpatch.lint import lazyrounds

                # The files the later round read: the result stands while
                # they are as they were (its key is of the first round's).
                kept_r["rounds"] = lazyrounds.record_out(third)
            cache.set_result(rel, lazy.exports_key(exports, needs[item]), kept_r)
        done[item] = r
    return [done[item] for item in files]


def _alone(item: tuple[Path, str], raw: bytes | None, plan: lazy_t.Plan,
           jobs_todo: list[tuple[str, frozenset[str]]], every: frozenset[str],
           asked: set[str], rel: str | None, mapper: Callable[..., Iterable[Any]],
           ) -> tuple[list[FileResult], dict[str, Summary], lazyrounds_t.Later | None]:
    """One file of the tree, with the summaries it needs of the others
    (``jobs_todo``: those still to compute): (its result, the others'
    summaries it was given).

    A whole-tree run lints a file twice, the second time only if it calls
    another file's helper (_again); its own summaries come from the
    first.  Here nothing needs those (the other files' summaries are
    computed without them, and the file's own definitions are its own in
    any lint of it), so when the second pass surely runs the file is
    linted once, as that pass lints it (once.py).  Otherwise both passes run
    as in the whole-tree run."""
    from xenpatch.lint import lazy

    got = _halved(plan.cache.root, jobs_todo) if mapper is map else list(
        mapper(_summaries, [plan.cache.root / r for r, _ in jobs_todo],
               [n for _, n in jobs_todo]))
    for (r, names), (complete, ex, digest) in zip(jobs_todo, got, strict=True):
        plan.record(r, names, ex, complete, digest)
    others = _exports(plan, every, asked, [])
    from xenpatch.lint.once import once

    assert _CONFIG is not None
    one = once(item, raw, others, _CONFIG, _one) if raw is not None and others else None
    if one is not None:
        own = one.exports
        # Its own summaries would be of a second round: none are given.
        one.exports = {}
        aside = _facts_aside(item, raw, plan.cache, own)
        with _ended_on_error(aside):
            linted, given, later = _later(item, raw, plan, one.held_calls, others, own, one)
        return [_with_callers(item, raw, plan.cache, own, given, linted, aside)], others, later
    first = _one(item, raw)
    if _as_hashed(plan.cache, rel, first):
        lazy.own_exports([(rel, first)], plan.cache)
    full = _exports(plan, every, asked, [first.exports])
    [linted] = _second([item], [first], full, mapper, raws=[raw])
    aside = _facts_aside(item, raw, plan.cache, first.exports)
    with _ended_on_error(aside):
        linted, given, later = _later(item, raw, plan, first.held_calls, full, first.exports,
                                      linted)
    return [_with_callers(item, raw, plan.cache, first.exports, given, linted, aside)], \
        others, later


def _later(item: tuple[Path, str], raw: bytes | None, plan: lazy_t.Plan, held: frozenset[str],
           given: dict[str, Summary], own: dict[str, Summary], result: FileResult,
           ) -> tuple[FileResult, dict[str, Summary], lazyrounds_t.Later | None]:
    """The file's result after the lazy plan's later round (lazyrounds.py,
    as a whole-tree run's third): (result, the summaries it was linted
    with, what the round read; None: it did not run)."""
    if raw is None or result.error is not None:
        return result, given, None
    from xenpatch.lint import lazyrounds

    assert _CONFIG is not None
    later = lazyrounds.later_round(item, raw, held, given, own, plan, _CONFIG, _again,
                                   _summaries, _summaries_with)
    if later.result is None:
        return result, given, later
    got = later.result
    got.exports, got.held_calls = result.exports, result.held_calls
    return got, {**given, **later.changed}, later


def _callers_fresh(cache: TreeCache, rel: str, raw: bytes | None) -> bool:
    from xenpatch.lint import upcallers

    return raw is not None and upcallers.fresh(cache, rel, raw)


def _caller_facts(item: tuple[Path, str], raw: bytes, cache: TreeCache,
                  own: Mapping[str, Summary]) -> dict[str, Summary]:
    from xenpatch.lint import upcallers

    assert _CONFIG is not None
    return upcallers.caller_facts(cache, item[0], item[1], raw, own, _CONFIG,
                                  lambda p, shown, text: _one((p, shown), text), _display)


def _facts_aside(item: tuple[Path, str], raw: bytes | None, cache: TreeCache,
                 own: Mapping[str, Summary]) -> forked_t.Child[dict[str, Summary]] | None:
    """_caller_facts() in a child forked now, where a second CPU is there
    and the file asks its callers anything: the IRQ facts depend on the
    file's own exports only, not on the later round (lazyrounds.py), which
    this process runs meanwhile.  What the child keeps (upcallers.py's
    record of the tree) it writes itself; the parent keeps nothing of it."""
    from xenpatch.lint import forked, upcallers

    if raw is None or not forked.can_fork():
        return None
    entry, ctx, fields = upcallers.wanted(own)
    if not entry and not ctx and not fields and not upcallers.stored_fields(raw):
        return None  # answered at once: not worth a fork
    return forked.Child(lambda: _caller_facts(item, raw, cache, own))


@contextmanager
def _ended_on_error(child: forked_t.Child[Any] | None) -> Iterator[None]:
    """A child whose answer will not be asked for, the work beside it
    having failed, is ended and reaped."""
    try:
        yield
    except BaseException:
        if child is not None:
            child.cancel()
        raise


def _with_callers(item: tuple[Path, str], raw: bytes | None, cache: TreeCache,
                  own: Mapping[str, Summary], given: Mapping[str, Summary],
                  result: FileResult,
                  aside: forked_t.Child[dict[str, Summary]] | None = None) -> FileResult:
    """The file linted again with the IRQ facts its callers in other files
    give (upcallers.py: what a whole-tree run settles), if any; ``own``:
    its first pass's exports, ``given``: the summaries ``result`` was
    linted with; ``aside``: a child computing the facts (_facts_aside()),
    whose answer is taken if it gives one whole."""
    if raw is None or result.error is not None:
        if aside is not None:
            aside.cancel()
        return result
    assert _CONFIG is not None
    facts = aside.result() if aside is not None else None
    if facts is None:
        facts = _caller_facts(item, raw, cache, own)
    if not facts:
        return result
    from xenpatch.lint.filelint import lint_file

    again = lint_file(item[0], item[1], _CONFIG, {**given, **facts}, raw=raw,
                      findings_only=True)
    again.exports, again.held_calls = result.exports, result.held_calls
    return again


# Files of the tree not in the name index yet for which the scan is worth
# a child of its own (a first run has them all; a few changed ones are
# scanned here in less time than a fork costs).
_PREFETCH_LEAST = 64


def _halved(root: Path, jobs_todo: list[tuple[str, frozenset[str]]],
            ) -> list[tuple[bool, dict[str, Summary], str | None]]:
    """_summaries() of each, shared with a child forked here where a second
    CPU is there (forked.shared_map()): a pool's workers would each import
    and derive again what this process has (the header indexes found by
    the plan's text scans), a child forked now inherits it.  The biggest
    files are at both ends, where each side starts, the smallest where
    they meet.  What the child does not answer whole this process does:
    the result is the same either way."""
    from xenpatch.lint import forked

    by_size = sorted(range(len(jobs_todo)), key=lambda i: (-_size(root / jobs_todo[i][0]), i))
    ends = by_size[0::2] + by_size[1::2][::-1]
    got = forked.shared_map(lambda k: _summaries(root / jobs_todo[ends[k]][0],
                                                 jobs_todo[ends[k]][1]), len(ends))
    out = dict(zip(ends, got, strict=True))
    return [out[i] for i in range(len(jobs_todo))]


def _exports(plan, every: frozenset[str], asked: set[str],
             own: Iterable[Mapping[str, Summary]]) -> dict[str, Summary]:
    """The tree's summaries of the names: the asked files' own and the
    others' (a name they disagree on is left out, as in a whole-tree run)."""
    mine = [{n: s for n, s in ex.items() if n in every} for ex in own]
    return tree_exports([*mine, *plan.exports_for(every, asked)])


def _task(t: tuple[Any, ...]) -> Any:
    """One task of the lazy run's first map (see _lazily)."""
    return _summaries(t[1], t[2]) if t[0] == "summaries" else _one(t[1], t[2])


def _task_path(t: tuple[Any, ...]) -> Path:
    return t[1] if t[0] == "summaries" else t[1][0]


def _summaries(path: Path, names: frozenset[str],
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


def _summaries_with(path: Path, raw: bytes, names: frozenset[str],
                    external: Mapping[str, Summary]) -> dict[str, Summary]:
    """A file's summaries of ``names`` as its lint with the other files'
    summaries ``external`` exports them (a second round's)."""
    from xenpatch.lint.partial import exports_of

    assert _CONFIG is not None
    return exports_of(path, raw, _CONFIG, names, external)


def _two_passes(work: list[tuple[Path, str]], mapper, progress: Progress | None = None,
                raws: list[bytes | None] | None = None, index: list[bool] | None = None,
                ) -> tuple[list[FileResult], list[tuple[str, list[str] | None] | None]]:
    """Both passes; and for the files read from disk, the content hash of
    the text linted and, for those ``index`` marks, its external names
    (nameindex.external_names())."""
    raws = raws or [None] * len(work)
    index = index or [False] * len(work)
    pairs = list(_counted_pairs(mapper(_first, work, raws, index), len(work), progress))
    first = [r for r, _ in pairs]
    exports = tree_exports(r.exports for r in first)
    # The external functions the first passes read (where they were read
    # from disk): the tree's walk for one definition need not read those.
    defined = {irqcalls.absolute(w[0]): frozenset(p[1]) for w, (_, p)
               in zip(work, pairs, strict=True) if p is not None and p[1] is not None}
    exports.update(irqcalls.settle([(w[0], r.path, r.exports)
                                    for w, r in zip(work, first, strict=True)], defined))
    # XL017 across files: the takes of each lock over the tree.
    exports.update(irqwitness.merge([(w[0], r.path, r.exports)
                                     for w, r in zip(work, first, strict=True)]))
    later: list[dict[str, Summary] | None] = []
    read = [n for _, n in pairs]
    named = [n[1] if n is not None else None for n in read]
    results = _second(work, first, exports, mapper, progress, raws, later)
    # A third round, bounded: put_page() (mm.c) takes the heap lock only
    # through page_alloc.c's free_domheap_pages(), which page_alloc.c's
    # own callers then meet.
    results = rounds.third(work, first, results, later, exports, mapper, _again, progress, raws,
                           named)
    return results, read


def _counted_pairs(pairs: Iterable[tuple[FileResult, Any]], total: int,
                   progress: Progress | None) -> Iterator[tuple[FileResult, Any]]:
    if progress is None:
        yield from pairs
        return
    progress("files", 0, total)
    for i, p in enumerate(pairs, 1):
        progress("files", i, total)
        yield p


def _first(item: tuple[Path, str], raw: bytes | None,
           index: bool) -> tuple[FileResult, tuple[str, list[str] | None] | None]:
    """The first pass of a file; for a file read here, also the content
    hash of what was read and, with ``index``, its name index entry (its
    external names), from the same read."""
    if raw is not None:
        return _one(item, raw), None
    from xenpatch.lint.treecache import content_hash

    try:
        text = item[0].read_bytes()
    except OSError:
        return _one(item), None
    if not index:
        return _one(item, text), (content_hash(text), None)
    from xenpatch.lint import nameindex

    return _one(item, text), (content_hash(text), nameindex.external_names(text))


def _second(work: list[tuple[Path, str]], first: list[FileResult],
            exports: dict[str, Summary], mapper, progress: Progress | None = None,
            raws: list[bytes | None] | None = None,
            later: list[dict[str, Summary] | None] | None = None) -> list[FileResult]:
    """``later``: filled with each file's summaries of this pass (None
    where the first pass stands), for a later round."""
    if not exports:
        return first
    own = [frozenset(r.exports) for r in first]
    with to_workers(TreeExports.of(exports), mapper) as sent:
        second = list(_counted(
            mapper(_again, work, own, [sent] * len(work), raws or [None] * len(work),
                   [r.held_calls for r in first]),
            "files, second pass (other files' helpers)", len(work), progress))
    # Summaries are of one round: a file's come from its first pass, never
    # from another file's (the lazy plan computes them so); a callee's takes
    # now reach the second pass of nearly every file, and the summaries it
    # would give are of a second round.
    # Where a file calls holding a lock is of its first pass too.
    out = []
    for a, b in zip(first, second, strict=True):
        if later is not None:
            later.append(None if b is None else b.exports)
        if b is not None:
            b.exports, b.held_calls = a.exports, a.held_calls
        out.append(b if b is not None else a)
    return out
