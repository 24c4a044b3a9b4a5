"""Linting files in parallel with a stable order (which files: inputs.py).

One file (the pre-commit case, with the tree's summaries cached) is linted
in this process: starting a pool would cost more than the work.  Otherwise
a process pool of ``jobs`` workers each loads the configuration once.
The tasks: workers.py; the maps of the passes: passmaps.py; some files of
a tree with what they need of the others: lazyrun.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from xenpatch.analysis.locktable import Summary
from xenpatch.lint import irqcalls, irqhops, lazyrun, passmaps, rounds, workers
from xenpatch.lint.findings import FileResult
from xenpatch.lint.inputs import real_paths as _real_paths
from xenpatch.lint.inputs import size as _size
from xenpatch.lint.inputs import tree_cache as _tree_cache
from xenpatch.lint.nameindex import external_names
from xenpatch.lint.passmaps import Progress
from xenpatch.lint.treeexports import (
    arch_overlays,
    architecture,
    architecture_silence,
    tree_exports,
)
from xenpatch.lint.treescan import TreeScan

__all__ = ["Progress", "default_jobs", "lint_files"]


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


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
            results = lazyrun.lazily(files, rels, cache, rules, jobs, over)
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
    workers.init(rules)
    _warm(real.values())
    from xenpatch.lint.filelint import warm_headers
    from xenpatch.lint.passes import pass_mapper

    warm_headers((item[0] for item in work), workers.config())

    with pass_mapper(jobs, len(work), workers.loaded, rules) as mapper:
        results, read = _two_passes(work, mapper, progress, raws, index, beside=jobs > 1)
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
        as_hashed = [rels[item] if item[0] not in over and passmaps.as_hashed(cache, rels[item], r)
                     else None for item, r in zip(work, results, strict=True)]
        own_exports(zip(as_hashed, results, strict=True), cache)
        # The name index too, for the runs on a few files that follow.
        Plan(cache, lambda: workers.loaded(rules)).definers()
        cache.save()
    results.sort(key=lambda r: r.path)
    return results


def _warm(real: Iterable[Path]) -> None:
    """The macro tables of the files' trees, derived whole here (and kept
    on disk, masking/tree.py) before the workers fork: each would
    otherwise derive what it needs on its own."""
    from xenpatch.c.masking import find_xen_dir, tree_table

    for d in {p.parent for p in real}:
        xen = find_xen_dir(d)
        if xen is not None:
            tree_table(workers.config().macros, xen)


def _two_passes(work: list[tuple[Path, str]], mapper, progress: Progress | None = None,
                raws: list[bytes | None] | None = None, index: list[bool] | None = None,
                beside: bool = False,
                ) -> tuple[list[FileResult], list[tuple[str, list[str] | None] | None]]:
    """Both passes; and for the files read from disk, the content hash of
    the text linted and, for those ``index`` marks, its external names
    (nameindex.external_names()).  ``beside``: the run may use a second
    CPU in this process's serial work (_settled())."""
    raws = raws or [None] * len(work)
    index = index or [False] * len(work)
    pairs = list(_counted_pairs(mapper(workers.first, work, raws, index), len(work), progress))
    first = [r for r, _ in pairs]
    # The external functions the first passes read (where they were read
    # from disk): the tree's walk for one definition need not read those.
    defined = {irqcalls.absolute(w[0]): frozenset(p[1]) for w, (_, p)
               in zip(work, pairs, strict=True) if p is not None and p[1] is not None}
    exports = tree_exports([*(r.exports for r in first),
                            *_silences(defined, work, first, raws)])
    per_file = [(w[0], r.path, r.exports) for w, r in zip(work, first, strict=True)]
    exports.update(_settled(per_file, defined, beside))
    overlays = arch_overlays([(str(irqcalls.absolute(w[0])), r.exports)
                              for w, r in zip(work, first, strict=True)], exports)
    later: list[dict[str, Summary] | None] = []
    read = [n for _, n in pairs]
    named = [n[1] if n is not None else None for n in read]
    results = passmaps.second(work, first, exports, mapper, progress, raws, later, overlays,
                              rounds.asked_later(first, named))
    # The later rounds, until no summary changes: put_page() (mm.c) takes
    # the heap lock only through page_alloc.c's free_domheap_pages(), which
    # page_alloc.c's own callers then meet, and their callers a round later.
    results = rounds.later_rounds(work, first, results, later, exports, mapper, workers.again,
                                  progress, raws, named, overlays)
    return results, read


def _settled(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]],
             defined: dict[Path, frozenset[str]], beside: bool) -> dict[str, Summary]:
    """The tree-level facts of the first passes: the IRQ states and the
    locks callers hold (irqcalls.settle()), then XL017's takes of each lock
    across the tree (irqhops.merged()).  Each reads the first passes and
    the tree's text alone, so with ``beside`` and a CPU free the merge runs
    in a forked child while this process settles (the pool's workers wait
    for the second pass meanwhile: this is the run's longest serial
    stretch, ~3.4 s of a 13 s run on Xen 4.17); a child that gives nothing
    whole leaves the merge to this process.  The same facts either way, in
    the same order."""
    from xenpatch.lint import forked

    # The tree's text, read once for every settle below (treescan.py).
    scan = TreeScan.of_run(per_file)
    child = forked.Child(lambda: irqhops.merged(per_file, defined, scan)) \
        if beside and forked.can_fork() else None
    try:
        out = irqcalls.settle(per_file, defined, workers.config(), scan)
        hops = child.result() if child is not None else None
    finally:
        if child is not None:
            child.cancel()  # a no-op once its result was read
            forked.thaw()
    out.update(hops if hops is not None else irqhops.merged(per_file, defined, scan))
    return out


def _silences(defined: dict[Path, frozenset[str]], work: list[tuple[Path, str]],
              first: list[FileResult], raws: list[bytes | None]) -> list[dict[str, Summary]]:
    """treeexports.architecture_silence() of the names two architectures'
    files define (the first passes' name index, else each file's text)."""
    given = {n for r in first for n in r.exports}
    by_name: dict[str, list[str]] = {}
    for (path, _), raw in zip(work, raws, strict=True):
        f = irqcalls.absolute(path)
        names = defined.get(f)
        if names is None:
            if architecture(str(f)) is None:
                continue  # common code: no one build's alone
            names = frozenset(external_names(rounds.file_text(path, raw)))
        for n in names & given:
            by_name.setdefault(n, []).append(str(f))
    multi = {n: fs for n, fs in by_name.items()
             if len({architecture(f) for f in fs} - {None}) >= 2}
    if not multi:
        return []
    exported: dict[str, list[str]] = {}
    for w, r in zip(work, first, strict=True):
        for n in multi.keys() & r.exports.keys():
            exported.setdefault(n, []).append(str(irqcalls.absolute(w[0])))
    return architecture_silence(multi, exported)


def _counted_pairs(pairs: Iterable[tuple[FileResult, Any]], total: int,
                   progress: Progress | None) -> Iterator[tuple[FileResult, Any]]:
    if progress is None:
        yield from pairs
        return
    progress("files", 0, total)
    for i, p in enumerate(pairs, 1):
        progress("files", i, total)
        yield p

